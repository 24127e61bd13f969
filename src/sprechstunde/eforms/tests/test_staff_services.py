"""The staff steps on a submitted form: every transition, the refused ones (clear message,
nothing changed), who may act, the messages in the client's conversation, the history, the
audit trail and the content-free notice."""

from __future__ import annotations

import pytest
from django.core import mail

from sprechstunde.accounts.factories import CaseManagerFactory, SubstitutionFactory
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.services import consent_withdraw
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.models import SmsMessage
from sprechstunde.core.testing.sms_gateway import LocalSmsGateway
from sprechstunde.eforms.choices import SubmissionOutcome, SubmissionStatus
from sprechstunde.eforms.models import FormEvent, FormSubmission
from sprechstunde.eforms.services import staff
from sprechstunde.eforms.tests import factories_staff as f
from sprechstunde.messaging.factories import portal_client_create
from sprechstunde.messaging.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_client(case_manager):
    return portal_client_create(
        case_manager=case_manager,
        email="amal@example.org",
        first_name="Amal",
        last_name="Geheimname",
    )


@pytest.fixture
def away(own_client):
    return f.submission(own_client)


@pytest.fixture
def change(own_client):
    return f.submission(own_client, spec=f.change_spec())


def _state(submission):
    fresh = FormSubmission.objects.get(pk=submission.pk)
    return (
        fresh.status,
        fresh.assigned_to_id,
        fresh.outcome,
        fresh.outcome_reason,
        fresh.needs_more_note,
        fresh.closed_at,
    )


def _kinds(submission):
    return list(submission.events.values_list("kind", flat=True))


def test_taking_a_received_form_puts_it_in_progress_with_the_taker(case_manager, away):
    staff.submission_take(actor=case_manager, submission=away)

    away.refresh_from_db()
    assert away.status == SubmissionStatus.IN_PROGRESS
    assert away.assigned_to == case_manager
    assert _kinds(away) == ["submitted", "taken"]
    assert AuditEntry.objects.filter(action="eforms.take", target_id=str(away.pk)).count() == 1


def test_asking_for_more_reopens_the_form_and_writes_to_the_client(
    case_manager, own_client, away, django_capture_on_commit_callbacks
):
    staff.submission_take(actor=case_manager, submission=away)
    with django_capture_on_commit_callbacks(execute=True):
        staff.submission_ask_more(
            actor=case_manager, submission=away, note="  Bitte die Reisebuchung beifügen.  "
        )

    away.refresh_from_db()
    assert away.status == SubmissionStatus.NEEDS_MORE
    assert away.needs_more_note == "Bitte die Reisebuchung beifügen."
    event = away.events.get(kind="needs_more")
    assert event.note == "Bitte die Reisebuchung beifügen." and event.actor == case_manager
    [message] = Message.objects.filter(conversation__client=own_client)
    assert message.sender == case_manager
    # In the client's language (English here), naming the form, the day and what is missing.
    assert "Request to be away" in message.body
    assert "Bitte die Reisebuchung beifügen." in message.body
    assert away.submitted_at.strftime("%m/%d/%Y") in message.body
    assert AuditEntry.objects.filter(action="eforms.needs_more", target_id=str(away.pk)).exists()
    # The content-free notice went out (the message's own notice waits for its delay).
    notices = [m for m in mail.outbox if "news about a form" in m.subject]
    assert len(notices) == 1


def test_a_note_is_required_to_ask_for_more_and_nothing_changes_without_it(
    case_manager, own_client, away
):
    before = _state(away)
    with pytest.raises(ApplicationError) as raised:
        staff.submission_ask_more(actor=case_manager, submission=away, note="   ")
    assert raised.value.field == "note"
    assert _state(away) == before
    assert not Message.objects.filter(conversation__client=own_client).exists()
    assert _kinds(away) == ["submitted"]


def test_answering_sends_a_message_naming_the_form_and_keeps_the_state(
    case_manager, own_client, change
):
    staff.submission_take(actor=case_manager, submission=change)
    message = staff.submission_answer(
        actor=case_manager, submission=change, text="Ihr Einkommen ist eingetragen."
    )

    assert message.conversation.client == own_client
    assert message.body.startswith("About your form “Change notice” of ")
    assert message.body.endswith("Ihr Einkommen ist eingetragen.")
    change.refresh_from_db()
    assert change.status == SubmissionStatus.IN_PROGRESS
    assert _kinds(change) == ["submitted", "taken", "answered"]
    assert AuditEntry.objects.filter(action="eforms.answer", target_id=str(change.pk)).exists()


