"""Issue 3's journey in Chromium: the case manager proposes slots; the client picks one on a
phone; both invitation mails carry a valid ICS; the reminder's link confirms; the case manager
moves the appointment and a new ICS with SEQUENCE + 1 goes out; the client cancels at short
notice; the team lead's figures count it.

The browser runs with locale de-DE, so elements are found by name, URL and data attributes,
never by their (German) text. Mail is read from Django's test outbox: the live server runs in
this process, and tasks run at once (ImmediateBackend), so a mail is there when the page is.
"""

from __future__ import annotations

import csv
import datetime
import email
import email.policy
import io
import re
from urllib.parse import urlsplit

import icalendar
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.factories import (
    AdminFactory,
    CaseManagerFactory,
    TeamFactory,
    TeamLeadFactory,
)
from sprechstunde.accounts.models import User
from sprechstunde.appointments.choices import AppointmentStatus, CancellationClass
from sprechstunde.appointments.models import Appointment, Reminder
from sprechstunde.appointments.tasks import reminders_send_due
from sprechstunde.clients.factories import ClientFactory

from .support.auth import login_staff_with_totp
from .support.checks import page_problems

pytestmark = pytest.mark.browser

CLIENT_EMAIL = "amira.haddad@example.org"
CASE_MANAGER_EMAIL = "fm@jobcenter.example"
LINK_RE = re.compile(r"https?://\S+?(/termine/link/[^/\s]+/)")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _mails_since(count: int) -> list[mail.EmailMessage]:
    return list(mail.outbox[count:])


def _calendar(message: mail.EmailMessage) -> tuple[str, icalendar.Event, str]:
    """The iTIP part of a sent mail: the Content-Type's method, the one VEVENT, the calendar's
    METHOD property. Parsing with icalendar raises on anything that is not valid iCalendar."""
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
    parts = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, f"expected one text/calendar part in {message.subject!r}"
    content = parts[0].get_content()
    content = content if isinstance(content, str) else content.decode()
    calendar = icalendar.Calendar.from_ical(content)
    (event,) = calendar.walk("VEVENT")
    return str(parts[0].get_param("method")), event, str(calendar["METHOD"])


def _invitations(messages: list[mail.EmailMessage]) -> dict[str, tuple[str, icalendar.Event]]:
    """Recipient -> (method, event) for every mail that carries a calendar object."""
    found = {}
    for message in messages:
        method, event, calendar_method = _calendar(message)
        assert method == calendar_method
        (recipient,) = message.to
        found[recipient] = (method, event)
    return found


def _soon_slot() -> datetime.datetime:
    """A start a few hours ahead (so well under 24 hours), on the quarter hour, local time.

    An appointment must end on the day it starts: a 30-minute slot that would run past
    midnight becomes 8:00 the next morning (still less than 24 hours ahead).
    """
    soon = timezone.localtime(timezone.now() + datetime.timedelta(hours=3))
    soon = soon.replace(minute=soon.minute - soon.minute % 15, second=0, microsecond=0)
    soon += datetime.timedelta(minutes=15)
    if (soon + datetime.timedelta(minutes=30)).date() != soon.date():
        soon = timezone.make_aware(
            datetime.datetime.combine(soon.date() + datetime.timedelta(days=1), datetime.time(8))
        )
    return soon


def _weekday_ahead(days: int) -> datetime.date:
    day = timezone.localdate() + datetime.timedelta(days=days)
    while day.weekday() > 4:
        day += datetime.timedelta(days=1)
    return day


