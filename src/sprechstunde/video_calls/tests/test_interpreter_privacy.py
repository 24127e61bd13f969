"""What an interpreter learns about the client, and how many people one link lets in.

An interpreter is a stranger with a link: they see the client's first name and initial
("Lena H."), never the e-mail address or the last name, in any page or websocket frame.
Staff see the name as the Jobcenter knows it. One link admits one browser; a second one
waits for staff to let it in on its own, and no further one gets a waiting-room entry.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse
from django.utils import timezone

from sprechstunde.clients import services as client_services
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.models import ConsentText
from sprechstunde.video_calls import services
from sprechstunde.video_calls.factories import VideoAppointmentFactory
from sprechstunde.video_calls.models import Participant
from sprechstunde.video_calls.services import MAX_DEVICES_PER_INVITATION

from .conftest import browser_for, communicator, run, session_cookie, ws_path
from .conftest import receive_until as _receive_until

pytestmark = pytest.mark.django_db(transaction=True)
# Long scenarios on a loaded machine: a generous bound on each wait (not a timed assertion).
WAIT = 10


async def receive_until(socket, wanted_type):
    return await _receive_until(socket, wanted_type, timeout=WAIT)


EMAIL = "lena.hoffmann@example.org"
LAST_NAME = "Hoffmann"


def lena_through_the_invitation(case_manager):
    """Lena Hoffmann as the app makes her: created by staff, invited, and accepting with
    video consent (her portal account is made by invitation_accept, not by a factory)."""
    for purpose in ConsentPurpose.values:  # transactional tests flush the seeded texts
        ConsentText.objects.get_or_create(
            purpose=purpose,
            language="en",
            version=1,
            defaults={"title": purpose, "body": "Text", "published_at": timezone.now()},
        )
    client = client_services.client_create(
        actor=case_manager, first_name="Lena", last_name=LAST_NAME, email=EMAIL
    )
    issued = client_services.invitation_send(client=client, actor=case_manager)
    return client_services.invitation_accept(
        token=issued.token, purposes=ConsentPurpose.values, language="en"
    )


def recorded(socket, log: list[str]):
    """Every text frame the server sends to `socket` goes into `log`, as sent."""
    receive = socket.receive_output

    async def receive_output(timeout=2):
        message = await receive(timeout)
        if message["type"] == "websocket.send":
            log.append(message.get("text") or repr(message.get("bytes")))
        return message

    socket.receive_output = receive_output
    return socket


async def open_socket(call, cookie, log, *, lobby=False):
    socket = recorded(communicator(ws_path(call), cookie=cookie), log)
    if lobby:
        socket.scope["query_string"] = b"s=0123456789abcdef&m=lobby"
    connected, _code = await socket.connect()
    assert connected
    return socket, await socket.receive_json_from(timeout=WAIT)


def test_the_interpreter_sees_the_clients_first_name_and_initial_and_nothing_more(case_manager):
    lena = lena_through_the_invitation(case_manager)
    assert lena.user.display_name == "Lena Hoffmann"
    call = services.call_get_or_create(
        appointment=VideoAppointmentFactory(case_manager=case_manager, client=lena)
    )
    _invitation, token = services.interpreter_invite(
        actor=case_manager, appointment=call.appointment, kind="spoken", language="Ukrainisch"
    )
    link = reverse("video_calls:interpreter", kwargs={"token": token})
    interpreter_browser = browser_for(None)
    pages = [interpreter_browser.get(link)]
    pages.append(interpreter_browser.post(link, {"display_name": "Ina Dolmetsch"}, follow=True))
    interpreter_cookie = interpreter_browser.cookies["sessionid"].value
    host_cookie, lena_cookie = session_cookie(case_manager), session_cookie(lena.user)
    seen: list[str] = []  # every frame the interpreter's pages receive
    host_seen: list[str] = []

    async def scenario():
        host, _ = await open_socket(call, host_cookie, host_seen)
        guest, guest_welcome = await open_socket(call, lena_cookie, [])
        await host.send_json_to({"type": "admit", "participant": guest_welcome["me"]})
        await receive_until(guest, "roster")

        interpreter, hello = await open_socket(call, interpreter_cookie, seen, lobby=True)
        await interpreter.send_json_to({"type": "join"})
        await receive_until(interpreter, "welcome")
        await host.send_json_to({"type": "admit", "participant": hello["me"]})
        await receive_until(interpreter, "admitted")
        await receive_until(interpreter, "roster")
        await guest.send_json_to({"type": "chat", "text": "Guten Tag"})
        await receive_until(interpreter, "chat")
        await host.send_json_to({"type": "chat", "text": "Willkommen"})
        await receive_until(interpreter, "chat")
        await guest.send_json_to({"type": "media", "audio": False, "video": True})
        await receive_until(interpreter, "media")
        await interpreter.send_json_to({"type": "signal", "to": guest_welcome["me"]})
        await receive_until(interpreter, "error")

        # A reload: the page comes back admitted, with the roster in its welcome.
        await interpreter.disconnect()
        interpreter, rejoined = await open_socket(call, interpreter_cookie, seen)
        assert rejoined["state"] == "admitted" and rejoined["participants"]
        await guest.send_json_to({"type": "leave"})
        await receive_until(interpreter, "left")
        await interpreter.send_json_to({"type": "ping"})
        await receive_until(interpreter, "pong")
        await host.send_json_to({"type": "ping"})
        await receive_until(host, "pong")
        for socket in (host, interpreter):
            await socket.disconnect()

    run(scenario)
    pages.append(interpreter_browser.get(link))

    frames = [json.loads(text) for text in seen]
    kinds = {frame["type"] for frame in frames}
    assert {"hello", "welcome", "admitted", "roster", "chat", "media", "left"} <= kinds
    assert len(pages) == 3 and all(page.status_code == 200 for page in pages)
    for text in seen + [page.content.decode() for page in pages]:
        assert EMAIL not in text.lower()
        assert LAST_NAME.lower() not in text.lower()
    client_entries = [
        person
        for frame in frames
        for person in frame.get("participants", [])
        if person["role"] == "client"
    ]
    assert client_entries and {person["name"] for person in client_entries} == {"Lena H."}
    assert all(set(person) >= {"id", "name", "role", "state"} for person in client_entries)
    assert not any("name_for_interpreters" in text for text in seen)
    chats = [frame for frame in frames if frame["type"] == "chat"]
    assert [(chat["name"], chat["text"]) for chat in chats] == [
        ("Lena H.", "Guten Tag"),
        (case_manager.display_name, "Willkommen"),
    ]

    # Staff see the name the Jobcenter knows, and no address either.
    host_frames = [json.loads(text) for text in host_seen]
    host_names = {
        person["name"]
        for frame in host_frames
        for person in frame.get("participants", [])
        if person["role"] == "client"
    }
    assert host_names == {"Lena Hoffmann"}
    assert not any(EMAIL in text.lower() for text in host_seen)
    assert not any("name_for_interpreters" in text for text in host_seen)


def test_a_renamed_client_shows_under_the_new_name_at_the_next_roster(case_manager):
    lena = lena_through_the_invitation(case_manager)
    call = services.call_get_or_create(
        appointment=VideoAppointmentFactory(case_manager=case_manager, client=lena)
    )
    host_cookie, lena_cookie = session_cookie(case_manager), session_cookie(lena.user)

    async def scenario():
        host, _ = await open_socket(call, host_cookie, [])
        guest, _ = await open_socket(call, lena_cookie, [])
        first, _ = await receive_until(host, "roster")
        await guest.disconnect()
        second, _ = await receive_until(host, "roster")
        await host.disconnect()
        return first, second

    first, _second = run(scenario)
    assert [p["name"] for p in first["participants"] if p["role"] == "client"] == ["Lena Hoffmann"]
    client_services.client_update(
        client=lena,
        actor=case_manager,
        first_name="Lena",
        last_name="Hoffmann-Berg",
        email=EMAIL,
        mobile_number="",
        preferred_language="en",
    )

    async def again():
        host, _ = await open_socket(call, host_cookie, [])
        guest, _ = await open_socket(call, lena_cookie, [])
        roster, _ = await receive_until(host, "roster")
        for socket in (host, guest):
            await socket.disconnect()
        return roster

    roster = run(again)
    assert [p["name"] for p in roster["participants"] if p["role"] == "client"] == [
        "Lena Hoffmann-Berg"
    ]


def test_the_waiting_notice_names_the_client_as_the_jobcenter_knows_her(case_manager):
    lena = lena_through_the_invitation(case_manager)
    call = services.call_get_or_create(
        appointment=VideoAppointmentFactory(case_manager=case_manager, client=lena)
    )
    lena_cookie = session_cookie(lena.user)
    staff_browser = browser_for(case_manager)

    async def scenario():
        guest, _ = await open_socket(call, lena_cookie, [])
        answer = await database_call(staff_browser.get, reverse("video_calls:waiting"))
        await guest.disconnect()
        return answer

    answer = run(scenario)
    assert answer.json()["waiting"][0]["names"] == ["Lena Hoffmann"]


async def database_call(function, *args):
    return await database_sync_to_async(function)(*args)


# --- one link, one person ---------------------------------------------------------------------


def test_one_link_admits_one_browser_and_a_second_one_waits_for_staff(call, case_manager):
    _invitation, token = services.interpreter_invite(
        actor=case_manager, appointment=call.appointment, kind="spoken"
    )
    link = reverse("video_calls:interpreter", kwargs={"token": token})
    first, second = browser_for(None), browser_for(None)
    for _attempt in range(5):  # the same browser, again and again: one entry
        assert first.post(link, {"display_name": "Ina Dolmetsch"}).status_code == 302
        assert first.get(link).status_code == 200
    assert second.post(link, {"display_name": "Ina am Handy"}).status_code == 302
    assert second.post(link, {"display_name": "Ina am Handy"}).status_code == 302
    others = [browser_for(None).post(link, {"display_name": f"Gast {n}"}) for n in range(25)]

    entries = list(Participant.objects.filter(invitation__call=call).order_by("pk"))
    assert len(entries) == MAX_DEVICES_PER_INVITATION == 2
    assert [(p.display_name, p.is_second_device) for p in entries] == [
        ("Ina Dolmetsch", False),
        ("Ina am Handy", True),
    ]
    assert {answer.status_code for answer in others} == {410}
    assert "already in use on two devices" in others[0].content.decode()

    host_cookie = session_cookie(case_manager)
    first_cookie = first.cookies["sessionid"].value
    second_cookie = second.cookies["sessionid"].value

    async def scenario():
        host, _ = await open_socket(call, host_cookie, [])
        laptop, laptop_welcome = await open_socket(call, first_cookie, [])
        phone, phone_welcome = await open_socket(call, second_cookie, [])
        roster, _ = await receive_until(host, "roster")
        while len([p for p in roster["participants"] if p["state"] == "waiting"]) < 2:
            roster, _ = await receive_until(host, "roster")
        await host.send_json_to({"type": "admit_all"})
        await receive_until(laptop, "admitted")
        after_all, _ = await receive_until(host, "roster")
        await host.send_json_to({"type": "admit", "participant": phone_welcome["me"]})
        await receive_until(phone, "admitted")
        for socket in (host, laptop, phone):
            await socket.disconnect()
        return laptop_welcome, phone_welcome, roster, after_all

    laptop_welcome, phone_welcome, roster, after_all = run(scenario)
    assert laptop_welcome["me"] == entries[0].pk and phone_welcome["me"] == entries[1].pk
    marked = {p["id"]: p["second_device"] for p in roster["participants"]}
    assert marked[entries[0].pk] is False and marked[entries[1].pk] is True
    states = {p["id"]: p["state"] for p in after_all["participants"]}
    assert states[entries[0].pk] == "admitted" and states[entries[1].pk] == "waiting"


def test_the_waiting_notice_tells_staff_about_a_second_device(call, case_manager):
    _invitation, token = services.interpreter_invite(
        actor=case_manager, appointment=call.appointment, kind="spoken"
    )
    link = reverse("video_calls:interpreter", kwargs={"token": token})
    first, second = browser_for(None), browser_for(None)
    first.post(link, {"display_name": "Ina Dolmetsch"})
    second.post(link, {"display_name": "Ina am Handy"})
    cookies = [browser.cookies["sessionid"].value for browser in (first, second)]
    staff_browser = browser_for(case_manager)

    async def scenario():
        sockets = [(await open_socket(call, cookie, []))[0] for cookie in cookies]
        answer = await database_call(staff_browser.get, reverse("video_calls:waiting"))
        for socket in sockets:
            await socket.disconnect()
        return answer

    names = run(scenario).json()["waiting"][0]["names"]
    assert names == ["Ina Dolmetsch", "Ina am Handy (second device for the interpreter link)"]


def test_a_browser_put_out_by_staff_does_not_get_a_new_entry(call, case_manager):
    invitation, token = services.interpreter_invite(
        actor=case_manager, appointment=call.appointment, kind="spoken"
    )
    link = reverse("video_calls:interpreter", kwargs={"token": token})
    browser = browser_for(None)
    browser.post(link, {"display_name": "Ina Dolmetsch"})
    host = services.participant_for_user(call=call, user=case_manager, role="staff")
    entry = Participant.objects.get(invitation=invitation)
    services.participant_remove(host=host, participant_id=entry.pk)

    answer = browser.post(link, {"display_name": "Ina Dolmetsch"})

    assert answer.status_code == 410
    assert "no longer part of this call" in answer.content.decode()
    assert Participant.objects.filter(invitation=invitation).count() == 1
