"""Erasure and restriction on request: what may go now and what must be kept, the same
deletion as retention, restriction enforced on every path but the DPO's, all audited."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.agreements.models import CooperationPlan, Decision
from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.models import Client, Consent
from sprechstunde.documents.models import Document, DocumentPreview
from sprechstunde.messaging.models import Message
from sprechstunde.retention import services
from sprechstunde.retention.models import DataSubjectRequest, DeletionRecord, LegalHold
from sprechstunde.retention.selectors import client_inventory
from sprechstunde.video_calls.models import Call

from .conftest import blob_exists, login

pytestmark = pytest.mark.django_db


def record(actor, client, kind):
    return services.data_subject_request_record(
        actor=actor, client=client, kind=kind, received_on=timezone.localdate()
    )


def test_the_inventory_sorts_records_into_erasable_now_and_kept_with_the_rule(world):
    inventory = client_inventory(client=world.client)
    groups = {(g.rule.kind.value, g.source.setting or g.rule.setting): g for g in inventory.groups}

    assert groups[("message", "RETENTION_MESSAGE_DAYS")].erasable_count == 1
    assert groups[("call_record", "RETENTION_CALL_RECORD_DAYS")].erasable_count == 1
    assert groups[("document", "RETENTION_DOCUMENT_DAYS")].erasable_count == 1  # in the e-file
    unfiled = groups[("document", "RETENTION_DOCUMENT_UNFILED_DAYS")]
    assert unfiled.kept_count == 1 and "e-file" in unfiled.keep_reason
    decisions = groups[("decision", "RETENTION_DECISION_DAYS")]
    assert decisions.kept_count == 1 and "§§ 45, 50 SGB X" in decisions.keep_reason
    assert "RETENTION_DECISION_DAYS=3650" in decisions.rule_text
    assert groups[("appointment", "RETENTION_APPOINTMENT_DAYS")].kept_count == 1
    assert groups[("consent", "RETENTION_CONSENT_DAYS")].kept_count == 1


def test_erasure_takes_what_may_go_and_keeps_the_rest(
    world, case_manager, dpo, django_capture_on_commit_callbacks
):
    subject_request = record(case_manager, world.client, "erasure")
    filed_pdf = world.filed.pdf_storage_name

    with django_capture_on_commit_callbacks(execute=True):
        reports = services.erasure_execute(actor=dpo, subject_request=subject_request)

    assert not Message.objects.filter(pk=world.message.pk).exists()
    assert not Call.objects.filter(pk=world.call.pk).exists()
    assert not Document.objects.filter(pk__in=[world.filed.pk, world.refused.pk]).exists()
    assert not blob_exists(filed_pdf)  # the same deletion as retention: blobs too
    assert Document.objects.filter(pk=world.unfiled.pk).exists()
    assert DocumentPreview.objects.filter(document=world.unfiled).exists()
    assert Decision.objects.filter(pk=world.decision.pk).exists()
    assert CooperationPlan.objects.filter(pk=world.plan.pk).exists()
    assert Appointment.objects.filter(pk=world.appointment.pk).exists()
    assert Consent.objects.filter(pk=world.consent.pk).exists()
    assert {r.kind.value for r in reports} >= {"message", "call_record", "document", "preview"}
    subject_request.refresh_from_db()
    assert subject_request.status == "done" and subject_request.closed_by == dpo
    records = DeletionRecord.objects.filter(cause="erasure", client_id=world.client.pk)
    assert records.filter(kind="message", count=1, rule__contains="Art. 17").exists()
    actions = set(
        AuditEntry.objects.filter(client_id=world.client.pk).values_list("action", flat=True)
    )
    assert {"erasure_request.record", "erasure.delete", "erasure_request.execute"} <= actions


def test_a_hold_keeps_even_what_an_erasure_could_take(world, case_manager, dpo):
    services.legal_hold_set(actor=dpo, client=world.client, reason="Klage")
    subject_request = record(case_manager, world.client, "erasure")

    services.erasure_execute(actor=dpo, subject_request=subject_request)

    assert Message.objects.filter(pk=world.message.pk).exists()


def test_only_the_dpo_carries_out_an_erasure(world, case_manager):
    from sprechstunde.core.errors import PermissionDeniedError

    subject_request = record(case_manager, world.client, "erasure")
    with pytest.raises(PermissionDeniedError):
        services.erasure_execute(actor=case_manager, subject_request=subject_request)
    assert Message.objects.filter(pk=world.message.pk).exists()


def test_a_request_from_the_future_is_refused_and_changes_nothing(world, case_manager):
    from sprechstunde.core.errors import ApplicationError

    with pytest.raises(ApplicationError):
        services.data_subject_request_record(
            actor=case_manager,
            client=world.client,
            kind="restriction",
            received_on=timezone.localdate() + timezone.timedelta(days=2),
        )
    world.client.refresh_from_db()
    assert world.client.processing_restricted_at is None
    assert not DataSubjectRequest.objects.exists()


# --- restriction through the views ----------------------------------------------------------


def staff_paths(world):
    return [
        reverse("clients:detail", args=[world.client.pk]),
        reverse("messaging:client_conversation", args=[world.client.pk]),
        reverse("documents:client_documents", args=[world.client.pk]),
        reverse("documents:detail", args=[world.filed.pk]),
        reverse("agreements:client", args=[world.client.pk]),
        reverse("appointments:detail", args=[world.appointment.pk]),
        reverse("appointments:book", args=[world.client.pk]),
    ]


def portal_paths(world):
    return [
        reverse("clients:portal_home"),
        reverse("messaging:portal"),
        reverse("documents:portal"),
        reverse("appointments:portal_detail", args=[world.appointment.pk]),
    ]


def test_a_restriction_closes_every_path_but_the_dpos(world, case_manager, dpo, web):
    from django.test import Client as TestClient

    login(web, case_manager)
    for path in staff_paths(world):
        assert web.get(path).status_code == 200, path
    portal = TestClient(headers={"accept-language": "en"})
    portal.force_login(world.client.user)
    for path in portal_paths(world):
        assert portal.get(path).status_code == 200, path

    response = web.post(
        reverse("retention:request_record", args=[world.client.pk]),
        {"kind": "restriction", "received_on": timezone.localdate().isoformat(), "note": "Art. 18"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("clients:list")

    for path in staff_paths(world):
        assert web.get(path).status_code == 404, path
    assert web.get(reverse("retention:client", args=[world.client.pk])).status_code == 404
    assert world.client.last_name not in web.get(reverse("clients:list")).content.decode()
    for path in portal_paths(world):
        assert portal.get(path).status_code in (302, 404), path

    dpo_web = login(TestClient(headers={"accept-language": "en"}), dpo)
    page = dpo_web.get(reverse("retention:client", args=[world.client.pk]))
    assert page.status_code == 200
    assert "Processing restricted" in page.content.decode()
    assert AuditEntry.objects.filter(
        action="retention.client_view", actor_label=dpo.email, client_id=world.client.pk
    ).exists()
    assert AuditEntry.objects.filter(action="client.restrict", client_id=world.client.pk).exists()

    subject_request = DataSubjectRequest.objects.get(client_id=world.client.pk)
    dpo_web.post(
        reverse("retention:request_decide", args=[world.client.pk, subject_request.pk]),
        {"decision": "lift"},
    )
    for path in staff_paths(world):
        assert web.get(path).status_code == 200, path
    assert AuditEntry.objects.filter(
        action="restriction_request.lift", client_id=world.client.pk
    ).exists()


def test_another_case_managers_client_is_not_reachable(world, other_case_manager, web):
    login(web, other_case_manager)
    assert web.get(reverse("retention:client", args=[world.client.pk])).status_code == 404
    response = web.post(
        reverse("retention:request_record", args=[world.client.pk]),
        {"kind": "erasure", "received_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 404
    assert not DataSubjectRequest.objects.exists()


def test_the_dpo_erases_and_sets_holds_through_the_page(world, case_manager, dpo, web):
    login(web, dpo)
    bad = web.post(reverse("retention:hold_set", args=[world.client.pk]), {"reason": ""})
    assert bad.status_code == 400 and not LegalHold.objects.exists()
    web.post(
        reverse("retention:hold_set", args=[world.client.pk]),
        {
            "reason": "Widerspruch W-1",
            "target_type": "agreements.decision",
            "target_id": str(world.decision.pk),
        },
    )
    hold = LegalHold.objects.get()
    assert hold.target_id == str(world.decision.pk)

    subject_request = record(case_manager, world.client, "erasure")
    page = web.get(reverse("retention:client", args=[world.client.pk])).content.decode()
    assert "May be erased now" in page and "RETENTION_DECISION_DAYS=3650" in page

    web.post(
        reverse("retention:request_decide", args=[world.client.pk, subject_request.pk]),
        {"decision": "erase"},
    )
    assert not Message.objects.filter(pk=world.message.pk).exists()
    assert Client.objects.filter(pk=world.client.pk).exists()

    web.post(reverse("retention:hold_lift", args=[world.client.pk, hold.pk]))
    hold.refresh_from_db()
    assert hold.lifted_by == dpo


def test_case_managers_cannot_decide_or_hold(world, case_manager, web):
    login(web, case_manager)
    subject_request = record(case_manager, world.client, "erasure")
    response = web.post(
        reverse("retention:request_decide", args=[world.client.pk, subject_request.pk]),
        {"decision": "erase"},
    )
    assert response.status_code == 404
    assert (
        web.post(reverse("retention:hold_set", args=[world.client.pk]), {"reason": "x"}).status_code
        == 404
    )
    assert Message.objects.filter(pk=world.message.pk).exists()
    assert is_other_role_response(web.get(reverse("retention:overview")))


def test_the_overview_shows_the_dry_run_to_the_dpo(world, dpo, web):
    login(web, dpo)
    page = web.get(reverse("retention:overview"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "RETENTION_MESSAGE_DAYS=730" in text and "Form submissions" in text
