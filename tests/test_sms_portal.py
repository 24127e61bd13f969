"""SMS for clients without e-mail (issue 13, point 8; ADR 0072): the invitation, the login
code and the "something new in the portal" notices, all through the local gateway."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.accounts.login_budget import (
    login_budget_key,
    login_budget_key_for_user,
    login_pause_active,
)
from sprechstunde.accounts.models import User
from sprechstunde.clients import mails
from sprechstunde.clients import services as client_services
from sprechstunde.clients.choices import ConsentPurpose, InvitationChannel
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import ConsentText, Invitation
from sprechstunde.core.models import SmsMessage
from sprechstunde.core.sms import MAX_ATTEMPTS, REDACTED, sms_deliver
from sprechstunde.core.sms_gateway import SmsError
from sprechstunde.core.testing.sms_gateway import LocalSmsGateway
from sprechstunde.messaging import services as messaging_services

from .test_sms import SENSITIVE

pytestmark = pytest.mark.django_db

NUMBER = "+491701234567"
REQUEST_CODE = reverse("account_request_login_code")
CONFIRM_CODE = reverse("account_confirm_login_code")


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate limits and login budgets live in the cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def gateway(settings):
    with LocalSmsGateway() as local:
        settings.SMS_GATEWAY_URL = local.url
        settings.SMS_GATEWAY_TOKEN = "gw-token"
        yield local


@pytest.fixture
def case_manager():
    return CaseManagerFactory()


def _sms_only_client(case_manager, **extra):
    return ClientFactory(
        case_manager=case_manager,
        email="",
        mobile_number=NUMBER,
        first_name=SENSITIVE["first_name"],
        last_name=SENSITIVE["last_name"],
        **extra,
    )


def _texts(gateway):
    return [request["body"]["text"] for request in gateway.accepted()]


def _no_social_data(text):
    for value in SENSITIVE.values():
        assert value not in text


def _portal_client(case_manager, gateway, capture, *, language="uk"):
    """An SMS-only client invited by SMS who accepted: her token comes from the gateway."""
    client = _sms_only_client(case_manager, preferred_language=language)
    with capture(execute=True):
        client_services.invitation_send(client=client, actor=case_manager)
    (text,) = _texts(gateway)
    token = re.search(r"/([A-Za-z0-9_-]{20,})/?\s*$", text).group(1)
    client_services.invitation_accept(
        token=token, purposes=[ConsentPurpose.PORTAL], language=language
    )
    client.refresh_from_db()
    return client


# --- the invitation ----------------------------------------------------------------------------


def test_a_client_without_email_is_invited_by_sms_with_a_working_link(
    gateway, case_manager, django_capture_on_commit_callbacks
):
    client = _sms_only_client(case_manager, preferred_language="ar")
    with django_capture_on_commit_callbacks(execute=True):
        issued = client_services.invitation_send(client=client, actor=case_manager)
    (request,) = gateway.accepted()
    assert request["body"]["to"] == NUMBER
    text = request["body"]["text"]
    assert issued.url in text
    assert re.search(r"[\u0600-\u06ff]", text), "the text is in the client's language"
    _no_social_data(text)
    invitation = Invitation.objects.get()
    assert invitation.channel == InvitationChannel.SMS
    assert invitation.sms.state == SmsMessage.State.SENT
    # The token lives in memory and in the message only: the outbox keeps no copy.
    assert invitation.sms.text == REDACTED
    assert issued.token not in SmsMessage.objects.get().text

    accepted = client_services.invitation_accept(
        token=issued.token, purposes=[ConsentPurpose.PORTAL], language="ar"
    )
    assert accepted.user is not None
    assert accepted.user.email is None
    assert accepted.user.preferred_language == "ar"


def test_staff_are_told_the_invitation_went_by_sms(
    gateway, case_manager, client, django_capture_on_commit_callbacks
):
    sms_client = _sms_only_client(case_manager)
    client.force_login(case_manager)
    detail = reverse("clients:detail", args=[sms_client.pk])
    assert "Einladung per SMS senden" in client.get(detail).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("clients:invitation_send", args=[sms_client.pk]), follow=True
        )
    page = response.content.decode()
    assert "Die Einladung wurde per SMS an die Handynummer geschickt." in page
    assert "Die Einladung wurde per E-Mail gesendet." not in page
    # Once the gateway took it, the page says so.
    assert "SMS verschickt" not in page
    assert "SMS verschickt" in client.get(detail).content.decode()


def test_an_invitation_sms_the_gateway_never_takes_shows_as_failed(gateway, case_manager, client):
    gateway.status = 503
    sms_client = _sms_only_client(case_manager)
    issued = client_services.invitation_send(client=sms_client, actor=case_manager)
    # What the task does after commit, and then its retries, until it gives up.
    assert mails.invitation_sms_send(invitation_id=issued.invitation.pk, token=issued.token)
    message = SmsMessage.objects.get()
    for _attempt in range(MAX_ATTEMPTS - 1):
        with pytest.raises(SmsError):
            sms_deliver(sms_id=message.pk)
    assert sms_deliver(sms_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.text == REDACTED
    client.force_login(case_manager)
    page = client.get(reverse("clients:detail", args=[sms_client.pk])).content.decode()
    assert "die SMS konnte nicht verschickt werden" in page


def test_a_number_another_portal_account_uses_cannot_be_invited(
    gateway, case_manager, django_capture_on_commit_callbacks
):
    _portal_client(case_manager, gateway, django_capture_on_commit_callbacks)
    twin = ClientFactory(case_manager=case_manager, email="", mobile_number=NUMBER)
    with pytest.raises(client_services.ApplicationError) as error:
        client_services.invitation_send(client=twin, actor=case_manager)
    assert "mobile number" in str(error.value.message)


# --- the login code ----------------------------------------------------------------------------


def test_a_client_without_email_logs_in_with_a_code_sent_by_sms(
    gateway, case_manager, client, django_capture_on_commit_callbacks
):
    sms_client = _portal_client(case_manager, gateway, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REQUEST_CODE, {"phone": "0170 1234567"})
    assert response.status_code == 302 and response["Location"] == CONFIRM_CODE
    texts = _texts(gateway)
    assert len(texts) == 2
    code_text = texts[1]
    _no_social_data(code_text)
    assert re.search(r"[\u0400-\u04ff]", code_text), "Ukrainian, the client's language"
    (code,) = re.findall(r"(?<!\d)\d{6}(?!\d)", code_text)
    assert code not in SmsMessage.objects.order_by("-pk").first().text

    page = client.get(CONFIRM_CODE).content.decode()
    assert "Code aus der SMS" in page

    confirmed = client.post(CONFIRM_CODE, {"code": code})
    assert confirmed.status_code == 302
    assert client.session.get(SESSION_KEY) == str(sms_client.user_id)
    assert client.get(reverse("clients:portal_home")).status_code == 200


def test_an_unknown_number_gets_the_same_answer_and_no_sms(
    gateway, case_manager, django_capture_on_commit_callbacks
):
    _portal_client(case_manager, gateway, django_capture_on_commit_callbacks)
    pages = []
    for number in ("0170 1234567", "0171 7654321"):
        browser = WebClient()
        with django_capture_on_commit_callbacks(execute=True):
            response = browser.post(REQUEST_CODE, {"phone": number})
        assert response.status_code == 302 and response["Location"] == CONFIRM_CODE
        page = browser.get(CONFIRM_CODE).content.decode()
        for shown in ("+491701234567", "+491717654321"):
            page = page.replace(shown, "NUMBER")
        pages.append(re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page))
    assert pages[0] == pages[1]
    # The invitation and one code for the known number; nothing for the unknown one.
    assert [r["body"]["to"] for r in gateway.accepted()] == [NUMBER, NUMBER]


@pytest.mark.parametrize("typed", ["12345", "0170", "030 1234567", "+49 abc"])
def test_an_invalid_number_gets_a_clear_error(gateway, client, typed):
    response = client.post(REQUEST_CODE, {"phone": typed})
    assert response.status_code == 200
    # German, the page's language; the sentence says how to write the number.
    assert response.context["form"].errors["phone"] == [
        "Das ist keine gültige Handynummer. Bitte schreiben Sie sie so: 0170 1234567 "
        "oder +49 170 1234567."
    ]
    assert gateway.requests == []


def test_codes_by_sms_share_the_account_budget_and_the_request_limit(
    settings, gateway, case_manager, client, django_capture_on_commit_callbacks
):
    sms_client = _portal_client(case_manager, gateway, django_capture_on_commit_callbacks)
    account = sms_client.user
    assert login_budget_key(phone=NUMBER) == login_budget_key_for_user(user=account)
    # allauth's limit on code requests holds per number: 3 in 10 minutes.
    for _attempt in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(REQUEST_CODE, {"phone": NUMBER}).status_code == 302
        client.logout()
    fourth = client.post(REQUEST_CODE, {"phone": NUMBER})
    assert fourth.status_code == 200
    assert "zu viele Codes" in fourth.context["form"].errors["phone"][0]
    assert len(gateway.accepted()) == 1 + 3

    # Wrong codes count against the account's failure budget; at its end sign-in pauses.
    settings.LOGIN_FAILURE_BUDGET = 2
    settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 5
    cache.clear()
    browser = WebClient()
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(REQUEST_CODE, {"phone": NUMBER})
    (code,) = re.findall(r"(?<!\d)\d{6}(?!\d)", _texts(gateway)[-1])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with django_capture_on_commit_callbacks(execute=True):
        for _guess in range(3):
            browser.post(CONFIRM_CODE, {"code": wrong})
    assert login_pause_active(key=login_budget_key_for_user(user=account))
    # She is told by SMS, as a client with e-mail is told by mail: no code, no link.
    notice = gateway.accepted()[-1]["body"]
    assert notice["to"] == NUMBER
    assert SmsMessage.objects.filter(kind="login_paused").count() == 1
    assert not re.search(r"(?<!\d)\d{6}(?!\d)", notice["text"])
    assert "http" not in notice["text"]
    sent = len(gateway.accepted())
    with django_capture_on_commit_callbacks(execute=True):
        assert WebClient().post(REQUEST_CODE, {"phone": NUMBER}).status_code == 302
    assert len(gateway.accepted()) == sent, "no code is sent while sign-in is paused"


def test_without_a_gateway_the_code_form_asks_for_the_e_mail_only(client, settings):
    settings.SMS_GATEWAY_URL = ""
    page = client.get(REQUEST_CODE).content.decode()
    assert 'name="phone"' not in page
    assert 'name="email"' in page


# --- notices -----------------------------------------------------------------------------------


def test_a_new_message_is_announced_by_sms_without_content(
    gateway, case_manager, django_capture_on_commit_callbacks
):
    sms_client = _portal_client(case_manager, gateway, django_capture_on_commit_callbacks)
    conversation = messaging_services.conversation_get_or_create(client=sms_client)
    message = messaging_services.message_send(
        conversation=conversation,
        sender=case_manager,
        body=SENSITIVE["text"],
        client_msg_id=str(uuid.uuid4()),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert messaging_services.message_notice_deliver(message_id=message.pk) == "sent"
    request = gateway.accepted()[-1]
    assert request["body"]["to"] == NUMBER
    assert reverse("messaging:portal") in request["body"]["text"]
    _no_social_data(request["body"]["text"])


def test_a_restricted_client_gets_no_notice_by_sms(
    gateway, case_manager, django_capture_on_commit_callbacks
):
    from sprechstunde.documents.services import requests as document_requests

    sms_client = _portal_client(case_manager, gateway, django_capture_on_commit_callbacks)
    conversation = messaging_services.conversation_get_or_create(client=sms_client)
    message = messaging_services.message_send(
        conversation=conversation,
        sender=case_manager,
        body="Hallo",
        client_msg_id=str(uuid.uuid4()),
    )
    # Restricted after the message was written, before its notice goes out.
    sms_client.processing_restricted_at = timezone.now()
    sms_client.save(update_fields=["processing_restricted_at"])
    sent = len(gateway.accepted())
    with django_capture_on_commit_callbacks(execute=True):
        assert messaging_services.message_notice_deliver(message_id=message.pk) == "no recipient"
    from sprechstunde.agreements.services.common import client_notice_send

    assert not client_notice_send(
        client=sms_client, kind="document", path_name="agreements:portal", dedupe_key=None
    )
    assert not document_requests.client_uses_portal(client=sms_client)
    assert len(gateway.accepted()) == sent


def test_a_new_document_is_announced_by_sms(
    gateway, case_manager, django_capture_on_commit_callbacks
):
    from sprechstunde.agreements.services.common import client_notice_send

    sms_client = _portal_client(case_manager, gateway, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_notice_send(
            client=sms_client, kind="document", path_name="agreements:portal", dedupe_key="d:1"
        )
    text = gateway.accepted()[-1]["body"]["text"]
    assert reverse("agreements:portal") in text
    _no_social_data(text)


# --- the number on the record ----------------------------------------------------------------


def _update(client, actor, **changes):
    values = {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "email": client.email,
        "mobile_number": client.mobile_number,
        "preferred_language": client.preferred_language,
        **changes,
    }
    return client_services.client_update(client=client, actor=actor, **values)


def test_a_new_number_revokes_the_invitation_sent_to_the_old_one(
    gateway, case_manager, django_capture_on_commit_callbacks
):
    sms_client = _sms_only_client(case_manager)
    with django_capture_on_commit_callbacks(execute=True):
        issued = client_services.invitation_send(client=sms_client, actor=case_manager)
    _update(sms_client, case_manager, mobile_number="0171 7654321")
    issued.invitation.refresh_from_db()
    assert issued.invitation.revoked_at is not None


def test_the_number_an_sms_login_uses_stays_and_no_address_is_slipped_in(
    gateway, case_manager, django_capture_on_commit_callbacks
):
    sms_client = _portal_client(case_manager, gateway, django_capture_on_commit_callbacks)
    # Without the number nothing would be left to reach her or to log in with.
    with pytest.raises(client_services.ApplicationError):
        _update(sms_client, case_manager, mobile_number="")
    with pytest.raises(client_services.ApplicationError) as added:
        _update(sms_client, case_manager, email="someone@example.org")
    assert added.value.field == "email"
    sms_client.refresh_from_db()
    assert (sms_client.email, sms_client.mobile_number) == ("", NUMBER)


def test_the_whole_way_from_the_sms_link_to_the_portal_by_sms_code(
    gateway, case_manager, client, django_capture_on_commit_callbacks
):
    from sprechstunde.clients.models import ConsentText

    sms_client = _sms_only_client(case_manager, preferred_language="tr")
    with django_capture_on_commit_callbacks(execute=True):
        client_services.invitation_send(client=sms_client, actor=case_manager)
    link = re.search(r"https?://\S+", _texts(gateway)[0]).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    shown = {
        f"text_{text.purpose}": text.pk
        for text in ConsentText.objects.filter(language="tr", version=1)
    }
    accepted = client.post(f"/{path}", {"consent_portal": "on", **shown}, follow=True)
    page = accepted.content.decode()
    # The page after consent names her number and asks for the code by SMS, in Turkish.
    assert NUMBER in page
    assert 'name="phone"' in page
    assert "SMS ile 6 haneli bir kod" in page
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(REQUEST_CODE, {"phone": NUMBER})
    assert asked["Location"] == CONFIRM_CODE
    (code,) = re.findall(r"(?<!\d)\d{6}(?!\d)", _texts(gateway)[-1])
    home = client.post(CONFIRM_CODE, {"code": code}, follow=True)
    assert home.redirect_chain[-1][0] == reverse("clients:portal_home")
    sms_client.refresh_from_db()
    assert client.session.get(SESSION_KEY) == str(sms_client.user_id)


# --- a client invited by letter gives her own mobile number -----------------------------------


def test_a_client_invited_by_letter_gives_her_mobile_number_and_gets_the_code_by_sms(
    gateway, case_manager, client, django_capture_on_commit_callbacks
):
    record = ClientFactory(case_manager=case_manager, email="", mobile_number="")
    issued = client_services.invitation_letter_issue(client=record, actor=case_manager)
    link = reverse("clients:invitation_accept", kwargs={"token": issued.token})
    assert 'name="mobile_number"' in client.get(link).content.decode()
    texts = {
        f"text_{text.purpose}": str(text.pk)
        for text in ConsentText.objects.filter(language=record.preferred_language, version=1)
    }
    taken = _sms_only_client(case_manager)
    taken.user = User.objects.create_user(None, role=Role.CLIENT)  # logs in with this number
    taken.save()
    refused = client.post(link, {"consent_portal": "on", "mobile_number": "0170 1234567", **texts})
    assert refused.status_code == 400
    record.refresh_from_db()
    assert (record.mobile_number, record.user_id) == ("", None)
    assert (
        client.post(
            link, {"consent_portal": "on", "mobile_number": "0301234567", **texts}
        ).status_code
        == 400
    )

    accepted = client.post(link, {"consent_portal": "on", "mobile_number": "0171 7654321", **texts})
    assert accepted.status_code == 302
    record.refresh_from_db()
    assert record.mobile_number == "+491717654321" and record.email == ""
    assert record.user is not None and not record.user.email
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REQUEST_CODE, {"phone": "0171 7654321"})
    assert response.status_code == 302 and response["Location"] == CONFIRM_CODE
    [code_text] = _texts(gateway)
    (code,) = re.findall(r"(?<!\d)\d{6}(?!\d)", code_text)
    assert client.post(CONFIRM_CODE, {"code": code}).status_code == 302
    assert client.session.get(SESSION_KEY) == str(record.user_id)
