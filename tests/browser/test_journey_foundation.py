"""Issue 2's journey, as people do it: a case manager logs in with TOTP and creates a client;
the invitation is read from the dev outbox; the client accepts on a phone, consents and logs in
by code; the client withdraws video consent; the case manager sees it.

Mail goes through the dev outbox backend here (as with `make run`), so every code and link is
read from the outbox page a staff member opens, not from Python.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.models import Client, Consent, Invitation

from .support.auth import login_staff_with_totp

pytestmark = pytest.mark.browser

CODE_RE = re.compile(r"\b(\d{6})\b")


def _open_newest_mail_to(staff_page, live_app, address: str) -> str:
    """Opens the dev outbox as staff, then the newest mail to `address`; returns its body."""
    staff_page.goto(live_app.url_for(reverse("core:outbox")))
    row = staff_page.locator("tbody tr", has_text=address).first
    row.locator("a").click()
    body = staff_page.get_by_test_id("mail-body")
    body.wait_for()
    return body.inner_text()


def test_invite_consent_login_withdraw_journey(live_app, new_context, screenshots, settings):
    settings.EMAIL_BACKEND = "sprechstunde.core.mail_outbox.DevOutboxBackend"
    team = TeamFactory(name="Team Nord")
    case_manager = CaseManagerFactory(
        team=team, email="fm@jobcenter.example", first_name="Frieda", last_name="Fallmann"
    )

    # 1. The case manager logs in with password and TOTP and creates a client.
    staff = new_context("desktop").new_page()
    login_staff_with_totp(staff, live_app, case_manager)
    screenshots(staff, "staff-logged-in")
    staff.goto(live_app.url_for(reverse("clients:create")))
    staff.fill("input[name=first_name]", "Amira")
    staff.fill("input[name=last_name]", "Haddad")
    staff.fill("input[name=email]", "amira.haddad@example.org")
    staff.check("input[name=send_invitation]")
    screenshots(staff, "client-form")
    staff.locator("form:has(input[name=first_name]) [type=submit]").click()
    staff.wait_for_url(re.compile(r"/klienten/\d+/$"))
    screenshots(staff, "client-created")
    client = Client.objects.get(email="amira.haddad@example.org")
    assert client.case_manager == case_manager
    assert Invitation.objects.filter(client=client, accepted_at__isnull=True).count() == 1

    # 2. The invitation mail is read from the dev outbox.
    body = _open_newest_mail_to(staff, live_app, "amira.haddad@example.org")
    screenshots(staff, "invitation-mail")
    link = re.search(r"https?://\S+/klienten/einladung/\S+/", body)
    assert link, body
    assert "Haddad" not in body  # no social data beyond what the invitation needs
    invitation_path = re.sub(r"^https?://[^/]+", "", link.group(0))

    # 3. The client, on a phone, accepts, consents per purpose and logs in by code.
    phone = new_context("phone").new_page()
    phone.goto(live_app.url_for(invitation_path))
    screenshots(phone, "invitation-page")
    boxes = phone.locator("input[type=checkbox]")
    assert boxes.count() == 3
    for i in range(3):
        assert not boxes.nth(i).is_checked()  # nothing is pre-ticked
    phone.check("input[name=consent_portal]")
    phone.check("input[name=consent_video]")
    screenshots(phone, "consents-chosen")
    phone.locator("[data-main-action]").click()
    phone.wait_for_url(re.compile(re.escape(reverse("clients:invitation_accepted"))))
    screenshots(phone, "accepted")
    phone.locator("[data-main-action]").click()
    phone.wait_for_url(re.compile(re.escape(reverse("account_confirm_login_code"))))
    code_mail = _open_newest_mail_to(staff, live_app, "amira.haddad@example.org")
    code = CODE_RE.search(code_mail)
    assert code, code_mail
    phone.fill("input[name=code]", code.group(1))
    screenshots(phone, "code-entered")
    phone.locator("form:has(input[name=code]) [type=submit]").first.click()
    phone.wait_for_url(re.compile(re.escape(reverse("clients:portal_home"))))
    screenshots(phone, "portal-home")
    active = set(
        Consent.objects.filter(client=client, withdrawn_at__isnull=True).values_list(
            "purpose", flat=True
        )
    )
    assert active == {"portal", "video"}

    # 4. The client withdraws video consent with one tap on the privacy page.
    phone.goto(live_app.url_for(reverse("clients:privacy")))
    screenshots(phone, "privacy-page")
    phone.locator(
        f"form[action='{reverse('clients:consent_withdraw', args=['video'])}'] [type=submit]"
    ).click()
    phone.wait_for_url(re.compile(re.escape(reverse("clients:privacy"))))
    screenshots(phone, "video-withdrawn")
    video = Consent.objects.get(client=client, purpose="video")
    assert video.withdrawn_at is not None
    assert Consent.objects.get(client=client, purpose="portal", withdrawn_at__isnull=True)

    # 5. The case manager sees it on the client's page.
    staff.goto(live_app.url_for(reverse("clients:detail", args=[client.pk])))
    video_row = staff.locator("tr", has=staff.locator("td strong", has_text=re.compile("Video")))
    assert video_row.locator(".badge--off").count() == 1
    portal_row = staff.locator(
        "tr", has=staff.locator("td strong", has_text=re.compile("Portal", re.IGNORECASE))
    )
    assert portal_row.locator(".badge--ok").count() == 1
    screenshots(staff, "case-manager-sees-withdrawal")

    actions = set(AuditEntry.objects.filter(client_id=client.pk).values_list("action", flat=True))
    assert {"client.create", "consent.withdraw"} <= actions
