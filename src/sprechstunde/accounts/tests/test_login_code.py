"""Login by a code sent by e-mail: for clients only, 6 digits, 10 minutes, 3 tries, throttled."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from unittest import mock

import pytest
from allauth.account.adapter import get_adapter
from allauth.account.internal.flows import code_verification
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.factories import ClientUserFactory

from .conftest import codes_in_mail

pytestmark = pytest.mark.django_db

REQUEST_CODE = reverse("account_request_login_code")
CONFIRM_CODE = reverse("account_confirm_login_code")


@pytest.fixture
def client_user(db):
    return ClientUserFactory(
        email="klara.klient@example.org", first_name="Klara", last_name="Klient"
    )


def _request_code(client, email):
    return client.post(REQUEST_CODE, {"email": email})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _logged_in(client):
    return client.session.get(SESSION_KEY)


def _comparable(response, email):
    """The page without what must differ: the address typed in and the (masked) CSRF token."""
    html = response.content.decode().replace(email, "ADDRESS")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_a_client_gets_a_six_digit_code_and_logs_in_with_it(client, client_user, outbox):
    response = _request_code(client, client_user.email)

    assert response.status_code == 302
    assert response["Location"] == CONFIRM_CODE
    assert len(outbox) == 1
    codes = codes_in_mail(outbox[0].body)
    assert len(codes) == 1
    assert len(codes[0]) == 6 and codes[0].isdigit()

    confirmed = client.post(CONFIRM_CODE, {"code": codes[0]})

    assert confirmed.status_code == 302
    assert _logged_in(client) == str(client_user.pk)


def test_the_code_mail_holds_only_the_code_and_its_validity(client, client_user, outbox):
    _request_code(client, client_user.email)

    message = outbox[0]
    text = f"{message.subject}\n{message.body}"
    for personal in ("Klara", "Klient", "Jobcenter", client_user.email):
        assert personal not in text
    assert "10" in message.body  # minutes of validity
    assert message.to == [client_user.email]
    assert len(message.subject) < 40


def test_a_staff_address_gets_no_code_and_the_same_answer_as_an_unknown_one(
    client, case_manager, outbox
):
    staff = _request_code(client, case_manager.email)
    staff_page = client.get(CONFIRM_CODE)
    client.logout()
    unknown = _request_code(client, "nobody@example.org")
    unknown_page = client.get(CONFIRM_CODE)

    assert outbox == []
    assert (staff.status_code, staff["Location"]) == (unknown.status_code, unknown["Location"])
    assert staff_page.status_code == unknown_page.status_code == 200
    assert _comparable(staff_page, case_manager.email) == _comparable(
        unknown_page, "nobody@example.org"
    )


def test_no_code_can_open_a_staff_account(client, case_manager, outbox):
    _request_code(client, case_manager.email)

    for guess in ("000000", "123456", ""):
        client.post(CONFIRM_CODE, {"code": guess})

    assert _logged_in(client) is None


def test_two_wrong_codes_still_leave_the_right_one_working(client, client_user, outbox):
    _request_code(client, client_user.email)
    code = codes_in_mail(outbox[0].body)[0]

    for _ in range(2):
        response = client.post(CONFIRM_CODE, {"code": _wrong(code)})
        assert response.status_code == 200
        assert response.context["form"].errors

    client.post(CONFIRM_CODE, {"code": code})
    assert _logged_in(client) == str(client_user.pk)


def test_the_third_wrong_code_voids_the_code_so_even_the_right_one_fails(
    client, client_user, outbox
):
    _request_code(client, client_user.email)
    code = codes_in_mail(outbox[0].body)[0]
    for _ in range(2):
        client.post(CONFIRM_CODE, {"code": _wrong(code)})

    third = client.post(CONFIRM_CODE, {"code": _wrong(code)}, follow=True)

    assert third.redirect_chain[-1][0] == REQUEST_CODE
    with translation.override("de"):
        message = str(get_adapter().error_messages["too_many_login_attempts"])
    assert message in third.content.decode()
    fourth = client.post(CONFIRM_CODE, {"code": code})
    assert fourth.status_code == 302
    assert _logged_in(client) is None


def _clock(offset: float) -> SimpleNamespace:
    real = time.time
    return SimpleNamespace(time=lambda: real() + offset)


def test_the_code_still_works_just_before_ten_minutes(client, client_user, outbox):
    _request_code(client, client_user.email)
    code = codes_in_mail(outbox[0].body)[0]

    with mock.patch.object(code_verification, "time", _clock(9 * 60 + 50)):
        client.post(CONFIRM_CODE, {"code": code})

    assert _logged_in(client) == str(client_user.pk)


def test_the_code_expires_after_ten_minutes(client, client_user, outbox):
    _request_code(client, client_user.email)
    code = codes_in_mail(outbox[0].body)[0]

    with mock.patch.object(code_verification, "time", _clock(10 * 60 + 1)):
        response = client.post(CONFIRM_CODE, {"code": code})

    assert response.status_code == 302
    assert response["Location"] == REQUEST_CODE
    assert _logged_in(client) is None


def test_too_many_codes_for_one_address_get_a_clear_message(client, client_user, outbox):
    for _ in range(3):
        assert _request_code(client, client_user.email).status_code == 302
        client.logout()

    fourth = _request_code(client, client_user.email)

    assert fourth.status_code == 200
    with translation.override("de"):
        expected = gettext(
            "Too many codes were requested. Please wait a few minutes, then ask for a new code."
        )
    assert fourth.context["form"].errors["email"] == [expected]
    assert expected in fourth.content.decode()
    assert len(outbox) == 3


def test_too_many_code_requests_from_one_address_of_the_internet_are_refused(client, outbox):
    for number in range(20):
        ClientUserFactory(email=f"c{number}@example.org")
        assert _request_code(client, f"c{number}@example.org").status_code == 302
        client.logout()

    refused = _request_code(client, "c0@example.org")

    assert refused.status_code == 200
    assert refused.context["form"].errors["email"]
    assert len(outbox) == 20


def test_after_a_code_login_a_client_with_a_passkey_is_asked_for_it(client, client_user, outbox):
    """allauth's MFA stage also follows a code login: whoever has an authenticator must use
    it. (A client who registered a passkey can log in with the passkey directly.)"""
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=client_user, type=Authenticator.Type.WEBAUTHN, data={})
    _request_code(client, client_user.email)
    code = codes_in_mail(outbox[0].body)[0]

    response = client.post(CONFIRM_CODE, {"code": code})

    assert response["Location"] == reverse("mfa_authenticate")
    assert _logged_in(client) is None


def test_a_code_started_as_client_cannot_log_in_an_account_that_became_staff(
    client, client_user, outbox
):
    _request_code(client, client_user.email)
    code = codes_in_mail(outbox[0].body)[0]
    type(client_user).objects.filter(pk=client_user.pk).update(role=Role.CASE_MANAGER)

    response = client.post(CONFIRM_CODE, {"code": code})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_login_staff")
    assert _logged_in(client) is None


def test_password_reset_mails_go_to_staff_only(client, client_user, case_manager, outbox):
    reset = reverse("account_reset_password")

    client.post(reset, {"email": client_user.email})
    assert outbox == []
    client.post(reset, {"email": case_manager.email})
    assert [message.to for message in outbox] == [[case_manager.email]]
