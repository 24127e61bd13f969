"""The invitation link on the client's phone: reading, choosing, accepting, logging in."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.clients import services
from sprechstunde.clients.models import Consent, ConsentText, Invitation

from .conftest import login

pytestmark = pytest.mark.django_db

ALL = {
    "consent_portal": "on",
    "consent_video": "on",
    "consent_electronic_delivery": "on",
}


@pytest.fixture
def issued(case_manager, client_record):
    return services.invitation_send(client=client_record, actor=case_manager)


def url(token: str) -> str:
    return reverse("clients:invitation_accept", kwargs={"token": token})


def text_ids(language: str) -> dict[str, int]:
    return {
        f"text_{text.purpose}": text.pk
        for text in ConsentText.objects.filter(language=language, version=1)
    }


def test_valid_link_shows_the_texts_and_three_separate_unticked_choices(client, issued):
    response = client.get(url(issued.token))
    assert response.status_code == 200
    page = response.content.decode()
    for purpose in ("portal", "video", "electronic_delivery"):
        text = ConsentText.objects.get(purpose=purpose, language="en", version=1)
        assert text.title in page
        assert f'name="consent_{purpose}"' in page
        assert f'for="id_consent_{purpose}"' in page
    assert page.count('type="checkbox"') == 3
    assert "checked" not in page
    assert "Needed to use the portal" in page
    assert page.count("Optional") == 2
    assert "§ 37(2a) SGB X" in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_german_browser_gets_the_german_texts(issued):
    from django.test import Client as BrowserClient

    page = BrowserClient(headers={"accept-language": "de"}).get(url(issued.token)).content.decode()
    assert 'lang="de"' in page
    assert "Nutzung des Online-Portals" in page
    assert "Dokumente elektronisch erhalten" in page


def test_clients_preferred_english_wins_over_a_german_browser(case_manager, client_record):
    from django.test import Client as BrowserClient

    client_record.preferred_language = "en"
    client_record.save()
    issued = services.invitation_send(client=client_record, actor=case_manager)
    page = BrowserClient(headers={"accept-language": "de"}).get(url(issued.token)).content.decode()
    assert "Using the online portal" in page
    assert '<html lang="en"' in page


@pytest.mark.parametrize(
    ("state", "status", "heading", "next_step"),
    [
        (
            "expired",
            410,
            "This invitation has expired",
            "ask your case manager for a new invitation",
        ),
        ("revoked", 410, "no longer valid", "ask your case manager for a new invitation"),
        ("used", 410, "already been used", "Log in with a code"),
        ("unknown", 404, "This link does not work", "ask your case manager for a new invitation"),
    ],
)
def test_unusable_links_get_a_clear_page_with_the_next_step(
    client, issued, case_manager, state, status, heading, next_step
):
    token = issued.token
    if state == "expired":
        Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    elif state == "revoked":
        services.invitation_revoke(invitation=issued.invitation, actor=case_manager)
    elif state == "used":
        services.invitation_accept(token=token, purposes=["portal"], language="de")
    else:
        token = "forged-" + token[7:]
    for response in (client.get(url(token)), client.post(url(token), ALL)):
        assert response.status_code == status
        page = response.content.decode()
        assert heading in page
        assert next_step in page
        assert "Other ways to reach us" in page
    assert Consent.objects.count() == (1 if state == "used" else 0)


def test_accepting_without_portal_use_is_refused_with_a_clear_message(client, issued):
    response = client.post(url(issued.token), {"consent_video": "on", **text_ids("en")})
    assert response.status_code == 400
    page = response.content.decode()
    assert "please agree to the use of the portal" in page
    assert 'aria-invalid="true"' in page
    assert not Consent.objects.exists()
    assert not User.objects.filter(role=Role.CLIENT).exists()


def test_accepting_records_the_choices_and_leads_to_login_by_code(client, issued, client_record):
    response = client.post(
        url(issued.token), {"consent_portal": "on", "consent_video": "on", **text_ids("en")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("clients:invitation_accepted")
    client_record.refresh_from_db()
    assert set(client_record.consents.values_list("purpose", flat=True)) == {"portal", "video"}
    page = client.get(response["Location"]).content.decode()
    assert f'action="{reverse("account_request_login_code")}"' in page
    assert 'name="email" value="klara@example.org"' in page


def test_a_text_changed_while_reading_shows_the_new_text_and_saves_nothing(client, issued):
    shown = text_ids("en")
    new = services.consent_text_publish(
        purpose="video", language="en", title="Video talks, version 2", body="New body"
    )
    response = client.post(url(issued.token), {**ALL, **shown})
    assert response.status_code == 409
    page = response.content.decode()
    assert "The text has just been updated" in page
    assert new.title in page
    assert "checked" not in page
    assert not Consent.objects.exists()


def test_the_whole_way_from_the_link_to_the_portal_by_emailed_code(client, issued, outbox):
    client.post(url(issued.token), {**ALL, **text_ids("en")})
    response = client.post(
        reverse("account_request_login_code"), {"email": "klara@example.org"}, follow=True
    )
    assert response.status_code == 200
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", outbox[-1].body).group(1)
    response = client.post(reverse("account_confirm_login_code"), {"code": code}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("clients:portal_home")
    assert "Hello, Klara" in response.content.decode()


def test_a_staff_member_logged_in_on_the_device_is_logged_out_by_accepting(
    client, issued, team_lead
):
    login(client, team_lead)
    client.post(url(issued.token), {**ALL, **text_ids("en")})
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("clients:invitation_accepted")).status_code == 200


def test_the_accepted_page_without_an_acceptance_leads_to_the_login_code_page(client):
    response = client.get(reverse("clients:invitation_accepted"))
    assert response.status_code == 302
    assert response["Location"] == reverse("account_request_login_code")
