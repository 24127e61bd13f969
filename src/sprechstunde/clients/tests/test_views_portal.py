"""The client portal through the test client: start, privacy page, withdrawing, receipt, and
the pages that need a consent."""

from __future__ import annotations

import io

import pytest
from allauth.usersessions.models import UserSession
from django.urls import reverse
from pypdf import PdfReader

from sprechstunde.accounts.role_pages import is_other_role_response
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients import services
from sprechstunde.clients.models import ConsentText

from .conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(client, accepted_client):
    """The test client, logged in as the accepted client."""
    return login(client, accepted_client.user)


def withdraw(portal, purpose: str):
    return portal.post(reverse("clients:consent_withdraw", args=[purpose]))


def test_start_page_greets_and_shows_tiles_for_the_given_consents(portal, accepted_client):
    page = portal.get(reverse("clients:portal_home")).content.decode()
    assert "Hello, Klara" in page
    assert reverse("appointments:portal_video") in page
    assert reverse("agreements:portal") in page
    assert reverse("documents:portal") in page
    assert reverse("appointments:portal_list") in page
    assert page.count("<h1") == 1


def test_start_page_points_to_data_protection_for_missing_consents(portal, accepted_client):
    withdraw(portal, "video")
    page = portal.get(reverse("clients:portal_home")).content.decode()
    assert reverse("appointments:portal_video") not in page
    assert "You can allow them on the page" in page


def test_privacy_page_shows_each_purpose_with_its_state_and_is_audited(portal, accepted_client):
    response = portal.get(reverse("clients:privacy"))
    assert response.status_code == 200
    page = response.content.decode()
    for purpose in ("portal", "video", "electronic_delivery"):
        assert reverse("clients:consent_withdraw", args=[purpose]) in page
    assert "Read the text you agreed to (version 1)" in page
    assert "you are logged out at once on all your devices" in page
    assert "Withdraw and end my access to the portal" in page
    assert AuditEntry.objects.filter(
        action="consent.view", client_id=accepted_client.pk, actor_id=accepted_client.user.pk
    ).exists()


def test_withdrawing_video_is_one_post_and_takes_effect_at_once(portal, accepted_client):
    response = withdraw(portal, "video")
    assert response.status_code == 302
    assert response["Location"] == reverse("clients:privacy")
    assert not accepted_client.consents.filter(purpose="video", withdrawn_at__isnull=True).exists()
    page = portal.get(reverse("clients:privacy")).content.decode()
    assert "is withdrawn" in page
    assert reverse("clients:consent_give", args=["video"]) in page
    assert portal.get(reverse("clients:portal_video")).status_code == 403


def test_video_consent_can_be_given_again_on_the_privacy_page(portal, accepted_client):
    withdraw(portal, "video")
    # The portal speaks the language chosen when accepting (English here).
    text = ConsentText.objects.get(purpose="video", language="en", version=1)
    response = portal.post(reverse("clients:consent_give", args=["video"]), {"text": text.pk})
    assert response.status_code == 302
    consent = accepted_client.consents.get(purpose="video", withdrawn_at__isnull=True)
    assert consent.text == text
    assert portal.get(reverse("appointments:portal_video")).status_code == 200


def test_giving_consent_with_an_outdated_text_saves_nothing(portal, accepted_client):
    withdraw(portal, "video")
    old = ConsentText.objects.get(purpose="video", language="en", version=1)
    services.consent_text_publish(purpose="video", language="en", title="V2", body="Second")
    response = portal.post(
        reverse("clients:consent_give", args=["video"]), {"text": old.pk}, follow=True
    )
    assert "The text has just been updated" in response.content.decode()
    assert not accepted_client.consents.filter(purpose="video", withdrawn_at__isnull=True).exists()


def test_withdrawing_portal_use_logs_out_and_locks_the_account(portal, accepted_client, outbox):
    response = withdraw(portal, "portal")
    assert response.status_code == 302
    assert response["Location"] == reverse("clients:access_ended")
    page = portal.get(response["Location"]).content.decode()
    assert "Your access to the portal has ended" in page
    assert "ask your case manager for a new invitation" in page
    assert portal.get(reverse("clients:portal_home")).status_code == 302
    user = accepted_client.user
    user.refresh_from_db()
    assert not user.is_active
    # Logging in again by code does not work: no code is sent to a locked account.
    portal.post(reverse("account_request_login_code"), {"email": user.email})
    assert outbox == []