def test_propose_pick_remind_move_cancel_and_count_journey(live_app, new_context, screenshots):
    team = TeamFactory(name="Team Nord")
    case_manager = CaseManagerFactory(
        team=team, email=CASE_MANAGER_EMAIL, first_name="Frieda", last_name="Fallmann"
    )
    team_lead = TeamLeadFactory(team=team, email="tl@jobcenter.example")
    account = User.objects.create_user(CLIENT_EMAIL, role=Role.CLIENT)
    client = ClientFactory(
        case_manager=case_manager,
        user=account,
        email=CLIENT_EMAIL,
        first_name="Amira",
        last_name="Haddad",
    )
    mail.outbox.clear()

    # 1. The case manager logs in with password and TOTP and proposes two slots.
    staff = new_context("desktop").new_page()
    login_staff_with_totp(staff, live_app, case_manager)
    staff.goto(live_app.url_for(reverse("appointments:propose", kwargs={"client_pk": client.pk})))
    day = _weekday_ahead(3)
    staff.fill("input[name=day_1]", day.isoformat())
    staff.fill("input[name=time_1]", "10:00")
    staff.fill("input[name=day_2]", day.isoformat())
    staff.fill("input[name=time_2]", "14:30")
    staff.select_option("select[name=duration]", "30")
    staff.check("input[name=channel][value=phone]")
    screenshots(staff, "propose-form")
    staff.locator("form:has(input[name=day_1]) [type=submit]").click()
    staff.wait_for_url(re.compile(r"/termine/\d+/$"))
    screenshots(staff, "proposed")
    appointment = Appointment.objects.get(client=client)
    assert appointment.status == AppointmentStatus.PROPOSED
    assert appointment.proposed_slots.count() == 2
    (proposal_mail,) = [m for m in mail.outbox if m.to == [CLIENT_EMAIL]]
    assert "Haddad" not in proposal_mail.body  # no social data beyond what is needed

    # 2. The client opens the link from the mail on a phone ("my appointments") and taps the
    # afternoon slot.
    portal_link = re.search(r"https?://\S+/termine/meine/", proposal_mail.body)
    assert portal_link, proposal_mail.body
    phone = new_context("phone", user=account).new_page()
    phone.goto(live_app.url_for(_path(portal_link.group(0))))
    screenshots(phone, "client-sees-proposal")
    afternoon = appointment.proposed_slots.order_by("starts_at").last()
    before = len(mail.outbox)
    phone.locator(f"button[name=slot][value='{afternoon.pk}']").click()
    detail_path = reverse("appointments:portal_detail", args=[appointment.pk])
    phone.wait_for_url(re.compile(re.escape(detail_path) + "$"))
    phone.locator(".message--success").wait_for()
    screenshots(phone, "client-picked")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.starts_at == afternoon.starts_at

    # 3. Both invitation mails carry a valid ICS: METHOD:REQUEST, the same UID, SEQUENCE 0.
    invitations = _invitations(_mails_since(before))
    assert set(invitations) == {CLIENT_EMAIL, CASE_MANAGER_EMAIL}
    uids = {str(event["UID"]) for _, event in invitations.values()}
    assert uids == {f"{appointment.uid}@sprechstunde"}
    for method, event in invitations.values():
        assert method == "REQUEST"
        assert int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTART") == afternoon.starts_at
        assert event.walk("VALARM")

    # 4. The reminder is due: the appointments task sends it, and its link confirms, opened on
    # a phone without logging in (the signed link is the credential).
    reminder = Reminder.objects.filter(appointment=appointment, sent_at__isnull=True).first()
    assert reminder is not None
    Reminder.objects.filter(pk=reminder.pk).update(due_at=timezone.now())
    before = len(mail.outbox)
    reminders_send_due.enqueue()
    (reminder_mail,) = _mails_since(before)
    assert reminder_mail.to == [CLIENT_EMAIL]
    links = LINK_RE.findall(reminder_mail.body)
    assert len(links) == 3, reminder_mail.body  # confirm, cancel, ask for another time
    stranger_phone = new_context("phone").new_page()
    stranger_phone.goto(live_app.url_for(links[0]))
    screenshots(stranger_phone, "reminder-link")
    stranger_phone.locator("form:has(input[name=action][value=confirm]) [type=submit]").click()
    stranger_phone.locator("[role=status]").wait_for()
    screenshots(stranger_phone, "reminder-confirmed")
    appointment.refresh_from_db()
    assert appointment.confirmed_at is not None

    # 5. The case manager moves it to a few hours from now: a new ICS, same UID, SEQUENCE 1.
    soon = _soon_slot()
    staff.goto(live_app.url_for(reverse("appointments:move", args=[appointment.pk])))
    staff.fill("input[name=day]", soon.date().isoformat())
    staff.fill("input[name=start_time]", soon.strftime("%H:%M"))
    staff.select_option("select[name=duration]", "30")
    staff.check("input[name=channel][value=phone]")
    screenshots(staff, "move-form")
    before = len(mail.outbox)
    staff.locator("form:has(input[name=start_time]) [type=submit]").click()
    staff.wait_for_url(re.compile(rf"/termine/{appointment.pk}/$"))
    screenshots(staff, "moved")
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.sequence) == (soon, 1)
    invitations = _invitations(_mails_since(before))
    assert set(invitations) == {CLIENT_EMAIL, CASE_MANAGER_EMAIL}
    for method, event in invitations.values():
        assert method == "REQUEST"
        assert int(event["SEQUENCE"]) == 1
        assert str(event["UID"]) == f"{appointment.uid}@sprechstunde"
        assert event.decoded("DTSTART") == soon

    # 6. The client cancels on the phone, now less than 24 hours ahead: short notice.
    assert appointment.starts_at - timezone.now() < datetime.timedelta(hours=24)
    phone.goto(live_app.url_for(reverse("appointments:portal_detail", args=[appointment.pk])))
    cancel_form = phone.locator(
        f"form[action='{reverse('appointments:portal_cancel', args=[appointment.pk])}']"
    )
    cancel_form.locator("textarea[name=reason]").fill("Kind krank")
    screenshots(phone, "client-cancels")
    before = len(mail.outbox)
    cancel_form.locator("[type=submit]").click()
    phone.locator(".message--success").wait_for()
    screenshots(phone, "client-cancelled")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancellation_class == CancellationClass.CLIENT_LATE
    cancellations = _invitations(_mails_since(before))
    assert {method for method, _ in cancellations.values()} == {"CANCEL"}

    # ... and the team lead's figures count it, for the day it would have taken place.
    lead = new_context("desktop", user=team_lead).new_page()
    lead.goto(live_app.url_for(reverse("reporting:figures")))
    lead.fill("input[name=date_from]", soon.date().replace(day=1).isoformat())
    lead.fill("input[name=date_to]", soon.date().isoformat())
    lead.locator("form:has(input[name=date_from]) [type=submit]").click()
    lead.locator("[data-figure-summary]").wait_for()
    screenshots(lead, "figures")
    assert lead.locator("[data-figure-summary] [data-figure=appointments]").inner_text() == "1"
    short_notice = lead.locator("[data-figure-summary] [data-figure=short-notice-rate]")
    assert short_notice.inner_text().startswith("100,0\u00a0%")  # German number format
    phone_row = lead.locator("[data-figures-table=table-channel] tr[data-key=phone]")
    assert phone_row.locator("[data-figure=cancelled]").inner_text() == "1"
    assert "Haddad" not in lead.content() and "Fallmann" not in lead.content()
    export = lead.locator("[data-figures-export]").get_attribute("href")
    response = lead.request.get(live_app.url_for(export))
    assert response.ok
    rows = {r["dimension"]: r for r in csv.DictReader(io.StringIO(response.text()))}
    assert (rows["total"]["cancelled_client_late"], rows["total"]["short_notice_rate"]) == (
        "1",
        "1.0000",
    )
    assert page_problems(lead, touch_targets=False) == []


def test_figures_page_with_a_year_of_data_passes_the_page_checks(
    live_app, new_context, screenshots
):
    """The charts and tables of a realistic year at 360 px and 1280 px: axe-core, keyboard,
    CSP, no third-party requests."""
    from django.core.management import call_command

    team = TeamFactory(name="Team Nord")
    other = TeamFactory(name="Team Süd")
    for manager_team in (team, team, other):
        manager = CaseManagerFactory(team=manager_team)
        ClientFactory.create_batch(3, case_manager=manager)
    call_command("appointments_demo_year", stdout=io.StringIO())
    admin = AdminFactory(email="admin@jobcenter.example")
    lead = TeamLeadFactory(team=team)
    for user, kind in ((admin, "desktop"), (lead, "phone")):
        page = new_context(kind, user=user).new_page()
        page.goto(live_app.url_for(reverse("reporting:figures")))
        assert page.locator("svg.chart[role=img]").count() == 5
        screenshots(page, f"figures-{user.role}-{kind}")
        assert page_problems(page, touch_targets=kind == "phone") == []
        # Charts fit the phone's width: the page does not scroll sideways.
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
