"""The client chooses the language, and the choice holds (issue 13, point 5): onboarding in
Ukrainian on a phone whose browser says German.

The case manager stored no particular language (German, the default), and the phone asks for
German (locale de-DE, Accept-Language de-DE). The client opens the invitation, which offers
all seven languages, switches to Ukrainian, consents, asks for the code, reads the code mail
and lands on home. Every page is Ukrainian (`<html lang="uk">` and its own Ukrainian text from
locale/uk), and so are the code mail and the notices on the way; nothing switches back to
German, not even once the language cookie is gone (the choice is stored on the client).
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory
from sprechstunde.clients import services as client_services
from sprechstunde.clients.models import Client

from .support.auth import latest_code_for
from .support.checks import axe_violations, format_axe

pytestmark = pytest.mark.browser

GERMAN_PHONE = {"locale": "de-DE", "extra_http_headers": {"Accept-Language": "de-DE,de;q=0.9"}}


def in_language(language: str, msgid: str, context: str | None = None, **values: str) -> str:
    """`msgid` as the catalogue of `language` has it (with %(name)s values filled in)."""
    with translation.override(language):
        text = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
    return text % values if values else text


def ukrainian(msgid: str, context: str | None = None, **values: str) -> str:
    """The Ukrainian text, which must really be a translation (not the German fallback)."""
    text = in_language("uk", msgid, context, **values)
    german = in_language("de", msgid, context, **values)
    assert text != german, f"{msgid!r} has no Ukrainian translation"
    assert re.search("[\u0400-\u04ff]", text)  # Cyrillic, text
    return text


def fixed_part(msgid: str) -> str:
    """The longest stretch of the Ukrainian text without a placeholder (to find it in a
    notice whose placeholder the app filled in)."""
    parts = re.split(r"%\(\w+\)s", ukrainian(msgid))
    return max((part.strip(" .") for part in parts), key=len)


def test_onboarding_in_ukrainian_on_a_german_phone(live_app, new_context, screenshots):
    case_manager = CaseManagerFactory(team=TeamFactory(), email="fm@jobcenter.example")
    email = "olena@example.org"
    client = client_services.client_create(
        actor=case_manager, first_name="Olena", last_name="Kovalenko", email=email
    )
    assert client.preferred_language == "de"
    token = client_services.invitation_send(client=client, actor=case_manager).token
    mail.outbox.clear()
    phone = new_context("phone", **GERMAN_PHONE).new_page()
    seen: list[str] = []
    problems: list[str] = []

    def ukrainian_page(step: str, selector: str, msgid: str, **values: str) -> None:
        """The page is Ukrainian: lang="uk" and the text `msgid` has in Ukrainian."""
        phone.wait_for_load_state()
        assert phone.evaluate("document.documentElement.lang") == "uk", step
        assert phone.evaluate("document.documentElement.dir") == "ltr", step
        expected = ukrainian(msgid, **values)
        assert expected in phone.locator(selector).first.inner_text(), (step, expected)
        problems.extend(f"{step}: {item}" for item in format_axe(axe_violations(phone)))
        screenshots(phone, step)
        seen.append(step)

    # 1. The invitation: German first (what the phone asks for), with all seven languages.
    phone.goto(reverse("clients:invitation_accept", args=[token]))
    assert phone.evaluate("document.documentElement.lang") == "de"
    screenshots(phone, "invitation-german")
    offered = phone.locator("#language-select option").evaluate_all(
        "options => options.map((option) => option.value)"
    )
    assert sorted(offered) == sorted(settings.CLIENT_LANGUAGES)
    assert len(offered) == 7

    # 2. She switches to Ukrainian and comes back to the same invitation.
    phone.locator("#language-select").select_option("uk")
    phone.locator(".language-form [type=submit]").click()
    phone.wait_for_url(re.compile(re.escape(reverse("clients:invitation_accept", args=[token]))))
    ukrainian_page("invitation", "[data-main-action]", "Save my choice")
    consent_heading = phone.locator("#title-portal")
    assert consent_heading.get_attribute("lang") == "uk"

    # 3. Consent, then the page that sends the code.
    phone.check("input[name=consent_portal]")
    phone.locator("[data-main-action]").click()
    phone.wait_for_url(re.compile(re.escape(reverse("clients:invitation_accepted"))))
    ukrainian_page("accepted", "h1", "Thank you \u2013 your choice is saved")

    # 4. The code page, its notice and the code mail: Ukrainian.
    phone.locator("[data-main-action]").click()
    phone.wait_for_url(re.compile(re.escape(reverse("account_confirm_login_code"))))
    ukrainian_page("code", "h1", "Enter the code")
    assert ukrainian("Code from the e-mail") in phone.locator("label[for=id_code]").inner_text()
    notice = phone.locator(".messages").inner_text()
    assert fixed_part("A sign-in code has been sent to %(recipient)s.") in notice, notice
    assert email in notice
    code = latest_code_for(email)
    (code_mail,) = [message for message in mail.outbox if code in message.body]
    assert code_mail.subject.endswith(ukrainian("Your login code")), code_mail.subject
    assert ukrainian("Your login code:") in code_mail.body
    assert in_language("de", "Your login code:") not in code_mail.body

    # 5. The code, and home: Ukrainian, with a Ukrainian "logged in" notice.
    phone.fill("input[name=code]", code)
    phone.locator("form:has(input[name=code]) [type=submit]").first.click()
    phone.wait_for_url(re.compile(re.escape(reverse("clients:portal_home"))))
    ukrainian_page("home", "h1", "Hello, %(name)s", name="Olena")
    logged_in = phone.locator(".messages").inner_text()
    assert fixed_part("Successfully signed in as %(name)s.") in logged_in, logged_in
    assert "Olena" in logged_in

    # 6. The choice is stored on the client: without the language cookie, still Ukrainian.
    client.refresh_from_db()
    assert client.preferred_language == "uk"
    assert Client.objects.get(pk=client.pk).user.preferred_language == "uk"
    phone.context.clear_cookies(name=settings.LANGUAGE_COOKIE_NAME)
    phone.goto(reverse("clients:privacy"))
    ukrainian_page("privacy-without-cookie", "h1", "Data protection")

    assert seen == ["invitation", "accepted", "code", "home", "privacy-without-cookie"]
    assert not problems, "\n".join(problems)
