"""A client's copy of her own data (Art. 15 GDPR): the service, the ZIP's content, expiry,
and the pages for the client and for staff, including who is refused."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory, TeamLeadFactory
from sprechstunde.agreements.factories import (
    decision_in_postbox_for,
    plan_issued_for,
    portal_client,
)
from sprechstunde.appointments.factories import AppointmentFactory
from sprechstunde.audit.models import AuditEntry
from sprechstunde.audit.services import audit_record
from sprechstunde.documents import storage_crypto
from sprechstunde.documents.models import Document
from sprechstunde.subject_access import services
from sprechstunde.subject_access.choices import ExportChannel, ExportStatus
from sprechstunde.subject_access.models import DataExport

pytestmark = pytest.mark.django_db


@pytest.fixture
def export_storage(settings, tmp_path):
    """This test's own documents storage (the copies live there, encrypted, like documents)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    return tmp_path / "documents"


def stored_document(client, *, data: bytes, title: str, status="ready", scan="clean"):
    """A document whose original is stored encrypted, as the upload pipeline leaves it."""
    key = storage_crypto.new_data_key()
    wrapped, key_id = storage_crypto.wrap_key(key)
    name = storage_crypto.blob_write(data, data_key=key, kind="originals")
    return Document.objects.create(
        client=client,
        uploaded_by_side="client",
        title=title,
        original_name=f"{title}.pdf",
        content_type="application/pdf",
        original_content_type="application/pdf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        status=status,
        scan_status=scan,
        original_storage_name=name,
        wrapped_key=wrapped,
        key_id=key_id,
    )


