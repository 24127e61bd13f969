"""Document requests: made by the case manager, answered by an upload, reminded before the
due date by content-free e-mail (at most once a day), and seen only within the access rules."""

import datetime

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory, SubstitutionFactory
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents import services as requests_module
from sprechstunde.documents.choices import DocumentStatus, RequestStatus, ScanStatus, Side
from sprechstunde.documents.factories import DocumentRequestFactory
from sprechstunde.documents.models import Document, DocumentRequest
from sprechstunde.documents.selectors import (
    document_request_for_upload,
    document_requests_for_user,
    document_requests_overdue_for_user,
)
from sprechstunde.documents.services import (
    document_request_cancel,
    document_request_create,
    document_request_fulfil,
    document_request_remind,
    document_request_reminders_send_due,
)
from sprechstunde.messaging.factories import portal_client_create

pytestmark = pytest.mark.django_db

TITLE = "Lohnabrechnung März"


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def client_record(case_manager):
    return portal_client_create(case_manager=case_manager, email="kundin@example.org")


@pytest.fixture
def remind_days(settings):
    settings.DOCUMENT_REQUEST_REMIND_DAYS = [3, 1]


def make_document(client, *, request=None, status=DocumentStatus.READY) -> Document:
    return Document.objects.create(
        client=client,
        uploaded_by=client.user,
        uploaded_by_side=Side.CLIENT,
        request=request,
        title="Scan",
        original_name="scan.pdf",
        content_type="application/pdf",
        status=status,
        scan_status=ScanStatus.CLEAN if status == DocumentStatus.READY else ScanStatus.PENDING,
    )


def assert_content_free(message, *forbidden: str) -> None:
    text = message.subject + message.body
    for word in forbidden:
        assert word not in text, f"{word!r} leaked into the e-mail"


# --- Creating ---------------------------------------------------------------------------------