def test_withdrawing_portal_use_logs_out_every_other_session_for_good(
    portal, accepted_client, case_manager, django_capture_on_commit_callbacks
):
    """A second device (another test client, logged in on its own) is logged out too, and
    stays out even after a new invitation makes the account active again."""
    from django.test import Client as TestClient

    from .conftest import accept, invite

    other_device = login(TestClient(headers={"accept-language": "en"}), accepted_client.user)
    assert other_device.get(reverse("clients:portal_home")).status_code == 200
    # A third device whose session the tracking (allauth usersessions) does not know about.
    untracked = login(TestClient(headers={"accept-language": "en"}), accepted_client.user)
    UserSession.objects.filter(session_key=untracked.session.session_key).delete()

    response = withdraw(portal, "portal")
    assert response["Location"] == reverse("clients:access_ended")
    # The page with the offline ways of contact, for the device that withdrew.
    assert (
        "Your access to the portal has ended" in portal.get(response["Location"]).content.decode()
    )
    assert other_device.get(reverse("clients:portal_home")).status_code == 302
    assert untracked.get(reverse("clients:portal_home")).status_code == 302

    # A new invitation reactivates the account; the old session must not come back with it.
    issued = invite(accepted_client, case_manager, django_capture_on_commit_callbacks)
    accept(issued.token, language="en")
    accepted_client.user.refresh_from_db()
    assert accepted_client.user.is_active
    assert other_device.get(reverse("clients:portal_home")).status_code == 302
    assert untracked.get(reverse("clients:portal_home")).status_code == 302


def test_unknown_purpose_is_404(portal):
    assert withdraw(portal, "marketing").status_code == 404


def test_withdraw_does_not_answer_get(portal, accepted_client):
    response = portal.get(reverse("clients:consent_withdraw", args=["video"]))
    assert response.status_code == 405
    assert accepted_client.consents.filter(withdrawn_at__isnull=True).count() == 3


def test_receipt_is_a_pdf_with_purposes_versions_full_texts_and_times(portal, accepted_client):
    withdraw(portal, "video")
    response = portal.get(reverse("clients:consent_receipt"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    flat = " ".join(text.split())
    assert "Receipt of your consents" in flat
    assert "Klara Klient" in flat
    assert "version 1" in flat
    assert "Online in the portal" in flat
    portal_text = ConsentText.objects.get(purpose="portal", language="en", version=1)
    assert portal_text.title in flat
    assert " ".join(portal_text.body.split()[-8:]) in flat  # the full text, to its end
    assert AuditEntry.objects.filter(
        action="consent.receipt", client_id=accepted_client.pk
    ).exists()


# --- consent_required ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "purpose", "alternative"),
    [
        ("clients:portal_video", "video", "we can talk by phone or in person"),
        ("appointments:portal_video", "video", "we can talk by phone or in person"),
        ("clients:portal_postbox", "electronic_delivery", "you receive all documents by post"),
    ],
)
def test_without_the_consent_the_feature_is_refused_with_explanation_and_alternative(
    portal, accepted_client, page, purpose, alternative
):
    assert portal.get(reverse(page)).status_code in (200, 302)
    withdraw(portal, purpose)
    response = portal.get(reverse(page))
    assert response.status_code == 403
    content = response.content.decode()
    assert "This needs your consent" in content
    assert reverse("clients:privacy") in content
    assert alternative in content
    assert "by phone" in content
    assert "by post" in content


def test_the_old_addresses_of_video_and_postbox_lead_to_the_real_pages(portal):
    """The stubs are gone: the old addresses (in older mails) lead to the pages with data."""
    video = portal.get(reverse("clients:portal_video"))
    assert video.status_code == 302
    assert video["Location"] == reverse("appointments:portal_video")
    postbox = portal.get(reverse("clients:portal_postbox"))
    assert postbox.status_code == 302
    assert postbox["Location"] == reverse("agreements:portal")


def test_the_contact_details_come_from_the_settings(portal, accepted_client, settings):
    settings.JOBCENTER_PHONE = "0751 123456-0"
    withdraw(portal, "video")
    content = portal.get(reverse("clients:portal_video")).content.decode()
    assert 'href="tel:0751123456-0"' in content


@pytest.mark.parametrize(
    "name",
    ["clients:portal_home", "clients:privacy", "clients:portal_video", "clients:consent_receipt"],
)
def test_anonymous_visitors_go_to_the_login_by_code(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_request_login_code"))


@pytest.mark.parametrize(
    "name",
    ["clients:portal_home", "clients:privacy", "clients:portal_video", "clients:consent_receipt"],
)
def test_staff_get_the_other_role_page_on_portal_pages(client, case_manager, name):
    assert is_other_role_response(login(client, case_manager).get(reverse(name)))


def test_consent_required_mixin_guards_class_based_views(rf, accepted_client):
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.http import HttpResponse
    from django.views import View

    from sprechstunde.clients.choices import ConsentPurpose
    from sprechstunde.clients.permissions import ConsentRequiredMixin

    class DeliveryView(ConsentRequiredMixin, View):
        required_consent = ConsentPurpose.ELECTRONIC_DELIVERY

        def get(self, request):
            return HttpResponse("documents")

    def call():
        request = rf.get("/somewhere/")
        SessionMiddleware(lambda r: None).process_request(request)
        request.user = accepted_client.user
        return DeliveryView.as_view()(request)

    assert call().content == b"documents"
    services.consent_withdraw(
        client=accepted_client, purpose="electronic_delivery", actor=accepted_client.user
    )
    response = call()
    assert response.status_code == 403
    assert b"This needs your consent" in response.content
