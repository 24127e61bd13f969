"""The calendar files we send (iTIP invitations and the staff feed) for any appointment
data: addresses, notes and names with any characters (new lines, commas, semicolons,
backslashes, quotes, emoji, very long lines), any times in any zone, any UID and revision.
The icalendar library reads back what we put in; lines are folded at 75 octets and end in
CRLF, so strict calendar apps accept the file.
"""

from __future__ import annotations

import datetime
import re
import uuid

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sprechstunde.accounts.models import User
from sprechstunde.appointments import ical
from sprechstunde.appointments.choices import AppointmentStatus, Channel, MailRecipient
from sprechstunde.appointments.models import Appointment
from sprechstunde.clients.models import Client

from .profiles import budget

pytestmark = pytest.mark.fuzz

UTC = datetime.UTC

_TRICKY = list(",;:\\\"'\n\r\t\x0b\x0c\x1c\x85\u2028\u2029 \u00a0ÄöüßéЖ中😀👩🏽‍💻\ufeff\u200b")
_texts = st.text(st.one_of(st.characters(codec="utf-8"), st.sampled_from(_TRICKY)), max_size=200)
_long_texts = st.text(st.sampled_from(_TRICKY + list("abc ")), min_size=70, max_size=600)
_free_text = st.one_of(_texts, _long_texts)

_times = st.datetimes(
    min_value=datetime.datetime(1970, 1, 2),  # noqa: DTZ001 (bounds of a zoned strategy)
    max_value=datetime.datetime(2200, 12, 30),  # noqa: DTZ001
    timezones=st.timezones(),
).map(lambda moment: moment.replace(microsecond=0))
_durations = st.integers(1, 24 * 60 * 14).map(lambda minutes: datetime.timedelta(minutes=minutes))


@st.composite
def appointments(draw: st.DrawFn) -> Appointment:
    """An unsaved appointment with its case manager and client (ical.py reads no database)."""
    case_manager = User(
        pk=draw(st.integers(1, 2**31)),
        email=draw(st.emails()),
        first_name=draw(_free_text),
        last_name=draw(_texts),
    )
    client = Client(
        pk=draw(st.integers(1, 2**31)),
        first_name=draw(_free_text),
        last_name=draw(_texts),
        email=draw(st.just("") | st.emails()),
    )
    starts_at = draw(_times)
    return Appointment(
        pk=draw(st.integers(1, 2**31)),
        uid=draw(st.uuids()),
        sequence=draw(st.integers(0, 2**31 - 1)),
        case_manager=case_manager,
        client=client,
        starts_at=starts_at,
        ends_at=starts_at + draw(_durations),
        channel=draw(st.sampled_from(Channel.values)),
        location=draw(_free_text),
        status=draw(st.sampled_from(AppointmentStatus.values)),
    )


def _assert_lines_are_folded_with_crlf(data: bytes) -> None:
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    for line in lines:
        assert len(line) <= 75, line
        # No bare CR or LF, and no other control character but TAB (RFC 5545 3.1, 3.3.11).
        assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", line), line
    # A folded line never splits a UTF-8 character (strict parsers decode line by line).
    for line in lines:
        line.decode("utf-8")


def _same_text(parsed: object, written: str) -> None:
    """The text read back is the text written, except what a calendar cannot hold: CR and CRLF
    come back as LF (TEXT has one kind of line end), other control characters as spaces, and
    byte order marks are left out."""
    expected = written.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    expected = "".join(
        " " if (ord(ch) < 32 and ch not in "\t\n") or ch == "\x7f" else ch for ch in expected
    )
    assert str(parsed) == expected


def _assert_event_round_trips(event: icalendar.Event, appointment: Appointment, audience: str):
    assert str(event["UID"]) == f"{appointment.uid}@{ical.UID_DOMAIN}"
    assert uuid.UUID(str(event["UID"]).split("@")[0]) == appointment.uid
    assert int(event["SEQUENCE"]) == appointment.sequence
    # Compared in UTC: == between zones is always False for a time that happens twice.
    assert event.decoded("DTSTART").astimezone(UTC) == appointment.starts_at.astimezone(UTC)
    assert event.decoded("DTEND").astimezone(UTC) == appointment.ends_at.astimezone(UTC)
    _same_text(event["SUMMARY"], ical.summary_text(appointment, audience))
    _same_text(event["LOCATION"], ical.location_text(appointment, audience))
    _same_text(event["URL"], ical.event_url(appointment, audience))
    assert ical.appointment_url(appointment, audience) in str(event["DESCRIPTION"])
    organizer = event["ORGANIZER"]
    assert _address(organizer) == appointment.case_manager.email
    _same_name(organizer.params["CN"], appointment.case_manager.display_name)
    attendee = event["ATTENDEE"]
    if audience == MailRecipient.CLIENT and appointment.client.email:
        assert _address(attendee) == appointment.client.email
        _same_name(attendee.params["CN"], appointment.client.full_name)


