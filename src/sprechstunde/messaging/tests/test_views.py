"""The conversation pages through the test client: they work without JavaScript (a plain
form post), answer 404 outside the access rules, and carry no inline script or style."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import reverse

from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import Consent
from sprechstunde.messaging import services
from sprechstunde.messaging.choices import MESSAGE_MAX_LENGTH
from sprechstunde.messaging.factories import portal_client_create
from sprechstunde.messaging.models import Conversation, Message, ReadState

from .conftest import browser_for

pytestmark = pytest.mark.django_db

MSG_ID_RE = re.compile(r'name="client_msg_id" value="([0-9a-f-]{36})"')


def staff_url(client):
    return reverse("messaging:client_conversation", kwargs={"client_pk": client.pk})


PORTAL_URL = "/nachrichten/portal/"


def send(conversation, sender, body="Hallo"):
    return services.message_send(
        conversation=conversation, sender=sender, body=body, client_msg_id=uuid.uuid4()
    )


def form_message_id(response) -> str:
    found = MSG_ID_RE.search(response.content.decode())
    assert found, "the form must carry a client_msg_id made by the server"
    return found.group(1)


def assert_no_inline_code(html: str) -> None:
    """CSP without 'unsafe-inline': no inline scripts, style elements or style attributes."""
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html)
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


# --- staff ------------------------------------------------------------------------------------


def test_the_case_manager_sees_the_conversation_and_it_counts_as_read(
    conversation, portal_client, case_manager
):
    send(conversation, portal_client.user, "Brauche ich den Mietvertrag?")
    browser = browser_for(case_manager)

    response = browser.get(staff_url(portal_client))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Brauche ich den Mietvertrag?" in html
    assert f'data-ws-path="/ws/nachrichten/{conversation.pk}/"' in html
    assert 'data-last-sequence="1"' in html
    assert "messaging/chat.js" in html
    form_message_id(response)
    assert_no_inline_code(html)
    assert ReadState.objects.get(user=case_manager).last_read_sequence == 1
    assert AuditEntry.objects.filter(
        action="conversation.view", actor_id=case_manager.pk, client_id=portal_client.pk
    ).exists()


def test_the_page_starts_the_conversation_when_there_is_none(portal_client, case_manager):
    response = browser_for(case_manager).get(staff_url(portal_client))

    assert response.status_code == 200
    assert Conversation.objects.filter(client=portal_client).count() == 1
    assert "No messages yet." in response.content.decode()


def test_the_case_manager_sends_a_message_by_plain_form_post(portal_client, case_manager):
    browser = browser_for(case_manager)
    page = browser.get(staff_url(portal_client))
    message_id = form_message_id(page)

    response = browser.post(
        staff_url(portal_client), {"body": "Termin am Montag?", "client_msg_id": message_id}
    )

    assert response.status_code == 302
    assert response["Location"] == staff_url(portal_client) + "#neu"
    message = Message.objects.get()
    assert (message.body, str(message.client_msg_id)) == ("Termin am Montag?", message_id)
    assert message.sender == case_manager
    shown = browser.get(staff_url(portal_client)).content.decode()
    assert "Termin am Montag?" in shown
    assert form_message_id(browser.get(staff_url(portal_client))) != message_id


def test_posting_the_same_form_twice_stores_the_message_once(portal_client, case_manager):
    browser = browser_for(case_manager)
    message_id = form_message_id(browser.get(staff_url(portal_client)))
    data = {"body": "Doppelt gedrückt", "client_msg_id": message_id}

    first = browser.post(staff_url(portal_client), data)
    second = browser.post(staff_url(portal_client), data)

    assert first.status_code == second.status_code == 302
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("", "Please write a message."),
        ("   ", "Please write a message."),
        ("x" * (MESSAGE_MAX_LENGTH + 1), "too long"),
    ],
)
def test_a_bad_message_shows_the_form_again_with_the_reason(
    portal_client, case_manager, body, error
):
    browser = browser_for(case_manager)

    response = browser.post(
        staff_url(portal_client), {"body": body, "client_msg_id": str(uuid.uuid4())}
    )

    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Message.objects.exists()


def test_a_form_without_a_valid_message_id_stores_nothing(portal_client, case_manager):
    response = browser_for(case_manager).post(
        staff_url(portal_client), {"body": "Hallo", "client_msg_id": "x"}
    )

    assert response.status_code == 400
    assert not Message.objects.exists()


def test_staff_see_why_they_cannot_write_to_a_client_without_the_portal(case_manager):
    from sprechstunde.clients.factories import ClientFactory

    offline = ClientFactory(case_manager=case_manager)
    browser = browser_for(case_manager)

    page = browser.get(staff_url(offline))
    response = browser.post(
        staff_url(offline), {"body": "Hallo", "client_msg_id": str(uuid.uuid4())}
    )

    assert "does not use the portal" in page.content.decode()
    assert 'id="chat-form"' not in page.content.decode()
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_a_substitute_reads_and_writes(conversation, portal_client, substitute):
    send(conversation, portal_client.user, "Ist jemand da?")
    browser = browser_for(substitute)

    page = browser.get(staff_url(portal_client))
    response = browser.post(
        staff_url(portal_client), {"body": "Ja, ich vertrete.", "client_msg_id": uuid.uuid4()}
    )

    assert page.status_code == 200
    assert response.status_code == 302
    assert Message.objects.filter(sender=substitute).count() == 1


def test_the_team_lead_reads_without_a_form_and_cannot_post(conversation, portal_client, team_lead):
    send(conversation, portal_client.user, "Frage an das Team")
    browser = browser_for(team_lead)

    page = browser.get(staff_url(portal_client))
    response = browser.post(
        staff_url(portal_client), {"body": "Hallo", "client_msg_id": str(uuid.uuid4())}
    )

    assert page.status_code == 200
    assert "Frage an das Team" in page.content.decode()
    assert 'id="chat-form"' not in page.content.decode()
    assert response.status_code == 404
    assert Message.objects.count() == 1


@pytest.mark.parametrize("role", ["other_case_manager", "admin_user", "dpo"])
def test_another_case_managers_client_is_a_404_for_get_and_post(
    conversation, portal_client, role, request
):
    send(conversation, portal_client.user, "Geheime Frage")
    stranger = request.getfixturevalue(role)
    browser = browser_for(stranger)

    page = browser.get(staff_url(portal_client))
    post = browser.post(
        staff_url(portal_client), {"body": "Hallo", "client_msg_id": str(uuid.uuid4())}
    )

    assert (page.status_code, post.status_code) == (404, 404)
    assert "Geheime Frage" not in page.content.decode()
    assert Message.objects.count() == 1
    assert not ReadState.objects.filter(user=stranger).exists()


def test_a_refused_staff_page_is_audited_naming_the_client(portal_client, other_case_manager):
    browser_for(other_case_manager).get(staff_url(portal_client))

    denial = AuditEntry.objects.get(action="client.access_denied")
    assert (denial.actor_id, denial.client_id) == (other_case_manager.pk, portal_client.pk)
    assert not Conversation.objects.exists()


def test_a_client_cannot_open_the_staff_page_even_for_themself(portal_client):
    response = browser_for(portal_client.user).get(staff_url(portal_client))

    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_the_login(portal_client):
    response = browser_for(None).get(staff_url(portal_client))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_earlier_messages_are_a_link_away(conversation, portal_client, case_manager):
    for n in range(105):
        send(conversation, portal_client.user, f"Nachricht {n + 1}.")
    browser = browser_for(case_manager)

    latest = browser.get(staff_url(portal_client)).content.decode()
    earlier = browser.get(staff_url(portal_client) + "?vor=6").content.decode()

    assert "Nachricht 105." in latest and "Nachricht 6." in latest
    assert "Nachricht 5." not in latest
    assert "?vor=6" in latest
    assert "Nachricht 5." in earlier and "Nachricht 1." in earlier and "Nachricht 6." not in earlier
    # An older page gets no live updates (chat.js stays off) and does not mark anything read.
    assert 'data-last-sequence="-1"' in earlier


# --- read receipts on the page ----------------------------------------------------------------


def test_the_page_shows_sent_and_read_receipts_for_our_side(
    conversation, portal_client, case_manager
):
    send(conversation, case_manager, "Erste")
    send(conversation, case_manager, "Zweite")
    services.conversation_mark_read(
        conversation=conversation, reader=portal_client.user, sequence=1
    )

    html = browser_for(case_manager).get(staff_url(portal_client)).content.decode()

    first = html[html.index('id="nachricht-1"') : html.index('id="nachricht-2"')]
    second = html[html.index('id="nachricht-2"') :]
    assert ">Read<" in first
    assert ">Sent<" in second


# --- the client portal ------------------------------------------------------------------------


def test_the_client_reads_and_writes_in_the_portal(conversation, portal_client, case_manager):
    send(conversation, case_manager, "Bitte Lohnabrechnung schicken")
    browser = browser_for(portal_client.user)

    page = browser.get(PORTAL_URL)
    response = browser.post(
        PORTAL_URL, {"body": "Mache ich morgen", "client_msg_id": form_message_id(page)}
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert "Bitte Lohnabrechnung schicken" in html
    assert case_manager.display_name in html
    assert_no_inline_code(html)
    assert response.status_code == 302
    message = Message.objects.get(sender=portal_client.user)
    assert (message.body, message.sender_side) == ("Mache ich morgen", "client")
    assert ReadState.objects.get(user=portal_client.user).last_read_sequence == 1


def test_the_portal_page_works_on_first_visit(portal_client):
    response = browser_for(portal_client.user).get(PORTAL_URL)

    assert response.status_code == 200
    assert Conversation.objects.filter(client=portal_client).exists()


def test_without_portal_consent_the_portal_page_explains_the_refusal(portal_client):
    Consent.objects.filter(client=portal_client, purpose=ConsentPurpose.PORTAL).delete()
    browser = browser_for(portal_client.user)

    page = browser.get(PORTAL_URL)
    post = browser.post(PORTAL_URL, {"body": "Hallo", "client_msg_id": str(uuid.uuid4())})

    assert (page.status_code, post.status_code) == (403, 403)
    assert not Message.objects.exists()


@pytest.mark.parametrize("role", ["case_manager", "team_lead", "admin_user"])
def test_staff_get_the_other_role_page_on_the_portal_page(role, request):
    assert is_other_role_response(browser_for(request.getfixturevalue(role)).get(PORTAL_URL))


def test_anonymous_visitors_of_the_portal_page_go_to_the_code_login():
    response = browser_for(None).get(PORTAL_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_request_login_code"))


def test_a_client_only_ever_sees_their_own_conversation(
    conversation, portal_client, foreign_client, other_case_manager
):
    foreign = services.conversation_get_or_create(client=foreign_client)
    send(foreign, other_case_manager, "Nur für Fritz")
    send(conversation, portal_client.user, "Von Kim")

    html = browser_for(portal_client.user).get(PORTAL_URL).content.decode()

    assert "Von Kim" in html
    assert "Nur für Fritz" not in html


# --- the staff inbox --------------------------------------------------------------------------


def test_the_inbox_lists_the_caseload_with_unread_counts(
    conversation, portal_client, case_manager, foreign_client, other_case_manager
):
    send(conversation, portal_client.user)
    send(conversation, portal_client.user)
    foreign = services.conversation_get_or_create(client=foreign_client)
    send(foreign, foreign_client.user)

    response = browser_for(case_manager).get(reverse("messaging:inbox"))

    html = response.content.decode()
    assert response.status_code == 200
    assert portal_client.full_name in html
    assert "2 unread" in html
    assert foreign_client.last_name not in html
    assert staff_url(portal_client) in html


def test_the_inbox_needs_the_same_number_of_queries_however_long_it_is(
    case_manager, django_assert_num_queries
):
    browser = browser_for(case_manager)

    def add_conversations(count, start):
        for n in range(count):
            client = portal_client_create(
                case_manager=case_manager, email=f"inbox{start + n}@example.org"
            )
            conversation = services.conversation_get_or_create(client=client)
            send(conversation, client.user)

    add_conversations(1, 0)
    browser.get(reverse("messaging:inbox"))  # warm up sessions and caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        browser.get(reverse("messaging:inbox"))
    add_conversations(6, 100)
    with CaptureQueriesContext(connection) as seven:
        response = browser.get(reverse("messaging:inbox"))

    assert response.content.decode().count("conversation-list__item") == 7
    assert len(seven) == len(one)


def test_a_long_inbox_is_split_into_pages(case_manager, monkeypatch):
    from sprechstunde.messaging import views

    monkeypatch.setattr(views, "INBOX_PAGE_SIZE", 2)
    for n in range(3):
        client = portal_client_create(case_manager=case_manager, email=f"page{n}@example.org")
        send(services.conversation_get_or_create(client=client), client.user)
    browser = browser_for(case_manager)

    first = browser.get(reverse("messaging:inbox")).content.decode()
    second = browser.get(reverse("messaging:inbox"), {"page": 2}).content.decode()

    assert first.count("conversation-list__item") == 2
    assert second.count("conversation-list__item") == 1
    assert "?page=2" in first


@pytest.mark.parametrize("value", ["abc", "-3", "0", "²", "9" * 40])
def test_a_strange_earlier_parameter_shows_the_latest_messages(
    conversation, portal_client, case_manager, value
):
    send(conversation, portal_client.user, "Aktuell")

    response = browser_for(case_manager).get(staff_url(portal_client), {"vor": value})

    assert response.status_code == 200
    assert "Aktuell" in response.content.decode()


def test_a_client_opening_the_inbox_is_sent_to_their_conversation(portal_client):
    response = browser_for(portal_client.user).get(reverse("messaging:inbox"))

    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:portal")


@pytest.mark.parametrize("role", ["admin_user", "dpo"])
def test_admins_and_dpos_have_no_inbox(role, request):
    assert is_other_role_response(browser_for(request.getfixturevalue(role)).get("/nachrichten/"))


def test_the_navigation_link_shows_the_unread_count(conversation, portal_client, case_manager):
    from django.template import Context, Template

    send(conversation, case_manager)
    send(conversation, case_manager)
    template = Template('{% include "messaging/includes/nav_link.html" %}')

    html = template.render(Context({"user": portal_client.user}))

    assert reverse("messaging:portal") in html
    assert re.search(r'badge--unread">2<', html)
