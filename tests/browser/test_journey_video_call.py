"""One journey through a video appointment, as the client lives it on a 360 px phone
(issue 12, point 13): the 1-hour reminder's join link, logged out, into the waiting room in
two taps; the case manager lets her in, an interpreter joins by their link; media flows every
way; she shares a photo of a paper in the call's chat and the case manager sees it (the
interpreter only that something was shared); she leaves, the case manager ends the call; then
she logs into the portal by code and finds the appointment held and the next one on home.

Waits are generous (the machine is shared); nothing here measures time.
"""

from __future__ import annotations

import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sprechstunde.appointments.choices import AppointmentStatus, Channel, ReminderChannel
from sprechstunde.appointments.factories import AppointmentFactory
from sprechstunde.appointments.models import Appointment, Reminder
from sprechstunde.appointments.reminders import reminder_deliver
from sprechstunde.documents.testing import photo_jpeg
from sprechstunde.messaging.models import MessageAttachment
from sprechstunde.video_calls import services
from sprechstunde.video_calls.choices import InterpreterKind
from sprechstunde.video_calls.factories import VideoAppointmentFactory

from .support.auth import login_client_by_code
from .support.checks import page_problems
from .support.sample_data import build_world
from .test_video_calls import (
    STATS,
    TIMEOUT_MS,
    call_path,
    participant_id,
    poll,
)

pytestmark = pytest.mark.browser

LONG_MS = 3 * TIMEOUT_MS  # a shared, loaded machine; the documents pipeline (clamd, previews)


def join_link_from_the_reminder_mail(appointment, email: str) -> str:
    """The 1-hour reminder as the reminder job sends it, and the join link in its body."""
    reminder = Reminder.objects.create(
        appointment=appointment,
        sequence=appointment.sequence,
        step_minutes=60,
        channel=ReminderChannel.EMAIL,
        due_at=timezone.now(),
    )
    mail.outbox.clear()
    assert reminder_deliver(reminder_id=reminder.pk) == "sent"
    (message,) = [m for m in mail.outbox if m.to == [email]]
    join_path = reverse("video_calls:join_link", kwargs={"token": "TOKEN"}).replace("TOKEN/", "")
    (link,) = [
        url for url in re.findall(r"https?://\S+", message.body) if join_path in urlsplit(url).path
    ]
    return urlsplit(link).path


def patient(context):
    """A page whose every action waits long (the machine is shared with other test runs, and
    three pages decode video): waits on states, never assertions about time."""
    context.set_default_timeout(LONG_MS)
    return context.new_page()


def prejoin_and_join(page, *, camera: bool = True) -> None:
    """The pre-join check (both devices start off): switch on what is wanted, then join."""
    page.locator("#prejoin").wait_for(timeout=LONG_MS)
    wanted = ["prejoin-camera", "prejoin-mic"] if camera else ["prejoin-mic"]
    for button in wanted:
        page.locator(f"#{button}").click()
        page.wait_for_function(
            "id => document.getElementById(id).ariaPressed === 'true'",
            arg=button,
            timeout=LONG_MS,
        )
    page.locator("#join-button").click()


def open_more(page) -> None:
    """The "more" sheet (chat), with room for a busy machine: three calls' video decoding."""
    if page.locator("#more-sheet").is_hidden():
        page.locator("#ctl-more").click(timeout=LONG_MS)
    page.locator("#more-sheet").wait_for(timeout=LONG_MS)


def wait_phase(page, phase: str) -> None:
    page.wait_for_function(
        "phase => document.getElementById('call').dataset.phase === phase",
        arg=phase,
        timeout=LONG_MS,
    )


def arrives(page, peer_ids: list[int], key: str) -> None:
    """From this page, `key` (decoded video frames, audio packets) of every given peer is
    above zero and goes on rising: media flows."""

    def counts(stats):
        return {i: stats.get(str(i), {}).get(key, 0) for i in peer_ids}

    wait = LONG_MS / 1000
    first = counts(poll(page, STATS, None, lambda s: all(counts(s).values()), timeout=wait))
    poll(page, STATS, None, lambda s: all(counts(s)[i] > first[i] for i in peer_ids), timeout=wait)