def test_case_manager_requests_a_document_and_the_client_gets_a_content_free_notice(
    case_manager, client_record, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        document_request = document_request_create(
            actor=case_manager, client=client_record, title=TITLE, due_on=days(7), note="Bitte alle"
        )

    stored = DocumentRequest.objects.get()
    assert (stored.pk, stored.title, stored.note, stored.due_on) == (
        document_request.pk,
        TITLE,
        "Bitte alle",
        days(7),
    )
    assert stored.status == RequestStatus.OPEN and stored.requested_by == case_manager
    entry = AuditEntry.objects.get(action="document_request.create")
    assert (entry.actor_id, entry.client_id, entry.target_id) == (
        case_manager.pk,
        client_record.pk,
        str(stored.pk),
    )
    assert [m.to for m in mail.outbox] == [["kundin@example.org"]]
    assert_content_free(mail.outbox[0], TITLE, "Lohnabrechnung", "Bitte alle", "Kim", "Kunde")
    assert "/dokumente/portal/anforderungen/" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("title", "due_on", "note", "field"),
    [
        ("", days(7), "", "title"),
        ("   \x00 ", days(7), "", "title"),
        ("x" * 201, days(7), "", "title"),
        (TITLE, days(-1), "", "due_on"),
        (TITLE, days(400), "", "due_on"),
        (TITLE, None, "", "due_on"),
        (TITLE, days(7), "n" * 1001, "note"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    case_manager, client_record, title, due_on, note, field
):
    with pytest.raises(ApplicationError) as refused:
        document_request_create(
            actor=case_manager, client=client_record, title=title, due_on=due_on, note=note
        )

    assert refused.value.field == field
    assert not DocumentRequest.objects.exists()
    assert mail.outbox == []


def test_due_today_is_accepted(case_manager, client_record):
    assert document_request_create(
        actor=case_manager, client=client_record, title=TITLE, due_on=days(0)
    ).due_on == days(0)


def test_control_characters_are_removed_from_title_and_note(case_manager, client_record):
    made = document_request_create(
        actor=case_manager,
        client=client_record,
        title=" Kontoauszug\x07 ",
        due_on=days(3),
        note="Zeile 1\r\nZeile 2\x1b",
    )

    assert (made.title, made.note) == ("Kontoauszug", "Zeile 1\nZeile 2")


def test_only_the_case_manager_and_substitutes_may_request(
    case_manager, other_case_manager, team_lead, client_record
):
    for outsider in (other_case_manager, team_lead):
        with pytest.raises(PermissionDeniedError):
            document_request_create(
                actor=outsider, client=client_record, title=TITLE, due_on=days(7)
            )
    substitute = CaseManagerFactory(team=case_manager.team)
    SubstitutionFactory(
        absent=case_manager, substitute=substitute, starts_on=days(0), ends_on=days(2)
    )

    made = document_request_create(
        actor=substitute, client=client_record, title=TITLE, due_on=days(7)
    )

    assert made.requested_by == substitute
    assert DocumentRequest.objects.count() == 1


def test_no_notice_for_a_client_without_portal(case_manager, django_capture_on_commit_callbacks):
    offline = ClientFactory(case_manager=case_manager, email="offline@example.org")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        document_request_create(actor=case_manager, client=offline, title=TITLE, due_on=days(7))

    assert callbacks and mail.outbox == []
    assert DocumentRequest.objects.filter(client=offline).count() == 1


# --- Cancelling and fulfilling ------------------------------------------------------------------


def test_cancel_closes_an_open_request_once(case_manager, client_record):
    made = DocumentRequestFactory(client=client_record)

    document_request_cancel(actor=case_manager, document_request=made)

    made.refresh_from_db()
    assert made.status == RequestStatus.CANCELLED and made.cancelled_at is not None
    assert AuditEntry.objects.filter(action="document_request.cancel").count() == 1
    with pytest.raises(ApplicationError):
        document_request_cancel(actor=case_manager, document_request=made)
    assert AuditEntry.objects.filter(action="document_request.cancel").count() == 1


def test_team_lead_cannot_cancel(team_lead, client_record):
    made = DocumentRequestFactory(client=client_record)

    with pytest.raises(PermissionDeniedError):
        document_request_cancel(actor=team_lead, document_request=made)

    made.refresh_from_db()
    assert made.status == RequestStatus.OPEN


def test_an_upload_fulfils_the_request_once(client_record):
    made = DocumentRequestFactory(client=client_record)
    first = make_document(client_record, request=made)
    second = make_document(client_record, request=made)

    assert document_request_fulfil(document_request=made, document=first, actor=client_record.user)
    assert not document_request_fulfil(document_request=made, document=second)

    made.refresh_from_db()
    assert made.status == RequestStatus.FULFILLED and made.fulfilled_at is not None
    entry = AuditEntry.objects.get(action="document_request.fulfil")
    assert entry.actor_id == client_record.user.pk
    assert set(made.documents.all()) == {first, second}


def test_fulfil_links_an_unlinked_document_and_refuses_another_clients(case_manager, client_record):
    made = DocumentRequestFactory(client=client_record)
    stranger = ClientFactory(case_manager=case_manager)

    with pytest.raises(ApplicationError):
        document_request_fulfil(document_request=made, document=make_document(stranger))
    document = make_document(client_record)
    assert document_request_fulfil(document_request=made, document=document)

    document.refresh_from_db()
    assert document.request_id == made.pk


def test_a_cancelled_request_is_not_fulfilled(case_manager, client_record):
    made = DocumentRequestFactory(client=client_record)
    document_request_cancel(actor=case_manager, document_request=made)

    assert not document_request_fulfil(
        document_request=made, document=make_document(client_record, request=made)
    )
    made.refresh_from_db()
    assert made.status == RequestStatus.CANCELLED


# --- Reading --------------------------------------------------------------------------------------


def test_each_sees_only_the_requests_within_the_rules(
    case_manager, other_case_manager, team_lead, client_record
):
    mine = DocumentRequestFactory(client=client_record)
    foreign_client = portal_client_create(case_manager=other_case_manager, email="x@example.org")
    foreign = DocumentRequestFactory(client=foreign_client)

    assert list(document_requests_for_user(user=case_manager)) == [mine]
    assert list(document_requests_for_user(user=team_lead)) == [mine]
    assert list(document_requests_for_user(user=client_record.user)) == [mine]
    assert list(document_requests_for_user(user=foreign_client.user)) == [foreign]
    assert list(document_requests_for_user(user=case_manager, client=foreign_client)) == []
    entry = AuditEntry.objects.filter(action="document_request.list").first()
    assert entry.actor_id == case_manager.pk


def test_open_requests_come_first(case_manager, client_record):
    done = DocumentRequestFactory(client=client_record, due_on=days(1))
    document_request_cancel(actor=case_manager, document_request=done)
    later = DocumentRequestFactory(client=client_record, due_on=days(9))
    sooner = DocumentRequestFactory(client=client_record, due_on=days(2))

    assert list(document_requests_for_user(user=case_manager, client=client_record)) == [
        sooner,
        later,
        done,
    ]


def test_overdue_lists_open_past_due_requests_of_the_caseload_only(
    case_manager, other_case_manager, team_lead, client_record
):
    overdue = DocumentRequestFactory(client=client_record, due_on=days(-2))
    DocumentRequestFactory(client=client_record, due_on=days(0))  # due today: not overdue
    answered = DocumentRequestFactory(client=client_record, due_on=days(-5))
    document_request_fulfil(
        document_request=answered, document=make_document(client_record, request=answered)
    )
    foreign_client = ClientFactory(case_manager=other_case_manager)
    DocumentRequestFactory(client=foreign_client, due_on=days(-3))

    assert list(document_requests_overdue_for_user(user=case_manager)) == [overdue]
    assert list(document_requests_overdue_for_user(user=team_lead)) == [overdue]
    assert list(document_requests_overdue_for_user(user=client_record.user)) == []
    assert AuditEntry.objects.filter(action="document_request.list_overdue").count() == 2


def test_the_upload_page_accepts_only_an_own_open_request(case_manager, client_record):
    mine = DocumentRequestFactory(client=client_record)
    other = DocumentRequestFactory(
        client=portal_client_create(case_manager=case_manager, email="o@example.org")
    )
    closed = DocumentRequestFactory(client=client_record)
    document_request_cancel(actor=case_manager, document_request=closed)

    assert document_request_for_upload(user=client_record.user, pk=mine.pk) == mine
    assert document_request_for_upload(user=client_record.user, pk=str(mine.pk)) == mine
    assert document_request_for_upload(user=client_record.user, pk=other.pk) is None
    assert document_request_for_upload(user=client_record.user, pk=closed.pk) is None
    assert document_request_for_upload(user=client_record.user, pk="1 OR 1=1") is None
    assert document_request_for_upload(user=case_manager, pk=other.pk) == other


# --- Reminders ------------------------------------------------------------------------------------


def aged_request(client, *, due_in: int, created_days_ago: int = 10) -> DocumentRequest:
    return DocumentRequestFactory(
        client=client,
        due_on=days(due_in),
        created_at=timezone.now() - datetime.timedelta(days=created_days_ago),
    )


def test_reminder_goes_out_on_the_configured_days_once_and_without_content(
    remind_days, client_record
):
    made = aged_request(client_record, due_in=3)

    assert document_request_reminders_send_due() == {"sent": 1}
    assert document_request_reminders_send_due() == {}  # claimed for today: not picked again
    assert document_request_remind(document_request_id=made.pk) == "not due"

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["kundin@example.org"]
    assert "3 days" in message.body
    assert_content_free(message, TITLE, "Lohnabrechnung", "Kim", "Kunde", "fm@jobcenter")
    made.refresh_from_db()
    assert made.reminded_on == days(0)
    assert AuditEntry.objects.filter(action="document_request.remind").count() == 1
    # Two days later (due tomorrow) the next step goes out; the day in between, nothing.
    assert document_request_reminders_send_due(today=days(1)) == {"not due": 1}
    assert document_request_reminders_send_due(today=days(2)) == {"sent": 1}
    assert "1 day" in mail.outbox[1].body


def test_after_downtime_only_the_nearest_missed_reminder_goes_out(remind_days, client_record):
    aged_request(client_record, due_in=1)  # the 3-day step was missed

    assert document_request_reminders_send_due() == {"sent": 1}
    assert document_request_reminders_send_due() == {}
    assert len(mail.outbox) == 1


def test_no_reminder_for_steps_on_the_day_of_the_request_or_after_the_due_date(
    remind_days, case_manager, client_record
):
    document_request_create(actor=case_manager, client=client_record, title=TITLE, due_on=days(3))
    aged_request(client_record, due_in=-1)
    mail.outbox.clear()

    # The new request is looked at (due within 3 days) but its 3-day step is today.
    assert document_request_reminders_send_due() == {"not due": 1}
    assert mail.outbox == []


def test_no_reminder_once_answered_or_cancelled_or_without_portal(
    remind_days, case_manager, client_record
):
    answered = aged_request(client_record, due_in=1)
    document_request_fulfil(
        document_request=answered, document=make_document(client_record, request=answered)
    )
    cancelled = aged_request(client_record, due_in=1)
    document_request_cancel(actor=case_manager, document_request=cancelled)
    offline = aged_request(ClientFactory(case_manager=case_manager), due_in=1)

    assert document_request_remind(document_request_id=answered.pk) == "not due"
    assert document_request_remind(document_request_id=cancelled.pk) == "not due"
    assert document_request_remind(document_request_id=offline.pk) == "no recipient"
    assert mail.outbox == []


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server down")


def test_a_failed_reminder_is_tried_again_later_that_day(remind_days, settings, client_record):
    made = aged_request(client_record, due_in=3)
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"

    assert document_request_reminders_send_due() == {"failed": 1}
    made.refresh_from_db()
    assert made.reminded_on is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert document_request_reminders_send_due() == {"sent": 1}
    assert len(mail.outbox) == 1


def test_remind_days_come_from_the_settings(settings):
    settings.DOCUMENT_REQUEST_REMIND_DAYS = [1, 7, 1, 0]

    assert requests_module.remind_days() == [7, 1, 0]


def test_the_command_sends_due_reminders(remind_days, client_record, capsys):
    aged_request(client_record, due_in=1)

    call_command("documents_remind")

    assert "'sent': 1" in capsys.readouterr().out
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_reminder_jobs_wait_in_the_queue_for_each_reminder_morning(
    remind_days, settings, case_manager, client_record
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    made = document_request_create(
        actor=case_manager, client=client_record, title=TITLE, due_on=days(5)
    )

    jobs = DBTaskResult.objects.filter(task_path__endswith="document_request_remind_task")
    mornings = sorted(timezone.localtime(job.run_after) for job in jobs)
    assert [(m.date(), m.hour) for m in mornings] == [(days(2), 8), (days(4), 8)]
    assert all(job.args_kwargs["args"] == [made.pk] for job in jobs)
    assert (
        DBTaskResult.objects.filter(task_path__endswith="document_request_notice_task").count() == 1
    )
