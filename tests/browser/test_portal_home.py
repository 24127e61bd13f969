"""The client's phone in Chromium (360 x 740, German UI): home shows the next appointment
with the join button ten minutes before a video call; the postbox lists the delivered
decision with the date it counts as announced; the video page lists the call with its join
button. Every page passes axe, the keyboard walk and the touch-target check.

Screenshots of the three pages (first screen, as the client sees it) are kept in
test-artifacts; copies live in docs/screenshots/ for the lead.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.agreements import services as agreement_services
from sprechstunde.agreements.factories import consent_give, decision_in_postbox_for, portal_client
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.factories import AppointmentFactory, OfficeHoursFactory
from sprechstunde.clients.choices import ConsentPurpose

from .support.checks import page_problems

pytestmark = pytest.mark.browser

PHONE_HEIGHT = 740


def _on_first_screen(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE_HEIGHT


def test_home_postbox_and_video_page_on_a_phone(new_context, screenshots):
    case_manager = CaseManagerFactory(first_name="Frauke", last_name="Maier")
    client = portal_client(case_manager=case_manager, email="amira@example.org")
    consent_give(client, ConsentPurpose.VIDEO)
    client.user.preferred_language = "de"
    client.user.save()
    now = timezone.now()
    call = AppointmentFactory(
        client=client,
        case_manager=case_manager,
        channel=Channel.VIDEO,
        starts_at=now + datetime.timedelta(minutes=10),
        ends_at=now + datetime.timedelta(minutes=40),
    )
    decision = decision_in_postbox_for(client)
    agreement_services.decision_notice_deliver(decision_id=decision.pk)
    decision.refresh_from_db()
    assert decision.announced_on is not None

    phone = new_context("phone", user=client.user).new_page()

    # Home: the card with the join button, on the first screen.
    phone.goto(reverse("clients:portal_home"))
    card = phone.locator(f"#next-appointment[data-appointment='{call.pk}']")
    card.wait_for()
    join = card.locator("#video-join-button")
    assert join.is_visible()
    assert join.get_attribute("href") == reverse(
        "video_calls:call", kwargs={"appointment_pk": call.pk}
    )
    assert _on_first_screen(phone, "#video-join-button")
    assert phone.locator("#postbox-tile [data-new-count='1']").is_visible()
    screenshots.take(phone, "portal-home-360", full_page=False)
    screenshots.take(phone, "portal-home-whole")
    problems = page_problems(phone, touch_targets=True)

    # The postbox: the decision, not read yet, with the day it counts as announced.
    phone.locator("#postbox-tile").click()
    phone.wait_for_url(f"**{reverse('agreements:portal')}")
    item = phone.locator(f"[data-decision='{decision.pk}']")
    assert item.is_visible()
    announced = item.locator("[data-announced-on]").inner_text()
    assert decision.announced_on.strftime("%d.%m.%Y") in announced
    assert "Neu" in item.inner_text()
    screenshots.take(phone, "portal-postbox-360", full_page=False)
    problems += page_problems(phone, touch_targets=True)

    # The video page: the call with its join button.
    phone.goto(reverse("appointments:portal_video"))
    assert phone.locator(f"[data-join='{call.pk}']").is_visible()
    assert phone.locator("#video-empty").count() == 0
    screenshots.take(phone, "portal-video-360", full_page=False)
    problems += page_problems(phone, touch_targets=True)

    assert not problems, "\n".join(problems)


def test_on_site_card_and_moving_the_appointment_on_a_phone(new_context, screenshots, settings):
    settings.APPOINTMENT_WHAT_TO_BRING = "Personalausweis"
    case_manager = CaseManagerFactory(first_name="Frauke", last_name="Maier")
    client = portal_client(case_manager=case_manager, email="amira@example.org")
    client.user.preferred_language = "de"
    client.user.save()
    office_hours = OfficeHoursFactory(case_manager=case_manager, channels=[Channel.ON_SITE])
    appointment = AppointmentFactory(
        client=client,
        case_manager=case_manager,
        channel=Channel.ON_SITE,
        location="Jobcenter Ravensburg\nMarktplatz 1\n88212 Ravensburg",
    )
    phone = new_context("phone", user=client.user).new_page()

    phone.goto(reverse("clients:portal_home"))
    card = phone.locator(f"#next-appointment[data-appointment='{appointment.pk}']")
    assert "Marktplatz 1" in card.inner_text()
    assert "Vor Ort" in card.inner_text()
    assert "Personalausweis" in card.locator("#next-appointment-bring").inner_text()
    map_link = card.locator("#next-appointment-map").get_attribute("href") or ""
    assert map_link.startswith("https://www.openstreetmap.org/search?")
    assert _on_first_screen(phone, "#next-appointment-confirm")
    screenshots.take(phone, "portal-home-on-site-360", full_page=False)
    problems = page_problems(phone, touch_targets=True)

    # From the card to the appointment, then "move" within the office's rules.
    phone.locator("#next-appointment-details").click()
    phone.locator("#move-link").click()
    phone.locator("#move-form").wait_for()
    screenshots.take(phone, "portal-move-360", full_page=False)
    problems += page_problems(phone, touch_targets=True)
    chosen = phone.locator("#id_slot option").nth(1).get_attribute("value") or ""
    phone.locator("#id_slot").select_option(chosen)
    phone.locator("#move-form [type=submit]").click()
    phone.wait_for_url(f"**{reverse('appointments:portal_detail', args=[appointment.pk])}")
    appointment.refresh_from_db()
    office_hours_pk, _sep, starts = chosen.partition("|")
    assert int(office_hours_pk) == office_hours.pk
    assert appointment.starts_at == datetime.datetime.fromisoformat(starts)
    assert appointment.sequence == 1

    assert not problems, "\n".join(problems)