def _address(value: object) -> str:
    return re.sub(r"^mailto:", "", str(value), flags=re.IGNORECASE)


def _same_name(parsed: object, written: str) -> None:
    """A parameter (CN) has no backslash escapes in RFC 5545, but icalendar's reader removes
    backslashes before , ; and \\ in it; so backslashes are left out of the comparison."""
    written = written.replace("\r\n", "\n").replace("\r", "\n")  # line ends first, as we do
    _same_text(str(parsed).replace("\\", ""), written.replace("\\", ""))


@budget(ci=150)
@given(
    appointment=appointments(),
    method=st.sampled_from(["REQUEST", "CANCEL"]),
    audience=st.sampled_from([MailRecipient.CLIENT, MailRecipient.CASE_MANAGER]),
)
def test_any_invitation_reads_back_the_same(appointment, method, audience):
    data = ical.itip_calendar(appointment, method=method, audience=audience)
    _assert_lines_are_folded_with_crlf(data)
    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["METHOD"]) == method
    [event] = calendar.walk("VEVENT")
    _assert_event_round_trips(event, appointment, audience)


@budget(ci=50)
@given(appointments=st.lists(appointments(), max_size=4))
def test_any_staff_feed_reads_back_the_same(appointments):
    data = ical.feed_calendar(appointments, user=None)
    _assert_lines_are_folded_with_crlf(data)
    events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert len(events) == len(appointments)
    for event, appointment in zip(events, appointments, strict=True):
        _assert_event_round_trips(event, appointment, MailRecipient.CASE_MANAGER)


def _appointment(**changes) -> Appointment:
    start = datetime.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    fields = {
        "pk": 7,
        "uid": uuid.UUID(int=7),
        "case_manager": User(pk=1, email="fm@jobcenter.example", first_name="Fe", last_name="M"),
        "client": Client(pk=2, first_name="Kim", last_name="Kunde", email="kim@example.org"),
        "starts_at": start,
        "ends_at": start + datetime.timedelta(minutes=30),
        "channel": Channel.PHONE,
        "location": "",
    }
    return Appointment(**{**fields, **changes})


def test_a_time_in_the_hour_the_clocks_go_back_is_written_in_utc():
    """Found by the fuzzer: 02:30 CET after the switch was written as TZID 02:30, which every
    reader takes as 02:30 CEST, an hour early. Unambiguous times keep the TZID."""
    second_half_past_two = datetime.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET
    appointment = _appointment(
        starts_at=second_half_past_two,
        ends_at=second_half_past_two + datetime.timedelta(minutes=30),
    )
    data = ical.itip_calendar(appointment, method="REQUEST", audience=MailRecipient.CLIENT)
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert event.decoded("DTSTART").astimezone(UTC) == second_half_past_two
    assert b"DTSTART:20261025T013000Z" in data
    assert b"DTEND;TZID=Europe/Berlin:20261025T030000" in data


def test_control_characters_in_names_and_notes_do_not_break_the_file():
    """Found by the fuzzer: a vertical tab in a name made icalendar drop the ORGANIZER line;
    a byte order mark at the start of a note was lost on reading."""
    case_manager = User(pk=1, email="fm@jobcenter.example", first_name="Fe\x0bli", last_name="X")
    appointment = _appointment(case_manager=case_manager, location="\ufeffZimmer\x0c 3\r\nFlur")
    data = ical.itip_calendar(appointment, method="REQUEST", audience=MailRecipient.CLIENT)
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(event["ORGANIZER"].params["CN"]) == "Fe li X"
    assert str(event["LOCATION"]) == "Phone: Zimmer  3\nFlur"


def test_a_name_ending_in_a_backslash_keeps_the_address():
    """Found by make fuzz: the name "\\\\" was written as CN=\\:mailto:…, which icalendar read
    as an escaped colon, losing the organizer's address."""
    case_manager = User(pk=1, email="fm@jobcenter.example", first_name="\\", last_name="")
    data = ical.itip_calendar(
        _appointment(case_manager=case_manager), method="REQUEST", audience=MailRecipient.CLIENT
    )
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert _address(event["ORGANIZER"]) == "fm@jobcenter.example"
