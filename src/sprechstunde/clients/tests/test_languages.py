"""The client's language: chosen on first contact, changed by the switch or the settings page,
and kept everywhere from then on (issue 13, point 5)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients import services

from .conftest import invite, login

pytestmark = pytest.mark.django_db

SWITCH = "/i18n/setlang/"


def test_a_visitors_switch_sets_the_cookie_and_the_next_page_follows_it(client):
    response = client.post(SWITCH, {"language": "uk", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "uk"
    page = client.get("/accounts/login/", follow=True).content.decode()
    assert '<html lang="uk"' in page


def test_the_switch_refuses_a_language_that_is_not_offered_and_changes_nothing(client):
    response = client.post(SWITCH, {"language": "xx", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_switch_never_redirects_to_another_host(client):
    response = client.post(SWITCH, {"language": "tr", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_a_clients_switch_is_stored_on_the_client_and_her_account_and_audited(
    client, accepted_client
):
    login(client, accepted_client.user)
    client.post(SWITCH, {"language": "ar", "next": reverse("clients:portal_home")})
    accepted_client.refresh_from_db()
    accepted_client.user.refresh_from_db()
    assert accepted_client.preferred_language == "ar"
    assert accepted_client.user.preferred_language == "ar"
    assert AuditEntry.objects.filter(action="client.language_change").count() == 1
    page = client.get(reverse("clients:portal_home")).content.decode()
    assert '<html lang="ar" dir="rtl"' in page


def test_staff_are_offered_german_and_english_only(client, case_manager):
    login(client, case_manager)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'value="uk"' not in page
    client.post(SWITCH, {"language": "uk", "next": "/"})
    case_manager.refresh_from_db()
    assert case_manager.preferred_language != "uk"
    client.post(SWITCH, {"language": "en", "next": "/"})
    case_manager.refresh_from_db()
    assert case_manager.preferred_language == "en"


def test_the_settings_page_offers_all_seven_languages_and_saves_the_choice(client, accepted_client):
    login(client, accepted_client.user)
    url = reverse("clients:portal_settings")
    page = client.get(url).content.decode()
    for code in settings.CLIENT_LANGUAGES:
        assert f'value="{code}"' in page
    assert "Українська" in page and "فارسی" in page
    response = client.post(url, {"preferred_language": "fa"})
    assert response.status_code == 302
    accepted_client.refresh_from_db()
    assert accepted_client.preferred_language == "fa"


def test_the_settings_page_refuses_a_bad_language_and_keeps_the_old_one(client, accepted_client):
    login(client, accepted_client.user)
    response = client.post(reverse("clients:portal_settings"), {"preferred_language": "de-XX"})
    assert response.status_code == 400
    accepted_client.refresh_from_db()
    assert accepted_client.preferred_language == "en"


def test_the_settings_page_is_for_clients_only(client):
    login(client, CaseManagerFactory())
    assert is_other_role_response(client.get(reverse("clients:portal_settings")))


def test_accepting_in_ukrainian_keeps_ukrainian_through_the_code_mail(
    client, client_record, case_manager, django_capture_on_commit_callbacks, monkeypatch
):
    """The phone says German; the client reads the invitation in Ukrainian and accepts."""
    issued = invite(client_record, case_manager, django_capture_on_commit_callbacks)
    german_phone = type(client)(headers={"accept-language": "de-DE,de"})
    accept_url = reverse("clients:invitation_accept", kwargs={"token": issued.token})
    german_phone.post(SWITCH, {"language": "uk", "next": accept_url})
    page = german_phone.get(accept_url)
    assert page["Content-Language"] == "uk"
    from sprechstunde.clients.models import ConsentText

    ids = {
        f"text_{text.purpose}": text.pk
        for text in ConsentText.objects.filter(language="de", version=1)
    }
    ids.update(
        {
            f"text_{text.purpose}": text.pk
            for text in services.selectors.consent_texts_current(language="uk").values()
        }
    )
    response = german_phone.post(accept_url, {"consent_portal": "on", **ids})
    assert response.status_code == 302, response.content.decode()[:2000]
    client_record.refresh_from_db()
    assert client_record.preferred_language == "uk"
    assert client_record.user.preferred_language == "uk"
    accepted = german_phone.get(response["Location"]).content.decode()
    assert '<html lang="uk"' in accepted
    languages_at_send = []
    from allauth.account.adapter import DefaultAccountAdapter

    original = DefaultAccountAdapter.send_mail

    def spy(self, template_prefix, email, context):
        languages_at_send.append((template_prefix, translation.get_language()))
        return original(self, template_prefix, email, context)

    monkeypatch.setattr(DefaultAccountAdapter, "send_mail", spy)
    mail.outbox.clear()
    german_phone.post(reverse("account_request_login_code"), {"email": client_record.email})
    assert languages_at_send == [("account/email/login_code", "uk")]
    assert len(mail.outbox) == 1
    confirm = german_phone.get(reverse("account_confirm_login_code")).content.decode()
    assert '<html lang="uk"' in confirm


def test_a_translated_consent_text_names_the_german_one_as_binding_and_shows_it(
    client, client_record, case_manager, django_capture_on_commit_callbacks
):

    from sprechstunde.clients.models import ConsentText

    turkish = ConsentText.objects.get(purpose="portal", language="tr", version=1)
    issued = invite(client_record, case_manager, django_capture_on_commit_callbacks)
    client.post(SWITCH, {"language": "tr", "next": "/"})
    page = client.get(
        reverse("clients:invitation_accept", kwargs={"token": issued.token})
    ).content.decode()
    german = ConsentText.objects.get(purpose="portal", language="de", version=1)
    assert turkish.title in page
    assert page.count("translation-note") == 3
    assert german.title in page  # one tap away: inside <details>
    assert '<div class="consent-text" lang="de" dir="ltr">' in page


def test_a_german_consent_text_carries_no_translation_note(
    client, client_record, case_manager, django_capture_on_commit_callbacks
):
    issued = invite(client_record, case_manager, django_capture_on_commit_callbacks)
    client.post(SWITCH, {"language": "de", "next": "/"})
    page = client.get(
        reverse("clients:invitation_accept", kwargs={"token": issued.token})
    ).content.decode()
    assert "translation-note" not in page
