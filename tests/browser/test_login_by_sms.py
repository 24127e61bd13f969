"""A client without e-mail logs in on a 360 px phone with the code the local SMS gateway
received (issue 13, point 8; ADR 0072)."""

from __future__ import annotations

import re
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory, ClientUserFactory
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import Consent, ConsentText
from sprechstunde.core.testing.sms_gateway import LocalSmsGateway

from .support.checks import page_problems

pytestmark = pytest.mark.browser

NUMBER = "+491701234567"


def _code_sent_to(gateway: LocalSmsGateway, number: str, *, timeout: float = 5.0) -> str:
    """The 6-digit code in the newest SMS the gateway took for `number` (waits for it)."""
    deadline = time.monotonic() + timeout
    while True:
        for request in reversed(gateway.accepted()):
            match = re.search(r"(?<!\d)(\d{6})(?!\d)", request["body"]["text"])
            if request["body"]["to"] == number and match:
                return match.group(1)
        if time.monotonic() > deadline:
            raise AssertionError(f"no SMS with a code to {number} at the gateway")
        time.sleep(0.05)


def test_a_client_without_email_logs_in_with_the_code_from_the_sms(
    live_app, new_context, screenshots, settings
):
    with LocalSmsGateway() as gateway:
        settings.SMS_GATEWAY_URL = gateway.url
        settings.SMS_GATEWAY_TOKEN = "gw-token"
        account = ClientUserFactory(
            email=None, first_name="Olena", last_name="K.", preferred_language="uk"
        )
        client = ClientFactory(
            case_manager=CaseManagerFactory(),
            user=account,
            email="",
            mobile_number=NUMBER,
            preferred_language="uk",
        )
        Consent.objects.create(
            client=client,
            purpose=ConsentPurpose.PORTAL,
            text=ConsentText.objects.get(purpose=ConsentPurpose.PORTAL, language="de", version=1),
            given_at=timezone.now(),
            given_method="paper",
        )
        page = new_context("phone").new_page()
        problems: dict[str, list[str]] = {}

        def step(name: str) -> None:
            screenshots(page, name)
            found = page_problems(page, touch_targets=True)
            if found:
                problems[name] = found

        page.goto(reverse("account_request_login_code"))
        step("request-code")
        form = page.locator("form:has(input[name=phone])")
        form.locator("input[name=phone]").fill("0170 1234567")
        form.locator("[type=submit]").first.click()
        page.wait_for_url(re.compile(re.escape(reverse("account_confirm_login_code"))))
        step("enter-code")
        assert page.get_by_text(NUMBER).first.is_visible()
        code = _code_sent_to(gateway, NUMBER)
        code_form = page.locator("form:has(input[name=code])")
        code_form.locator("input[name=code]").fill(code)
        code_form.locator("[type=submit]").first.click()
        page.wait_for_url(lambda url: "/accounts/" not in url)
        step("logged-in")
        assert page.url.startswith(live_app.url_for(reverse("clients:portal_home")))
        # The portal speaks her language, not the browser's.
        assert page.locator("html").get_attribute("lang") == "uk"
        assert not problems, problems