def test_the_message_frame_is_in_the_clients_language(case_manager, own_client, change):
    own_client.user.preferred_language = "de"
    own_client.user.save(update_fields=["preferred_language"])

    message = staff.submission_answer(actor=case_manager, submission=change, text="Danke.")

    assert message.body.startswith("Zu Ihrem Formular „Veränderungsmitteilung“ vom ")


@pytest.mark.parametrize("outcome", [SubmissionOutcome.APPROVED, SubmissionOutcome.REFUSED])
def test_a_request_is_approved_or_refused_and_that_finishes_it(
    case_manager, away, outcome, django_capture_on_commit_callbacks
):
    staff.submission_take(actor=case_manager, submission=away)
    with django_capture_on_commit_callbacks(execute=True):
        staff.submission_decide(
            actor=case_manager, submission=away, outcome=outcome, reason="Termin am 5. Januar."
        )

    away.refresh_from_db()
    assert away.status == SubmissionStatus.DONE
    assert away.outcome == outcome
    assert away.outcome_reason == "Termin am 5. Januar."
    assert away.closed_at is not None
    assert _kinds(away)[-1] == str(outcome)
    assert AuditEntry.objects.filter(action=f"eforms.{outcome}", target_id=str(away.pk)).exists()
    assert len([m for m in mail.outbox if "news about a form" in m.subject]) == 1


def test_a_refusal_needs_a_reason_an_approval_does_not(case_manager, away):
    before = _state(away)
    with pytest.raises(ApplicationError) as raised:
        staff.submission_decide(
            actor=case_manager, submission=away, outcome=SubmissionOutcome.REFUSED, reason=""
        )
    assert raised.value.field == "reason"
    assert _state(away) == before

    staff.submission_decide(actor=case_manager, submission=away, outcome=SubmissionOutcome.APPROVED)
    away.refresh_from_db()
    assert away.outcome == SubmissionOutcome.APPROVED and away.outcome_reason == ""


def test_an_unknown_outcome_is_refused(case_manager, away):
    with pytest.raises(ApplicationError) as raised:
        staff.submission_decide(actor=case_manager, submission=away, outcome="maybe")
    assert raised.value.field == "outcome"
    assert FormSubmission.objects.get(pk=away.pk).status == SubmissionStatus.RECEIVED


def test_a_form_without_a_decision_is_finished_as_done(
    case_manager, change, django_capture_on_commit_callbacks
):
    with pytest.raises(ApplicationError, match="asks for no decision"):
        staff.submission_decide(
            actor=case_manager, submission=change, outcome=SubmissionOutcome.APPROVED
        )
    with django_capture_on_commit_callbacks(execute=True):
        staff.submission_done(actor=case_manager, submission=change)

    change.refresh_from_db()
    assert change.status == SubmissionStatus.DONE
    assert change.closed_at is not None and change.outcome == ""
    assert change.assigned_to == case_manager
    assert _kinds(change) == ["submitted", "done"]


def test_a_request_cannot_be_done_without_a_decision(case_manager, away):
    before = _state(away)
    with pytest.raises(ApplicationError, match="approve or refuse"):
        staff.submission_done(actor=case_manager, submission=away)
    assert _state(away) == before


@pytest.mark.parametrize(
    ("status", "step", "message"),
    [
        (SubmissionStatus.IN_PROGRESS, "take", "in progress already"),
        (SubmissionStatus.NEEDS_MORE, "take", "waits for the client"),
        (SubmissionStatus.DONE, "take", "done already"),
        (SubmissionStatus.DRAFT, "take", "not sent this form yet"),
        (SubmissionStatus.NEEDS_MORE, "ask_more", "waits for the client"),
        (SubmissionStatus.DONE, "ask_more", "done already"),
        (SubmissionStatus.DRAFT, "ask_more", "not sent this form yet"),
        (SubmissionStatus.NEEDS_MORE, "decide", "waits for the client"),
        (SubmissionStatus.DONE, "decide", "done already"),
        (SubmissionStatus.NEEDS_MORE, "done", "waits for the client"),
        (SubmissionStatus.DONE, "done", "done already"),
        (SubmissionStatus.DRAFT, "answer", "not sent this form yet"),
    ],
)
def test_a_step_out_of_order_is_refused_clearly_and_changes_nothing(
    case_manager, own_client, status, step, message
):
    spec = f.change_spec() if step == "done" else f.away_spec()
    submission = f.submission(own_client, spec=spec, status=status)
    before = _state(submission)
    calls = {
        "take": lambda: staff.submission_take(actor=case_manager, submission=submission),
        "ask_more": lambda: staff.submission_ask_more(
            actor=case_manager, submission=submission, note="Lohnzettel"
        ),
        "decide": lambda: staff.submission_decide(
            actor=case_manager, submission=submission, outcome="approved"
        ),
        "done": lambda: staff.submission_done(actor=case_manager, submission=submission),
        "answer": lambda: staff.submission_answer(
            actor=case_manager, submission=submission, text="Hallo"
        ),
    }
    events = FormEvent.objects.count()

    with pytest.raises(ApplicationError, match=message):
        calls[step]()

    assert _state(submission) == before
    assert FormEvent.objects.count() == events
    assert not Message.objects.filter(conversation__client=own_client).exists()


