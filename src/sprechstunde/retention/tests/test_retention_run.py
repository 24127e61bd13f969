"""The retention run with the clock moved: every kind goes when (and only when) its period
is over, with its blobs, leaving a pseudonymous record; holds and restrictions stop it."""

from __future__ import annotations

import io
import os
import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from sprechstunde.agreements.models import CooperationPlan, Decision, DeliveryEvent
from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.models import Client, Consent
from sprechstunde.core.models import OutboxMessage
from sprechstunde.documents import storage_crypto
from sprechstunde.documents.models import Document, DocumentPreview, UploadSession
from sprechstunde.messaging.models import Message
from sprechstunde.retention import services
from sprechstunde.retention.choices import RecordKind
from sprechstunde.retention.models import DeletionRecord
from sprechstunde.retention.rules import RULES
from sprechstunde.video_calls.models import Call, Participant, Presence

from .conftest import blob_exists, days_later

pytestmark = pytest.mark.django_db

SETTINGS = sorted(
    {rule.setting for rule in RULES}
    | {source.setting for rule in RULES for source in rule.sources if source.setting}
)
NEVER = 100_000


@pytest.fixture
def only(settings):
    """Give every kind a period that never ends, except the one under test."""

    def keep_all_but(setting: str, days: int) -> None:
        for name in SETTINGS:
            setattr(settings, name, NEVER)
        setattr(settings, setting, days)

    return keep_all_but


def counts(now) -> dict[str, int]:
    return {report.kind.value: report.count for report in services.retention_preview(now=now)}


# kind, setting, period, days between now and the start event, the rows that must go
CASES = [
    (
        "message",
        "RETENTION_MESSAGE_DAYS",
        730,
        0,
        lambda w: Message.objects.filter(pk=w.message.pk),
    ),
    (
        "document",
        "RETENTION_DOCUMENT_DAYS",
        180,
        0,
        lambda w: Document.objects.filter(pk=w.filed.pk),
    ),
    (
        "preview",
        "RETENTION_PREVIEW_DAYS",
        90,
        0,
        lambda w: DocumentPreview.objects.filter(document=w.filed),
    ),
    (
        "upload_leftover",
        "RETENTION_UPLOAD_LEFTOVER_DAYS",
        30,
        0,
        lambda w: Document.objects.filter(pk=w.refused.pk),
    ),
    (
        "appointment",
        "RETENTION_APPOINTMENT_DAYS",
        1095,
        8,
        lambda w: Appointment.objects.filter(pk=w.appointment.pk),
    ),
    (
        "call_record",
        "RETENTION_CALL_RECORD_DAYS",
        180,
        8,
        lambda w: Call.objects.filter(pk=w.call.pk),
    ),
    (
        "consent",
        "RETENTION_CONSENT_DAYS",
        1095,
        0,
        lambda w: Consent.objects.filter(pk=w.consent.pk),
    ),
    (
        "decision",
        "RETENTION_DECISION_DAYS",
        3650,
        0,
        lambda w: Decision.objects.filter(pk=w.decision.pk),
    ),
    (
        "delivery_log",
        "RETENTION_DELIVERY_LOG_DAYS",
        3650,
        0,
        lambda w: DeliveryEvent.objects.filter(pk=w.event.pk),
    ),
    (
        "plan",
        "RETENTION_PLAN_DAYS",
        1095,
        0,
        lambda w: CooperationPlan.objects.filter(pk=w.plan.pk),
    ),
    (
        "outbox_mail",
        "RETENTION_OUTBOX_MAIL_DAYS",
        7,
        0,
        lambda w: OutboxMessage.objects.filter(pk=w.mail.pk),
    ),
]


@pytest.mark.parametrize(
    ("kind", "setting", "days", "offset", "rows"), CASES, ids=[case[0] for case in CASES]
)
def test_each_kind_goes_only_once_its_period_is_over(
    world, only, django_capture_on_commit_callbacks, kind, setting, days, offset, rows
):
    only(setting, days)
    before = days_later(days + offset - 1)
    after = days_later(days + offset + 1)

    assert counts(before)[kind] == 0
    services.retention_run(now=before)
    assert rows(world).exists()

    assert counts(after)[kind] >= 1
    with django_capture_on_commit_callbacks(execute=True):
        reports = services.retention_run(now=after)

    assert not rows(world).exists()
    assert {r.kind.value: r.count for r in reports}[kind] >= 1
    # The client and every other kind's record stay.
    assert Client.objects.filter(pk=world.client.pk).exists()
    others = [case for case in CASES if case[0] != kind and case[1] != setting]
    for other_kind, _s, _d, _o, other_rows in others:
        if (kind, other_kind) in {
            ("decision", "delivery_log"),
            ("appointment", "call_record"),
            ("document", "preview"),
        }:
            continue  # deleted with their parent
        assert other_rows(world).exists(), other_kind
    record = DeletionRecord.objects.filter(kind=kind).order_by("pk").first()
    assert record.cause == "retention" and record.count >= 1 and setting in record.rule
    entries = AuditEntry.objects.filter(action="retention.delete", target_id__contains=f":{kind}:")
    assert entries.exists()
    for entry in entries:
        assert entry.actor_label == "system"
        assert entry.client_id is None  # pseudonymous: kind, count and rule, no client named


