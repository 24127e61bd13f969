"""Pages of document requests and the staff documents list, through the test client: what
each role sees, what a form post changes, and that everything is audited without content."""

import datetime
import io
import zipfile

import pytest
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import Consent
from sprechstunde.documents.choices import DocumentStatus, RequestStatus, ScanStatus
from sprechstunde.documents.factories import DocumentRequestFactory
from sprechstunde.documents.models import DocumentRequest
from sprechstunde.documents.tests.test_export import stored_document
from sprechstunde.messaging.factories import portal_client_create

pytestmark = pytest.mark.django_db


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def client_record(case_manager):
    return portal_client_create(case_manager=case_manager, email="kundin@example.org")


@pytest.fixture
def client():
    """A browser that asks for English pages (the assertions read the English msgids)."""
    return WebClient(headers={"accept-language": "en"})


@pytest.fixture
def staff_browser(client, case_manager):
    client.force_login(case_manager)
    return client


def documents_url(client_record) -> str:
    return reverse("documents:client_documents", kwargs={"client_pk": client_record.pk})


# --- The documents list of a client ----------------------------------------------------------


def test_case_manager_sees_documents_with_status_scan_efile_and_request(
    staff_browser, client_record, django_assert_max_num_queries
):
    answered = DocumentRequestFactory(client=client_record, title="Kontoauszug Mai")
    ready = stored_document(client_record, title="Auszug", request=answered)
    stored_document(
        client_record,
        title="Verdächtig",
        status=DocumentStatus.QUARANTINED,
        scan_status=ScanStatus.INFECTED,
        scan_detail="Eicar-Test-Signature",
    )
    for number in range(5):
        stored_document(client_record, title=f"Seite {number}")

    staff_browser.get(documents_url(client_record))  # the session's first request does more
    with django_assert_max_num_queries(30):
        response = staff_browser.get(documents_url(client_record))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Kontoauszug Mai" in page and "Auszug" in page
    assert f'id="dokument-{ready.pk}"' in page and f'href="#anforderung-{answered.pk}"' in page
    assert "Virus found" in page and "Eicar-Test-Signature" in page
    assert "No virus found" in page
    assert f'data-efile-mark="{ready.pk}"' in page
    assert "data-export" in page and 'id="request-form"' in page
    assert AuditEntry.objects.filter(action="document.list", client_id=client_record.pk).exists()
    assert AuditEntry.objects.filter(action="document_request.list").exists()


def test_the_query_count_does_not_grow_with_the_list(staff_browser, client_record):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stored_document(client_record, request=DocumentRequestFactory(client=client_record))
    staff_browser.get(documents_url(client_record))  # the session's first request does more
    with CaptureQueriesContext(connection) as few:
        staff_browser.get(documents_url(client_record))
    for number in range(10):
        request = DocumentRequestFactory(client=client_record, title=f"R{number}")
        stored_document(client_record, title=f"D{number}", request=request)
    with CaptureQueriesContext(connection) as many:
        staff_browser.get(documents_url(client_record))

    assert len(many) == len(few)


def test_team_lead_reads_but_gets_no_forms(client, team_lead, client_record):
    stored_document(client_record)
    DocumentRequestFactory(client=client_record)
    client.force_login(team_lead)

    response = client.get(documents_url(client_record))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="request-form"' not in page and "data-export" not in page
    assert "data-efile-mark" not in page and "data-cancel-request" not in page
    assert (
        client.post(documents_url(client_record), {"title": "X", "due_on": days(3)}).status_code
        == 404
    )
    assert not DocumentRequest.objects.filter(title="X").exists()


def test_another_case_manager_gets_404_and_the_refusal_is_audited(
    client, other_case_manager, client_record
):
    client.force_login(other_case_manager)

    response = client.get(documents_url(client_record))

    assert response.status_code == 404
    denial = AuditEntry.objects.get(action="client.access_denied")
    assert (denial.actor_id, denial.client_id) == (other_case_manager.pk, client_record.pk)
    assert not AuditEntry.objects.filter(action="document.list").exists()


@pytest.mark.parametrize("role", ["admin_user", "dpo"])
def test_admins_and_dpos_are_refused(client, request, role, client_record):
    client.force_login(request.getfixturevalue(role))

    assert client.get(documents_url(client_record)).status_code == 404
    assert is_other_role_response(client.get(reverse("documents:requests_overdue")))


# --- Requesting a document ------------------------------------------------------------------------