def test_the_whole_way_with_a_new_submission_after_needs_more(case_manager, away):
    staff.submission_take(actor=case_manager, submission=away)
    staff.submission_ask_more(actor=case_manager, submission=away, note="Reisebuchung fehlt")
    f.resubmit(away)
    staff.submission_take(actor=case_manager, submission=away)
    staff.submission_decide(
        actor=case_manager, submission=away, outcome="approved", reason="Gute Reise"
    )

    assert _kinds(away) == [
        "submitted",
        "taken",
        "needs_more",
        "resubmitted",
        "taken",
        "approved",
    ]


def test_another_case_manager_may_not_act(other_case_manager, own_client, away):
    before = _state(away)
    for call in (
        lambda: staff.submission_take(actor=other_case_manager, submission=away),
        lambda: staff.submission_ask_more(actor=other_case_manager, submission=away, note="x"),
        lambda: staff.submission_answer(actor=other_case_manager, submission=away, text="x"),
        lambda: staff.submission_decide(
            actor=other_case_manager, submission=away, outcome="approved"
        ),
        lambda: staff.submission_done(actor=other_case_manager, submission=away),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    assert _state(away) == before


def test_the_team_lead_reads_but_does_not_act_a_substitute_acts(
    team_lead, case_manager, own_client, away
):
    with pytest.raises(PermissionDeniedError):
        staff.submission_take(actor=team_lead, submission=away)
    substitute = CaseManagerFactory(team=case_manager.team)
    SubstitutionFactory(absent=case_manager, substitute=substitute)

    staff.submission_take(actor=substitute, submission=away)

    assert FormSubmission.objects.get(pk=away.pk).assigned_to == substitute


def test_the_client_may_not_act_on_her_own_form(own_client, away):
    with pytest.raises(PermissionDeniedError):
        staff.submission_take(actor=own_client.user, submission=away)


def test_asking_for_more_from_a_client_who_left_the_portal_is_refused(
    case_manager, own_client, away
):
    consent_withdraw(client=own_client, purpose="portal", actor=own_client.user)
    before = _state(away)

    with pytest.raises(ApplicationError, match="does not use the portal"):
        staff.submission_ask_more(actor=case_manager, submission=away, note="Lohnzettel")

    assert _state(away) == before
    assert _kinds(away) == ["submitted"]


def test_the_notice_carries_no_social_data(case_manager, own_client, away):
    staff.submission_ask_more(actor=case_manager, submission=away, note="Kontoauszug Mai")
    mail.outbox.clear()

    assert staff.submission_notice_deliver(submission_id=away.pk, kind="needs_more") == "sent"

    [notice] = mail.outbox
    assert notice.to == ["amal@example.org"]
    assert notice.subject == "There is news about a form you sent"
    content = notice.subject + notice.body
    for secret in ("Amal", "Geheimname", "Kontoauszug", "Ortsabwesenheit", "away", "Mai"):
        assert secret not in content
    assert f"/{away.pk}" in notice.body or "/portal" in notice.body
    assert AuditEntry.objects.filter(action="eforms.notify", target_id=str(away.pk)).exists()


def test_a_client_without_e_mail_is_told_by_sms_without_content(settings, case_manager):
    client = portal_client_create(
        case_manager=case_manager,
        email="sms-only@example.org",
        first_name="Amal",
        last_name="Geheimname",
        mobile_number="+491701234567",
    )
    client.user.email = ""
    client.user.save(update_fields=["email"])
    client.email = ""
    client.save(update_fields=["email"])
    submission = f.submission(client)
    with LocalSmsGateway() as gateway:
        settings.SMS_GATEWAY_URL = gateway.url
        settings.SMS_GATEWAY_TOKEN = "gw-token"
        assert staff.submission_notice_deliver(submission_id=submission.pk, kind="done") == "sent"

    [sms] = SmsMessage.objects.filter(kind="notice_form")
    assert sms.to == "+491701234567"
    assert "There is news about a form you sent." in sms.text
    assert "Geheimname" not in sms.text and "away" not in sms.text


def test_nobody_is_told_who_does_not_use_the_portal(case_manager, own_client, away):
    consent_withdraw(client=own_client, purpose="portal", actor=own_client.user)
    mail.outbox.clear()

    assert staff.submission_notice_deliver(submission_id=away.pk, kind="done") == "no recipient"
    assert mail.outbox == []