def test_a_document_goes_with_every_blob_and_preview(
    world, only, django_capture_on_commit_callbacks
):
    only("RETENTION_DOCUMENT_DAYS", 180)
    names = [world.filed.original_storage_name, world.filed.pdf_storage_name]
    names += list(world.filed.previews.values_list("storage_name", flat=True))
    assert all(blob_exists(name) for name in names)

    with django_capture_on_commit_callbacks(execute=True):
        services.retention_run(now=days_later(181))

    assert not Document.objects.filter(pk=world.filed.pk).exists()
    assert not any(blob_exists(name) for name in names)
    assert blob_exists(world.unfiled.pdf_storage_name)


def test_previews_go_but_the_document_stays(world, only, django_capture_on_commit_callbacks):
    only("RETENTION_PREVIEW_DAYS", 90)
    preview_names = list(world.filed.previews.values_list("storage_name", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        services.retention_run(now=days_later(91))

    assert not any(blob_exists(name) for name in preview_names)
    assert blob_exists(world.filed.pdf_storage_name)
    assert DocumentPreview.objects.filter(document=world.unfiled).exists()  # not in the e-file


def test_upload_sessions_are_leftovers_too(world, only):
    only("RETENTION_UPLOAD_LEFTOVER_DAYS", 30)
    services.retention_run(now=days_later(31))
    assert not UploadSession.objects.filter(pk=world.upload.pk).exists()


def test_a_call_goes_with_its_participants_and_presences(world, only):
    only("RETENTION_CALL_RECORD_DAYS", 180)
    services.retention_run(now=days_later(190))
    assert not Participant.objects.filter(call_id=world.call.pk).exists()
    assert not Presence.objects.exists()
    assert Appointment.objects.filter(pk=world.appointment.pk).exists()


def test_an_unfiled_document_counts_from_the_case_closing(world, only, case_manager):
    only("RETENTION_DOCUMENT_UNFILED_DAYS", 1825)
    assert counts(days_later(5000))["document"] == 0  # the case is open: never due

    services.client_case_close(actor=case_manager, client=world.client)

    assert counts(days_later(1824))["document"] == 0
    services.retention_run(now=days_later(1826))
    assert not Document.objects.filter(pk=world.unfiled.pk).exists()
    assert AuditEntry.objects.filter(action="client.case_close", client_id=world.client.pk).exists()


def test_the_client_record_goes_last_with_its_portal_account(world, case_manager):
    services.client_case_close(actor=case_manager, client=world.client)
    user_id = world.client.user_id

    services.retention_run(now=days_later(1826))
    assert Client.objects.filter(pk=world.client.pk).exists()  # decisions and plans remain

    services.retention_run(now=days_later(3700))

    assert not Client.objects.filter(pk=world.client.pk).exists()
    assert not Client._meta.apps.get_model("accounts.User").objects.filter(pk=user_id).exists()


def test_form_submissions_are_erased_after_their_period_from_the_hand_over(world):
    from sprechstunde.eforms.models import FormDefinition, FormSubmission

    definition = FormDefinition.objects.create(
        slug="sonstiges", version=1, spec={"format": 1}, spec_sha256="0" * 64
    )
    handed = FormSubmission.objects.create(
        client=world.client, definition=definition, handed_over_at=timezone.now()
    )
    FormSubmission.objects.create(client=world.client, definition=definition)

    report = next(
        r for r in services.retention_preview(now=days_later(181)) if r.kind == "form_submission"
    )
    assert report.count == 1
    assert report.rules[0].startswith("RETENTION_FORM_SUBMISSION_DAYS=180")
    early = next(
        r for r in services.retention_preview(now=days_later(179)) if r.kind == "form_submission"
    )
    assert early.count == 0

    services.retention_run(now=days_later(181), dry_run=False)
    assert list(FormSubmission.objects.values_list("pk", flat=True)) != [handed.pk]
    assert not FormSubmission.objects.filter(pk=handed.pk).exists()
    assert FormSubmission.objects.count() == 1


def test_a_dry_run_lists_every_kind_and_deletes_nothing(world, case_manager):
    services.client_case_close(actor=case_manager, client=world.client)
    far = days_later(4000)

    reports = services.retention_run(now=far, dry_run=True)

    by_kind = {r.kind.value: r for r in reports}
    assert set(by_kind) == set(RecordKind.values)
    for kind in (
        "message",
        "document",
        "preview",
        "upload_leftover",
        "appointment",
        "call_record",
        "consent",
        "decision",
        "delivery_log",
        "plan",
        "outbox_mail",
    ):
        assert by_kind[kind].count >= 1, kind
        assert by_kind[kind].oldest is not None
    assert Message.objects.filter(pk=world.message.pk).exists()
    assert Decision.objects.filter(pk=world.decision.pk).exists()
    assert not DeletionRecord.objects.exists()


def test_the_dry_run_command_prints_per_kind(world):
    out = io.StringIO()
    call_command("retention_run", "--dry-run", stdout=out)
    text = out.getvalue()
    for kind in RecordKind.values:
        assert kind in text
    assert "would delete" in text and "rule: RETENTION_MESSAGE_DAYS=730" in text
    assert Message.objects.filter(pk=world.message.pk).exists()


# --- holds and restriction ------------------------------------------------------------------


def test_a_hold_on_the_client_stops_deletion_until_lifted(world, dpo, only):
    only("RETENTION_MESSAGE_DAYS", 730)
    hold = services.legal_hold_set(actor=dpo, client=world.client, reason="Klage S 12 AS 34/26")

    assert counts(days_later(800))["message"] == 0
    services.retention_run(now=days_later(800))
    assert Message.objects.filter(pk=world.message.pk).exists()

    services.legal_hold_lift(actor=dpo, hold=hold)
    services.retention_run(now=days_later(800))
    assert not Message.objects.filter(pk=world.message.pk).exists()
    actions = list(
        AuditEntry.objects.filter(client_id=world.client.pk, action__startswith="legal_hold.")
        .order_by("sequence")
        .values_list("action", "actor_label")
    )
    assert actions == [("legal_hold.set", dpo.email), ("legal_hold.lift", dpo.email)]


def test_a_hold_on_one_matter_keeps_only_that_matter(world, dpo, only):
    only("RETENTION_DECISION_DAYS", 3650)
    other = type(world.decision).objects.create(
        client=world.client,
        template=world.decision.template,
        values={},
        status="draft",
        channel="portal",
    )
    services.legal_hold_set(
        actor=dpo,
        client=world.client,
        reason="Widerspruch",
        target_type="agreements.decision",
        target_id=str(world.decision.pk),
    )

    services.retention_run(now=days_later(3651))

    assert Decision.objects.filter(pk=world.decision.pk).exists()
    assert not Decision.objects.filter(pk=other.pk).exists()


def test_only_the_dpo_sets_holds_and_a_reason_is_required(world, case_manager, dpo):
    from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        services.legal_hold_set(actor=case_manager, client=world.client, reason="x")
    with pytest.raises(ApplicationError):
        services.legal_hold_set(actor=dpo, client=world.client, reason="  ")
    assert not world.client.legal_holds.exists()


def test_a_restricted_client_keeps_everything(world, case_manager, only):
    only("RETENTION_MESSAGE_DAYS", 730)
    services.data_subject_request_record(
        actor=case_manager,
        client=world.client,
        kind="restriction",
        received_on=timezone.localdate(),
    )
    services.retention_run(now=days_later(800))
    assert Message.objects.filter(pk=world.message.pk).exists()


# --- the orphan sweep -----------------------------------------------------------------------


def test_a_blob_left_on_disk_after_its_row_is_gone_is_swept(world, document_storage, only):
    only("RETENTION_UPLOAD_LEFTOVER_DAYS", 30)
    pdf_name = world.unfiled.pdf_storage_name
    # The row goes, but its file removal never ran (a crash before the commit hook).
    Document.objects.filter(pk=world.unfiled.pk).delete()
    orphan = storage_crypto.storage().path(pdf_name)
    assert os.path.exists(orphan)
    old = time.time() - 3 * 86400
    os.utime(orphan, (old, old))

    report = next(r for r in services.retention_preview() if r.kind == "upload_leftover")
    assert report.count >= 1 and "no record names" in report.note

    services.retention_run()

    assert not os.path.exists(orphan)
    assert blob_exists(world.filed.pdf_storage_name)  # named by a row: kept
    assert DeletionRecord.objects.filter(
        kind="upload_leftover", rule__contains="no record names"
    ).exists()


def test_a_clients_copy_of_her_data_is_not_taken_for_an_orphan(world, document_storage, only):
    """The ZIP of a data export lies in the document storage but is named by its export row,
    not by a document: it stays until its link expires, however old the file is."""
    from sprechstunde.subject_access import services as export_services

    only("RETENTION_UPLOAD_LEFTOVER_DAYS", 30)
    export = export_services.data_export_request(actor=world.client.user, client=world.client)
    export_services.data_export_build(export_id=export.pk)  # the job (queued after commit)
    export.refresh_from_db()
    assert export.storage_name and blob_exists(export.storage_name)
    old = time.time() - 3 * 86400
    os.utime(storage_crypto.storage().path(export.storage_name), (old, old))

    services.retention_run()

    assert blob_exists(export.storage_name)


def test_a_fresh_blob_without_a_row_is_not_taken_for_an_orphan(world, only):
    only("RETENTION_UPLOAD_LEFTOVER_DAYS", 30)
    name = world.unfiled.pdf_storage_name
    Document.objects.filter(pk=world.unfiled.pk).delete()
    services.retention_run()
    assert blob_exists(name)
