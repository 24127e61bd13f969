"""Staff record consents and withdrawals that clients signed on paper."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients import services
from sprechstunde.clients.choices import ConsentMethod
from sprechstunde.clients.models import Consent
from sprechstunde.clients.selectors import consent_text_current

from .conftest import login

pytestmark = pytest.mark.django_db


def paper_url(client_record, purpose):
    return reverse("clients:paper_consent", args=[client_record.pk, purpose])


def test_a_consent_on_paper_is_recorded_with_the_text_shown_in_the_chosen_language(
    client, case_manager, client_record
):
    login(client, case_manager)
    detail = client.get(reverse("clients:detail", args=[client_record.pk])).content.decode()
    assert paper_url(client_record, "video") in detail

    german = consent_text_current(purpose="video", language="de")
    english = consent_text_current(purpose="video", language="en")
    page = client.get(paper_url(client_record, "video")).content.decode()
    assert german.title in page  # the client's language (German) by default
    page = client.get(paper_url(client_record, "video"), {"sprache": "en"}).content.decode()
    assert english.title in page
    assert f'name="text" value="{english.pk}"' in page

    response = client.post(
        paper_url(client_record, "video"),
        {"action": "give", "text": english.pk, "language": "en", "confirmed": "on"},
    )
    assert response.status_code == 302
    consent = Consent.objects.get(client=client_record, purpose="video")
    assert consent.withdrawn_at is None
    assert consent.given_method == ConsentMethod.PAPER
    assert consent.text == english
    entry = AuditEntry.objects.get(action="consent.give")
    assert entry.actor_id == case_manager.pk
    assert entry.target_id == str(consent.pk)


def test_without_the_confirmation_nothing_is_recorded(client, case_manager, client_record):
    login(client, case_manager)
    text = consent_text_current(purpose="video", language="de")
    response = client.post(
        paper_url(client_record, "video"), {"action": "give", "text": text.pk, "language": "de"}
    )
    assert response.status_code == 400
    assert "Please confirm that you hold the signed form." in response.content.decode()
    assert not Consent.objects.filter(client=client_record).exists()


def test_a_text_republished_meanwhile_records_nothing_and_shows_the_new_one(
    client, case_manager, client_record
):
    login(client, case_manager)
    old = consent_text_current(purpose="video", language="de")
    new = services.consent_text_publish(
        purpose="video", language="de", title="Video, Fassung 2", body="Neuer Text."
    )
    response = client.post(
        paper_url(client_record, "video"),
        {"action": "give", "text": old.pk, "language": "de", "confirmed": "on"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The text has just been updated" in page
    assert f'name="text" value="{new.pk}"' in page
    assert not Consent.objects.filter(client=client_record).exists()


def test_a_withdrawal_on_paper_ends_the_consent(client, case_manager, accepted_client):
    login(client, case_manager)
    page = client.get(paper_url(accepted_client, "video")).content.decode()
    assert "Record the withdrawal" in page
    assert "ends the client's access" not in page

    response = client.post(
        paper_url(accepted_client, "video"), {"action": "withdraw", "confirmed": "on"}
    )
    assert response.status_code == 302
    detail = client.get(response["Location"]).content.decode()
    assert "Future video appointments of this client no longer take place by video" in detail
    video = Consent.objects.get(client=accepted_client, purpose="video")
    assert video.withdrawn_method == ConsentMethod.PAPER
    assert Consent.objects.get(client=accepted_client, purpose="portal").withdrawn_at is None
    accepted_client.user.refresh_from_db()
    assert accepted_client.user.is_active


def test_withdrawing_portal_use_on_paper_warns_and_ends_the_access(
    client, case_manager, accepted_client
):
    login(client, case_manager)
    page = client.get(paper_url(accepted_client, "portal")).content.decode()
    assert "ends the client's access to the portal" in page

    client.post(paper_url(accepted_client, "portal"), {"action": "withdraw", "confirmed": "on"})
    assert not Consent.objects.filter(client=accepted_client, withdrawn_at__isnull=True).exists()
    accepted_client.user.refresh_from_db()
    assert not accepted_client.user.is_active


def test_portal_use_cannot_be_given_on_paper(client, case_manager, client_record):
    login(client, case_manager)
    response = client.get(paper_url(client_record, "portal"))
    assert response.status_code == 302
    text = consent_text_current(purpose="portal", language="de")
    response = client.post(
        paper_url(client_record, "portal"),
        {"action": "give", "text": text.pk, "language": "de", "confirmed": "on"},
    )
    assert response.status_code == 400
    assert not Consent.objects.filter(client=client_record).exists()


def test_a_consent_changed_since_the_page_was_shown_is_left_as_it_is(
    client, case_manager, accepted_client
):
    """The page offered to record a consent; meanwhile the client gave it in the portal.
    The old form must not turn into a withdrawal (nor the reverse)."""
    login(client, case_manager)
    services.consent_withdraw(client=accepted_client, purpose="video", actor=accepted_client.user)
    text = consent_text_current(purpose="video", language="de")
    client.get(paper_url(accepted_client, "video"))  # offers "give"
    services.consent_give(
        client=accepted_client, purpose="video", actor=accepted_client.user, language="en"
    )

    response = client.post(
        paper_url(accepted_client, "video"),
        {"action": "give", "text": text.pk, "language": "de", "confirmed": "on"},
    )
    assert response.status_code == 302
    active = Consent.objects.get(client=accepted_client, purpose="video", withdrawn_at__isnull=True)
    assert active.given_method == ConsentMethod.PORTAL
    assert "changed in the meantime" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("who", ["other_case_manager", "the client"])
def test_only_who_manages_the_client_may_record(
    request, client, case_manager, accepted_client, who
):
    services.consent_withdraw(
        client=accepted_client, purpose="video", actor=case_manager, method=ConsentMethod.PAPER
    )
    actor = accepted_client.user if who == "the client" else request.getfixturevalue(who)
    login(client, actor)
    text = consent_text_current(purpose="video", language="de")
    assert client.get(paper_url(accepted_client, "video")).status_code == 404
    response = client.post(
        paper_url(accepted_client, "video"),
        {"action": "give", "text": text.pk, "language": "de", "confirmed": "on"},
    )
    assert response.status_code == 404
    assert not Consent.objects.filter(
        client=accepted_client, purpose="video", withdrawn_at__isnull=True
    ).exists()


def test_an_unknown_purpose_is_not_found(client, case_manager, client_record):
    login(client, case_manager)
    assert client.get(paper_url(client_record, "werbung")).status_code == 404


def test_a_tampered_form_records_nothing_and_says_so(client, case_manager, client_record):
    login(client, case_manager)
    for data in (
        {"action": "give", "text": "x' OR 1=1", "language": "de", "confirmed": "on"},
        {"action": "delete", "text": "1", "language": "de", "confirmed": "on"},
    ):
        response = client.post(paper_url(client_record, "video"), data)
        assert response.status_code == 400
        assert "Something went wrong. Please read the text and try again." in (
            response.content.decode()
        )
    assert not Consent.objects.filter(client=client_record).exists()