def test_from_the_reminder_through_the_call_with_an_interpreter_and_a_photo_to_home(
    new_context, live_app, screenshots, documents_configured
):
    world = build_world()
    name = world.client_user.get_full_name()
    now = timezone.now()
    appointment = VideoAppointmentFactory(
        case_manager=world.case_manager,
        client=world.client,
        starts_at=now + datetime.timedelta(minutes=60),
        ends_at=now + datetime.timedelta(minutes=90),
    )
    later = AppointmentFactory(
        case_manager=world.case_manager,
        client=world.client,
        channel=Channel.VIDEO,
        starts_at=now + datetime.timedelta(days=3),
        ends_at=now + datetime.timedelta(days=3, minutes=30),
    )
    link = join_link_from_the_reminder_mail(appointment, world.client.email)
    # An hour later the appointment begins (the clock moves on; the link's version stays):
    # attendance can be recorded once it has begun.
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=now - datetime.timedelta(minutes=1),
        ends_at=now + datetime.timedelta(minutes=29),
    )
    _invitation, interpreter_token = services.interpreter_invite(
        actor=world.case_manager,
        appointment=appointment,
        kind=InterpreterKind.SPOKEN,
        language="Arabisch",
    )

    # The case manager opens the call from her desk.
    desk = patient(new_context("desktop", user=world.case_manager))
    desk.goto(call_path(appointment))
    prejoin_and_join(desk)
    wait_phase(desk, "in-call")

    # The client, logged out, on her phone: the mail's link, then "join with camera".
    phone = patient(new_context("phone"))
    taps = 1
    phone.goto(link)
    phone.locator("#prejoin").wait_for(timeout=LONG_MS)
    assert phone.locator("#prejoin-opens").count() == 0  # the call is open
    taps += 1
    phone.locator("#join-camera").tap()
    wait_phase(phone, "waiting")
    assert taps <= 2
    screenshots(phone, "phone-waiting-room")

    # The interpreter comes by their link (their name, sound only: they interpret by voice)
    # and waits too.
    interpreter = patient(new_context("desktop"))
    interpreter.goto(reverse("video_calls:interpreter", kwargs={"token": interpreter_token}))
    interpreter.locator("#id_display_name").fill("Ina Dolmetsch")
    interpreter.locator("#interpreter-form [type=submit]").click()
    prejoin_and_join(interpreter, camera=False)
    wait_phase(interpreter, "waiting")

    # The case manager lets her in, then the interpreter.
    row = desk.locator("#waiting-list li", has_text=name)
    row.wait_for(timeout=LONG_MS)
    row.locator("[data-action=admit]").click()
    wait_phase(phone, "in-call")
    desk.locator("#waiting-list li", has_text="Ina").wait_for(timeout=LONG_MS)
    desk.locator("#admit-all").click()
    wait_phase(interpreter, "in-call")

    # They talk: client and case manager see and hear each other (frames decoded and rising
    # on both sides), the interpreter hears both and both hear the interpreter.
    desk_id, phone_id, interpreter_id = (
        participant_id(page) for page in (desk, phone, interpreter)
    )
    for key in ("framesDecoded", "audioPacketsReceived"):
        arrives(phone, [desk_id], key)
        arrives(desk, [phone_id], key)
    arrives(phone, [interpreter_id], "audioPacketsReceived")
    arrives(desk, [interpreter_id], "audioPacketsReceived")
    arrives(interpreter, [desk_id, phone_id], "audioPacketsReceived")
    screenshots(phone, "phone-in-call")

    # She shares a photo of a letter in the call's chat.
    open_more(phone)
    pick = phone.locator("label[for=chat-file]")
    box = pick.bounding_box()
    assert box is not None and box["height"] >= 44
    with phone.expect_file_chooser() as chooser:
        pick.tap()
    chooser.value.set_files(
        {
            "name": "schreiben-vermieter.jpg",
            "mimeType": "image/jpeg",
            "buffer": photo_jpeg(size=(1200, 1600), band=(240, 240, 235), grain=4.0),
        }
    )
    # The case manager sees it arrive, first "being checked", then a thumbnail that opens
    # the document beside the call.
    open_more(desk)
    line = desk.locator("#chat-log li", has_text="schreiben-vermieter.jpg")
    line.wait_for(timeout=LONG_MS)
    assert name in line.inner_text()
    ready = line.locator("[data-file-state=ready] a[target=_blank] img")
    ready.wait_for(timeout=LONG_MS)
    attachment = MessageAttachment.objects.select_related("document", "message").get()
    assert attachment.message.conversation.client == world.client
    assert attachment.document.client == world.client
    # The thumbnail has loaded (or loads now: it was just put on the page) and shows pixels.
    assert ready.evaluate(
        """img => img.complete ? img.naturalWidth > 0 : new Promise(done => {
            img.addEventListener("load", () => done(img.naturalWidth > 0));
            img.addEventListener("error", () => done(false));
        })"""
    )
    screenshots(desk, "desk-photo-in-the-call-chat")
    # Her own page shows it as checked; the interpreter's only that a file was shared.
    phone.locator("#chat-log [data-file-state=ready]").wait_for(timeout=LONG_MS)
    open_more(interpreter)
    shared = interpreter.locator("#chat-log li").first
    shared.wait_for(timeout=LONG_MS)
    assert "schreiben-vermieter" not in interpreter.locator("#chat-log").inner_text()
    assert interpreter.locator("#chat-log [data-file-id]").count() == 0
    assert interpreter.locator("#chat-files").count() == 0  # and shares none

    # She leaves; the case manager ends the call for everyone.
    phone.locator("#sheet-close").click(timeout=LONG_MS)
    phone.locator("#ctl-leave").click(timeout=LONG_MS)
    wait_phase(phone, "left")
    desk.wait_for_function(
        "id => !window.sprechstundeCall.peerIds().includes(id)", arg=phone_id, timeout=LONG_MS
    )
    desk.once("dialog", lambda dialog: dialog.accept())
    open_more(desk)
    desk.locator("#ctl-end").click(timeout=LONG_MS)
    wait_phase(desk, "ended")
    wait_phase(interpreter, "ended")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.HELD
    assert appointment.actual_minutes and appointment.actual_minutes >= 1

    # Later, in the portal (the code login: the link's session opened that call only).
    login_client_by_code(phone, live_app, world.client.email)
    phone.goto(reverse("clients:portal_home"))
    card = phone.locator(f"#next-appointment[data-appointment='{later.pk}']")
    card.wait_for(timeout=LONG_MS)
    assert timezone.localtime(later.starts_at).strftime("%H:%M") in card.inner_text()
    screenshots(phone, "phone-home-next-appointment")
    problems = page_problems(phone, touch_targets=True)
    phone.goto(reverse("appointments:portal_detail", kwargs={"pk": appointment.pk}))
    assert "Stattgefunden" in phone.locator("main").inner_text()
    assert phone.locator("#video-join-button").count() == 0
    screenshots(phone, "phone-appointment-held")
    assert not problems, "\n".join(problems)