def test_posting_the_form_requests_a_document(
    staff_browser, client_record, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_browser.post(
            documents_url(client_record),
            {"title": "Lohnabrechnung März", "due_on": days(10).isoformat(), "note": "Alle Seiten"},
        )

    assert response.status_code == 302
    assert response["Location"].endswith("#anforderungen")
    made = DocumentRequest.objects.get()
    assert (made.title, made.due_on, made.note) == ("Lohnabrechnung März", days(10), "Alle Seiten")
    page = staff_browser.get(response["Location"]).content.decode()
    assert "The document has been requested." in page
    assert f'data-request-id="{made.pk}" data-status="open"' in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "X", "due_on": "2001-01-01"}, "The due date cannot be in the past."),
        ({"title": "X", "due_on": "31.02.2031"}, "Please enter a valid date."),
        ({"title": "X", "due_on": ""}, "Please enter a due date."),
        ({"title": "", "due_on": "2099-01-01"}, "Please say which document you need."),
        ({"title": "X", "due_on": "2099-01-01"}, "The due date must be within one year"),
    ],
)
def test_bad_form_input_shows_a_message_and_keeps_the_input(
    staff_browser, client_record, data, message
):
    response = staff_browser.post(documents_url(client_record), {**data, "note": "Bleibt stehen"})

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "Bleibt stehen" in page
    assert not DocumentRequest.objects.exists()


def test_a_notice_says_when_the_client_does_not_use_the_portal(staff_browser, case_manager):
    offline = ClientFactory(case_manager=case_manager)

    page = staff_browser.get(documents_url(offline)).content.decode()

    assert "does not use the portal" in page


def test_withdrawing_a_request(staff_browser, client_record):
    made = DocumentRequestFactory(client=client_record)
    url = reverse("documents:request_cancel", kwargs={"pk": made.pk})

    assert staff_browser.get(url).status_code == 405
    response = staff_browser.post(url)

    assert response.status_code == 302
    made.refresh_from_db()
    assert made.status == RequestStatus.CANCELLED
    again = staff_browser.post(url, follow=True)
    assert "This request is no longer open." in again.content.decode()


def test_withdrawing_anothers_request_is_404_and_audited(client, other_case_manager, client_record):
    made = DocumentRequestFactory(client=client_record)
    client.force_login(other_case_manager)

    response = client.post(reverse("documents:request_cancel", kwargs={"pk": made.pk}))

    assert response.status_code == 404
    made.refresh_from_db()
    assert made.status == RequestStatus.OPEN
    denial = AuditEntry.objects.get(action="document_request.access_denied")
    assert denial.client_id == client_record.pk


# --- The e-file mark ------------------------------------------------------------------------------


def test_marking_and_unmarking_for_the_efile_is_audited(staff_browser, case_manager, client_record):
    document = stored_document(client_record)
    url = reverse("documents:efile_mark", kwargs={"pk": document.pk})

    response = staff_browser.post(url, {"in_efile": "1"})

    assert response.status_code == 302
    assert response["Location"].endswith(f"#dokument-{document.pk}")
    document.refresh_from_db()
    assert document.is_in_efile and document.efile_marked_by == case_manager
    assert document.efile_marked_at is not None
    assert staff_browser.post(url, {"in_efile": "1"}).status_code == 302  # twice: no change
    assert AuditEntry.objects.filter(action="document.efile_mark").count() == 1

    staff_browser.post(url, {"in_efile": "0"})

    document.refresh_from_db()
    assert not document.is_in_efile and document.efile_marked_by is None
    entry = AuditEntry.objects.get(action="document.efile_unmark")
    assert (entry.client_id, entry.target_id) == (client_record.pk, str(document.pk))


def test_a_quarantined_document_cannot_go_into_the_efile(staff_browser, client_record):
    document = stored_document(
        client_record, status=DocumentStatus.QUARANTINED, scan_status=ScanStatus.INFECTED
    )

    response = staff_browser.post(
        reverse("documents:efile_mark", kwargs={"pk": document.pk}), {"in_efile": "1"}, follow=True
    )

    assert "Only documents that passed the virus check" in response.content.decode()
    document.refresh_from_db()
    assert not document.is_in_efile


def test_a_forged_efile_value_changes_nothing(staff_browser, client_record):
    document = stored_document(client_record)

    response = staff_browser.post(
        reverse("documents:efile_mark", kwargs={"pk": document.pk}),
        {"in_efile": "yes"},
        follow=True,
    )

    assert "Please use the buttons on the page." in response.content.decode()
    document.refresh_from_db()
    assert not document.is_in_efile