@pytest.fixture
def kim(case_manager):
    client = portal_client(case_manager=case_manager, email="kim@example.org")
    client.user.preferred_language = "de"
    client.user.save()
    client.preferred_language = "de"
    client.save()
    return client


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """Run what a change queues after commit (the build job), as the worker would."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def made(run_jobs, actor, client) -> DataExport:
    """A copy asked for by `actor` and built by the (immediate) task backend."""
    export = run_jobs(services.data_export_request, actor=actor, client=client)
    export.refresh_from_db()
    return export


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def test_the_copy_holds_every_record_file_and_access(kim, case_manager, export_storage, run_jobs):
    payslip = stored_document(kim, data=b"%PDF-1.4 Lohnabrechnung Maerz", title="Lohnabrechnung")
    letter = stored_document(kim, data=b"%PDF-1.4 Mietvertrag", title="Mietvertrag")
    virus = stored_document(
        kim, data=b"X5O!P%@AP", title="Befallen", status="quarantined", scan="infected"
    )
    appointment = AppointmentFactory(client=kim, case_manager=case_manager)
    plan = plan_issued_for(kim)
    decision = decision_in_postbox_for(kim)
    audit_record(actor=case_manager, action="client.view", target=kim)

    export = made(run_jobs, kim.user, kim)
    export.refresh_from_db()

    assert export.status == ExportStatus.READY
    assert export.channel == ExportChannel.PORTAL
    assert export.progress == 100
    assert export.expires_at == export.ready_at + datetime.timedelta(days=7)
    # Encrypted at rest: the stored blob is not the ZIP.
    raw = (export_storage / export.storage_name).read_bytes()
    assert not raw.startswith(b"PK")
    data = services.data_export_read(actor=kim.user, export=export)
    assert hashlib.sha256(data).hexdigest() == export.sha256

    archive = _zip(data)
    content = json.loads(archive.read("data.json"))
    assert content["profile"][0]["last_name"] == "Kunde"
    assert {row["purpose"] for row in content["consents"]} == {"portal", "electronic_delivery"}
    assert [row["id"] for row in content["appointments"]] == [appointment.pk]
    assert [row["id"] for row in content["plans"]] == [plan.pk]
    assert [row["id"] for row in content["decisions"]] == [decision.pk]
    assert {row["id"] for row in content["documents"]} == {payslip.pk, letter.pk, virus.pk}
    # Every document that passed the check is in the ZIP, byte for byte as received.
    for document in (payslip, letter):
        row = next(r for r in content["documents"] if r["id"] == document.pk)
        assert hashlib.sha256(archive.read(row["file"])).hexdigest() == document.sha256
        listed = next(f for f in content["files"] if f["path"] == row["file"])
        assert listed["sha256"] == document.sha256
    # The quarantined file is listed, never handed out again.
    assert next(r for r in content["documents"] if r["id"] == virus.pk)["file"] is None
    assert not any("Befallen" in name for name in archive.namelist())
    decision_row = next(r for r in content["decisions"] if r["id"] == decision.pk)
    assert archive.read(decision_row["file"]) == bytes(decision.pdf)
    # No secrets: storage names, wrapped keys and hashes of tokens stay out.
    text = archive.read("data.json").decode()
    for secret in ("storage_name", "wrapped_key", "token_hash", payslip.original_storage_name):
        assert secret not in text
    # The access log: the case manager by role and team, not by name or e-mail.
    views = [e for e in content["access_log"] if e["action"] == "client.view"]
    assert views and views[0]["who"] == "Fallmanager/in, Team Nord"
    assert case_manager.email not in text
    assert case_manager.last_name not in json.dumps(content["access_log"])
    created = next(e for e in content["access_log"] if e["action"] == "data_export.create")
    assert created["who"] == "Sie"
    assert created["action_label"] == "Kopie der eigenen Daten: angelegt"

    # The index page: her language, offline (no outside resources), lists every file.
    index = archive.read("index.html").decode()
    assert '<html lang="de">' in index
    assert "http://" not in index and "https://" not in index and "src=" not in index
    for listed in content["files"]:
        assert f'href="{listed["path"]}"' in index
    assert "Wer Ihre Daten gelesen oder geändert hat" in index


def test_staff_names_appear_only_when_configured(
    kim, case_manager, export_storage, settings, run_jobs
):
    settings.DATA_EXPORT_STAFF_NAMES = True
    audit_record(actor=case_manager, action="client.view", target=kim)
    export = made(run_jobs, case_manager, kim)
    export.refresh_from_db()
    content = json.loads(
        _zip(services.data_export_read(actor=case_manager, export=export)).read("data.json")
    )
    who = next(e["who"] for e in content["access_log"] if e["action"] == "client.view")
    assert who.startswith(case_manager.get_full_name())
    assert export.channel == ExportChannel.STAFF


def test_making_and_downloading_are_audited(kim, export_storage, run_jobs):
    export = made(run_jobs, kim.user, kim)
    services.data_export_read(actor=kim.user, export=export)
    actions = list(
        AuditEntry.objects.filter(target_id=str(export.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["data_export.create", "data_export.ready", "data_export.download"]
    assert set(
        AuditEntry.objects.filter(target_id=str(export.pk)).values_list("client_id", flat=True)
    ) == {kim.pk}


def test_a_second_request_while_one_is_made_returns_that_one(
    kim, export_storage, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        first = services.data_export_request(actor=kim.user, client=kim)
        second = services.data_export_request(actor=kim.user, client=kim)
    assert first.pk == second.pk
    assert DataExport.objects.count() == 1


def test_the_link_expires_and_the_file_is_deleted(kim, export_storage, run_jobs):
    export = made(run_jobs, kim.user, kim)
    export.refresh_from_db()
    blob = export_storage / export.storage_name
    assert blob.exists()

    assert services.data_exports_expire(now=export.expires_at - datetime.timedelta(minutes=1)) == 0
    assert run_jobs(services.data_exports_expire, now=export.expires_at) == 1

    export.refresh_from_db()
    assert export.status == ExportStatus.EXPIRED
    assert not blob.exists()
    assert export.storage_name == "" and export.wrapped_key is None
    assert AuditEntry.objects.filter(action="data_export.expire", target_id=str(export.pk)).exists()
    with pytest.raises(services.ApplicationError):
        services.data_export_read(actor=kim.user, export=export)


def test_a_download_after_expiry_is_refused_before_the_sweep_ran(
    kim, export_storage, client, run_jobs
):
    export = made(run_jobs, kim.user, kim)
    DataExport.objects.filter(pk=export.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    client.force_login(kim.user)
    response = client.get(reverse("subject_access:download", args=[export.pk]))
    assert response.status_code == 410
    assert b'id="export-error"' in response.content
    assert b"export-download" not in response.content


def test_the_command_expires_due_copies(kim, export_storage, run_jobs):
    export = made(run_jobs, kim.user, kim)
    DataExport.objects.filter(pk=export.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=1)
    )
    out = io.StringIO()
    call_command("data_exports_expire", stdout=out)
    assert "1 expired" in out.getvalue()
    assert DataExport.objects.get(pk=export.pk).status == ExportStatus.EXPIRED


def test_the_valid_days_are_configurable(kim, export_storage, settings, run_jobs):
    settings.DATA_EXPORT_VALID_DAYS = 2
    export = made(run_jobs, kim.user, kim)
    export.refresh_from_db()
    assert export.expires_at - export.ready_at == datetime.timedelta(days=2)


# --- pages --------------------------------------------------------------------------------


def test_client_requests_follows_and_downloads(kim, export_storage, client, run_jobs):
    client.force_login(kim.user)
    page = client.get(reverse("subject_access:portal"))
    assert page.status_code == 200
    assert b'id="export-request"' in page.content

    response = run_jobs(client.post, reverse("subject_access:portal"))
    export = DataExport.objects.get(client=kim)
    assert response.status_code == 302
    assert response["Location"] == reverse("subject_access:detail", args=[export.pk])

    detail = client.get(response["Location"])
    assert b'id="export-download"' in detail.content
    state = client.get(reverse("subject_access:state", args=[export.pk])).json()
    assert state["status"] == "ready" and state["progress"] == 100

    download = client.get(reverse("subject_access:download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert "attachment" in download["Content-Disposition"]
    assert "index.html" in _zip(download.content).namelist()


def test_another_client_gets_404_for_her_copy(kim, case_manager, export_storage, client, run_jobs):
    export = made(run_jobs, kim.user, kim)
    other = portal_client(case_manager=case_manager, email="other@example.org")
    client.force_login(other.user)
    for name in ("detail", "state", "download"):
        assert client.get(reverse(f"subject_access:{name}", args=[export.pk])).status_code == 404
    assert AuditEntry.objects.filter(
        action="data_export.access_denied", actor_id=other.user.pk, client_id=kim.pk
    ).exists()


def test_another_case_manager_gets_404(kim, export_storage, client, other_case_manager, run_jobs):
    export = made(run_jobs, kim.user, kim)
    client.force_login(other_case_manager)
    assert client.get(reverse("subject_access:client", args=[kim.pk])).status_code == 404
    assert client.post(reverse("subject_access:client", args=[kim.pk])).status_code == 404
    assert client.get(reverse("subject_access:download", args=[export.pk])).status_code == 404
    assert DataExport.objects.filter(client=kim).count() == 1


def test_the_client_cannot_read_the_copy_staff_made_for_a_letter(
    kim, case_manager, export_storage, client, run_jobs
):
    export = made(run_jobs, case_manager, kim)
    client.force_login(kim.user)
    assert client.get(reverse("subject_access:detail", args=[export.pk])).status_code == 404


def test_staff_make_a_copy_for_a_request_by_post(
    kim, case_manager, team, export_storage, client, run_jobs
):
    client.force_login(case_manager)
    page = client.get(reverse("clients:detail", args=[kim.pk]))
    assert reverse("subject_access:client", args=[kim.pk]).encode() in page.content

    response = run_jobs(client.post, reverse("subject_access:client", args=[kim.pk]))
    export = DataExport.objects.get(client=kim)
    assert export.channel == ExportChannel.STAFF
    assert export.requested_by == case_manager
    assert client.get(response["Location"]).status_code == 200
    download = client.get(reverse("subject_access:download", args=[export.pk]))
    assert download.status_code == 200
    # The team lead of the same team may see the client, and so the copy.
    lead = TeamLeadFactory(team=team)
    client.force_login(lead)
    assert client.get(reverse("subject_access:client", args=[kim.pk])).status_code == 200


def test_admin_and_staff_of_other_teams_are_refused(
    kim, admin_user, export_storage, client, run_jobs
):
    export = made(run_jobs, kim.user, kim)
    for user in (admin_user, CaseManagerFactory()):
        client.force_login(user)
        assert client.get(reverse("subject_access:client", args=[kim.pk])).status_code == 404
        assert client.get(reverse("subject_access:detail", args=[export.pk])).status_code == 404


def test_the_privacy_page_links_to_my_data(kim, client):
    client.force_login(kim.user)
    page = client.get(reverse("clients:privacy"))
    assert reverse("subject_access:portal").encode() in page.content


def test_a_failed_build_says_so_and_keeps_nothing(kim, export_storage, monkeypatch, run_jobs):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(services.storage_crypto, "blob_write", broken)
    export = made(run_jobs, kim.user, kim)
    assert export.status == ExportStatus.FAILED
    assert export.storage_name == ""
    assert AuditEntry.objects.filter(action="data_export.failed", target_id=str(export.pk)).exists()