def test_the_link_opened_before_the_call_opens_shows_the_check_and_lets_her_in_on_time(
    new_context, screenshots
):
    """Between 30 and 15 minutes before the start the link is good but the call not open yet:
    the pre-join check with the time, join buttons waiting, and at that time they come on by
    themselves (no reload) and one tap joins (ADR 0057)."""
    world = build_world()
    # The call opens 15 minutes before the start: here, about 20 seconds from now.
    starts = timezone.now() + datetime.timedelta(minutes=15, seconds=20)
    appointment = VideoAppointmentFactory(
        case_manager=world.case_manager,
        client=world.client,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(minutes=30),
    )
    link = join_link_from_the_reminder_mail(appointment, world.client.email)
    phone = patient(new_context("phone"))
    phone.goto(link)
    phone.locator("#prejoin").wait_for(timeout=LONG_MS)
    notice = phone.locator("#prejoin-opens")
    opens = timezone.localtime(starts - datetime.timedelta(minutes=15)).strftime("%H:%M")
    assert opens in notice.inner_text()
    # The device check works meanwhile; joining waits.
    assert phone.locator("#join-camera").is_disabled()
    assert phone.locator("#join-audio").is_disabled()
    phone.locator("#prejoin-both").tap()
    phone.wait_for_function(
        "() => document.getElementById('prejoin-camera').ariaPressed === 'true'",
        timeout=LONG_MS,
    )
    box = phone.locator("#join-camera").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 740  # still on the first screen
    screenshots(phone, "phone-early-prejoin")
    problems = page_problems(phone, touch_targets=True)

    # The time comes: the buttons come on without a reload, and one tap joins.
    phone.evaluate("() => { window.stillTheSamePage = true; }")
    phone.wait_for_function(
        "() => !document.getElementById('join-camera').disabled", timeout=LONG_MS * 2
    )
    assert notice.is_hidden()
    phone.locator("#join-camera").tap()
    wait_phase(phone, "waiting")
    assert phone.evaluate("() => window.stillTheSamePage === true")
    assert not problems, "\n".join(problems)
