"""The staff pages of the forms: the inbox (whose forms, filter, order, paging, queries), one
submission (answers in German, files, history, steps only for those who may take them),
the steps through the page, and the forms section of the client page."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test import Client as WebClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from tests.test_url_access import log_in

from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.audit.models import AuditEntry
from sprechstunde.documents.models import Document
from sprechstunde.eforms.choices import SubmissionStatus
from sprechstunde.eforms.models import FormAttachment, FormSubmission
from sprechstunde.eforms.tests import factories_staff as f
from sprechstunde.messaging.factories import portal_client_create
from sprechstunde.messaging.models import Message

pytestmark = pytest.mark.django_db

INBOX = reverse("eforms:staff_inbox")


def _browser(user):
    browser = WebClient(headers={"accept-language": "en"})
    log_in(browser, user)
    return browser


def _main(response) -> str:
    html = response.content.decode()
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def _detail(submission) -> str:
    return reverse("eforms:staff_submission", args=[submission.pk])


@pytest.fixture
def own_client(case_manager):
    return portal_client_create(
        case_manager=case_manager, email="ada@example.org", first_name="Ada", last_name="Özdemir"
    )


@pytest.fixture
def foreign_client(other_case_manager):
    return portal_client_create(
        case_manager=other_case_manager,
        email="bert@example.org",
        first_name="Bert",
        last_name="Fremdling",
    )


def test_the_inbox_lists_the_caseloads_sent_forms_newest_first(
    case_manager, own_client, foreign_client
):
    now = timezone.now()
    older = f.submission(own_client, submitted_at=now - datetime.timedelta(days=2))
    newer = f.submission(own_client, spec=f.change_spec(), submitted_at=now)
    f.submission(own_client, status=SubmissionStatus.DRAFT)
    f.submission(foreign_client)

    page = _main(_browser(case_manager).get(INBOX))

    rows = re.findall(r'data-submission="(\d+)"', page)
    assert rows == [str(newer.pk), str(older.pk)]
    assert "Veränderungsmitteilung" in page and "Ortsabwesenheit beantragen" in page
    assert "Fremdling" not in page
    assert AuditEntry.objects.filter(action="eforms.inbox", actor_id=case_manager.pk).count() == 1


def test_the_inbox_filters_by_state(case_manager, own_client):
    received = f.submission(own_client)
    f.submission(own_client, status=SubmissionStatus.DONE)
    f.submission(own_client, status=SubmissionStatus.NEEDS_MORE)

    page = _main(_browser(case_manager).get(INBOX, {"status": "received"}))

    assert re.findall(r'data-submission="(\d+)"', page) == [str(received.pk)]
    assert "Received (1)" in page and "Done (1)" in page and "Needs more (1)" in page
    assert "All (3)" in page


def test_the_inbox_of_one_client(case_manager, own_client):
    other = portal_client_create(case_manager=case_manager, email="c@example.org")
    mine = f.submission(own_client)
    f.submission(other)

    page = _main(_browser(case_manager).get(INBOX, {"klient": own_client.pk}))

    assert re.findall(r'data-submission="(\d+)"', page) == [str(mine.pk)]


def test_the_inbox_pages_and_costs_the_same_queries_for_many_clients(case_manager):
    clients = [
        portal_client_create(case_manager=case_manager, email=f"k{n}@example.org") for n in range(3)
    ]
    for client in clients:
        f.submission(client)
    browser = _browser(case_manager)
    browser.get(INBOX)
    with CaptureQueriesContext(connection) as few:
        browser.get(INBOX)

    for n in range(30):
        client = portal_client_create(case_manager=case_manager, email=f"m{n}@example.org")
        f.submission(client, spec=f.change_spec() if n % 2 else None)
    with CaptureQueriesContext(connection) as many:
        response = browser.get(INBOX)

    assert len(many) == len(few)
    page = _main(response)
    assert len(re.findall(r'data-submission="', page)) == 25
    assert "Page 1 of 2" in page
    second = _main(browser.get(INBOX, {"page": 2}))
    assert len(re.findall(r'data-submission="', second)) == 8


def test_a_client_and_an_admin_get_the_other_role_page_for_the_inbox(own_client, admin_user):
    assert is_other_role_response(_browser(own_client.user).get(INBOX))
    assert is_other_role_response(_browser(admin_user).get(INBOX))


def test_the_submission_page_shows_the_answers_in_german_with_files_and_history(
    case_manager, own_client
):
    submission = f.submission(own_client, spec=f.change_spec())
    proof = Document.objects.create(
        client=own_client,
        uploaded_by_side="client",
        title="Lohnzettel Mai",
        original_name="lohn.pdf",
        status="ready",
        scan_status="clean",
    )
    FormAttachment.objects.create(submission=submission, field_key="proof", document=proof)

    page = _main(_browser(case_manager).get(_detail(submission)))

    assert "Einkommen und Konto" in page and "Einkommen" in page
    assert "1,234.56 €" in page or "1.234,56 €" in page
    assert "DE89 3704 0044 0532 0130 00" in page
    assert "Mina" in page and "01.05.2019" in page
    assert reverse("documents:detail", args=[proof.pk]) in page and "Lohnzettel Mai" in page
    assert 'data-event="submitted"' in page
    assert 'data-step="take"' in page and 'data-step="done"' in page
    assert 'data-step="approve"' not in page  # this form asks for no decision
    assert AuditEntry.objects.filter(action="eforms.view", target_id=str(submission.pk)).exists()


def test_another_case_manager_and_the_client_get_404_and_it_is_audited(
    other_case_manager, own_client
):
    submission = f.submission(own_client)
    for user in (other_case_manager, own_client.user):
        browser = _browser(user)
        assert browser.get(_detail(submission)).status_code == 404
        assert browser.post(_detail(submission), {"step": "take"}).status_code == 404
    # Staff who do not see the client leave a trace in her trail (a client is no staff
    # member at all and is turned away before any form is looked up).
    assert AuditEntry.objects.filter(
        action="eforms.access_denied", actor_id=other_case_manager.pk, client_id=own_client.pk
    ).exists()
    assert FormSubmission.objects.get(pk=submission.pk).status == SubmissionStatus.RECEIVED


def test_a_draft_is_not_a_staff_page(case_manager, own_client):
    draft = f.submission(own_client, status=SubmissionStatus.DRAFT)
    assert _browser(case_manager).get(_detail(draft)).status_code == 404


def test_the_team_lead_reads_without_buttons(team_lead, own_client):
    submission = f.submission(own_client)
    page = _main(_browser(team_lead).get(_detail(submission)))
    assert "Ortsabwesenheit beantragen" in page
    assert "data-step=" not in page
    assert _browser(team_lead).post(_detail(submission), {"step": "take"}).status_code == 404


@pytest.mark.parametrize("status", [s for s in SubmissionStatus if s != SubmissionStatus.DRAFT])
def test_every_button_shown_is_a_step_that_succeeds(case_manager, own_client, status):
    submission = f.submission(own_client, status=status)
    browser = _browser(case_manager)
    page = _main(browser.get(_detail(submission)))
    for step in re.findall(r'data-step="([a-z_]+)"', page):
        FormSubmission.objects.filter(pk=submission.pk).update(
            status=status, outcome="", closed_at=None
        )
        data = {"step": step, "note": "Lohnzettel", "text": "Danke", "reason": "Grund"}
        if step in ("approve", "refuse"):
            outcome = "approved" if step == "approve" else "refused"
            data = {"step": "decide", "outcome": outcome, "reason": "Grund"}
        response = browser.post(_detail(submission), data)
        assert response.status_code == 302, (status, step, response.status_code)


def test_the_steps_through_the_page(case_manager, own_client):
    submission = f.submission(own_client)
    browser = _browser(case_manager)

    assert browser.post(_detail(submission), {"step": "take"}).status_code == 302
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.IN_PROGRESS

    missing = browser.post(_detail(submission), {"step": "needs_more", "note": " "})
    assert missing.status_code == 400
    assert 'aria-invalid="true"' in _main(missing)
    assert "Please fill in this field." in _main(missing)

    refused = browser.post(
        _detail(submission), {"step": "decide", "outcome": "refused", "reason": ""}
    )
    assert refused.status_code == 400
    assert FormSubmission.objects.get(pk=submission.pk).status == SubmissionStatus.IN_PROGRESS

    answer = browser.post(_detail(submission), {"step": "answer", "text": "Wir prüfen es."})
    assert answer.status_code == 302
    assert Message.objects.filter(conversation__client=own_client).count() == 1

    approved = browser.post(
        _detail(submission), {"step": "decide", "outcome": "approved", "reason": "Gute Reise"}
    )
    assert approved.status_code == 302
    page = _main(browser.get(_detail(submission)))
    assert "The request was approved." in page
    assert 'id="submission-outcome"' in page and "Gute Reise" in page
    assert 'data-step="answer"' in page and 'data-step="take"' not in page


def test_a_step_on_a_form_that_moved_on_says_why_on_top(case_manager, own_client):
    submission = f.submission(own_client, status=SubmissionStatus.DONE)
    response = _browser(case_manager).post(
        _detail(submission), {"step": "needs_more", "note": "Mein langer Text"}
    )
    assert response.status_code == 400
    page = _main(response)
    assert 'id="step-error"' in page and "This form is done already." in page


def test_the_client_page_has_a_forms_section(case_manager, own_client, foreign_client):
    submission = f.submission(own_client)
    f.submission(foreign_client)

    page = _main(_browser(case_manager).get(reverse("clients:detail", args=[own_client.pk])))

    assert 'id="client-forms"' in page
    assert _detail(submission) in page
    assert "Ortsabwesenheit beantragen" in page


def test_form_events_are_in_the_client_timeline(case_manager, own_client):
    from sprechstunde.eforms.services import staff

    submission = f.submission(own_client)
    staff.submission_take(actor=case_manager, submission=submission)
    browser = _browser(case_manager)

    page = _main(browser.get(reverse("clients:detail", args=[own_client.pk]), {"art": "form"}))

    assert "Form sent: Ortsabwesenheit beantragen" in page
    assert "Form taken: Ortsabwesenheit beantragen" in page
    assert _detail(submission) in page