@pytest.mark.parametrize("who", ["other_case_manager", "team_lead"])
def test_others_cannot_mark(client, request, who, client_record):
    document = stored_document(client_record)
    client.force_login(request.getfixturevalue(who))

    response = client.post(
        reverse("documents:efile_mark", kwargs={"pk": document.pk}), {"in_efile": "1"}
    )

    assert response.status_code == 404
    document.refresh_from_db()
    assert not document.is_in_efile


# --- The export -----------------------------------------------------------------------------------


def test_export_downloads_a_zip(staff_browser, client_record):
    stored_document(client_record, title="Auszug")
    url = reverse("documents:client_export", kwargs={"client_pk": client_record.pk})

    assert staff_browser.get(url).status_code == 405
    response = staff_browser.post(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"]
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == ["001-Auszug.pdf", "manifest.json", "manifest.csv"]
    assert AuditEntry.objects.filter(action="document.export").count() == 1


def test_export_without_checked_documents_explains_why(staff_browser, client_record):
    stored_document(client_record, status=DocumentStatus.PROCESSING, scan_status="pending")

    response = staff_browser.post(
        reverse("documents:client_export", kwargs={"client_pk": client_record.pk}), follow=True
    )

    assert "There are no checked documents to export yet." in response.content.decode()


# --- Overdue requests -----------------------------------------------------------------------------


def test_overdue_page_lists_the_caseloads_overdue_requests(
    client, team_lead, other_case_manager, client_record
):
    overdue = DocumentRequestFactory(client=client_record, title="Mietvertrag", due_on=days(-1))
    DocumentRequestFactory(client=client_record, title="Noch Zeit", due_on=days(3))
    DocumentRequestFactory(
        client=ClientFactory(case_manager=other_case_manager), title="Fremd", due_on=days(-4)
    )
    client.force_login(team_lead)

    response = client.get(reverse("documents:requests_overdue"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Mietvertrag" in page and f'data-request-id="{overdue.pk}"' in page
    assert "Noch Zeit" not in page and "Fremd" not in page
    assert AuditEntry.objects.filter(action="document_request.list_overdue").count() == 1


# --- The client portal ----------------------------------------------------------------------------


def test_client_sees_open_requests_with_a_link_to_send(client, client_record, case_manager):
    mine = DocumentRequestFactory(client=client_record, title="Lohnabrechnung März", note="Alle")
    done = DocumentRequestFactory(client=client_record, title="Ausweis")
    DocumentRequest.objects.filter(pk=done.pk).update(
        status=RequestStatus.FULFILLED, fulfilled_at=timezone.now()
    )
    other = portal_client_create(case_manager=case_manager, email="andere@example.org")
    DocumentRequestFactory(client=other, title="Fremde Anforderung")
    client.force_login(client_record.user)

    response = client.get(reverse("documents:portal_requests"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Lohnabrechnung März" in page and "Alle" in page and "Ausweis" in page
    assert "Fremde Anforderung" not in page
    assert f'data-request-id="{mine.pk}"' in page
    assert AuditEntry.objects.filter(
        action="document_request.list", actor_id=client_record.user.pk
    ).exists()


def test_client_without_portal_consent_gets_the_consent_page(client, client_record):
    Consent.objects.filter(client=client_record).update(withdrawn_at=timezone.now())
    client.force_login(client_record.user)

    assert client.get(reverse("documents:portal_requests")).status_code == 403


def test_staff_get_the_other_role_page_on_the_portal_page(staff_browser):
    assert is_other_role_response(staff_browser.get(reverse("documents:portal_requests")))


def test_the_portal_home_shows_how_many_documents_are_asked_for(client, client_record):
    DocumentRequestFactory(client=client_record)
    DocumentRequestFactory(client=client_record)
    client.force_login(client_record.user)

    page = client.get(reverse("clients:portal_home")).content.decode()

    assert 'id="document-requests-tile"' in page
    assert "Your Jobcenter asks you for 2 documents." in page


def test_the_client_page_links_to_the_documents(staff_browser, client_record):
    page = staff_browser.get(reverse("clients:detail", kwargs={"pk": client_record.pk}))

    assert documents_url(client_record) in page.content.decode()


def test_staff_navigation_links_to_overdue_requests(staff_browser):
    page = staff_browser.get(reverse("clients:list")).content.decode()

    assert reverse("documents:requests_overdue") in page
