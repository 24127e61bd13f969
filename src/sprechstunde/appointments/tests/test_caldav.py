"""CalDAV sync against a real Radicale server from Debian (package `radicale`), on localhost."""

import base64
import datetime
import io
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import icalendar
import pytest
import vobject

from sprechstunde.appointments import services
from sprechstunde.appointments.caldav import CalDavCalendar, CalDavError
from sprechstunde.appointments.choices import Channel

from .conftest import local_dt, next_weekday

RADICALE = shutil.which("radicale") or "/usr/bin/radicale"
USER, PASSWORD = "fm@jobcenter.example", "kalender-geheim"

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url, method="GET", body=None):
    secret = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 (a local http:// URL)
        url, data=body, method=method, headers={"Authorization": f"Basic {secret}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@pytest.fixture
def radicale(tmp_path):
    """A Radicale server with one user and one calendar collection for them."""
    if not shutil.which("radicale") and not shutil.which(RADICALE):
        pytest.skip("Radicale is not installed (Debian: apt-get install radicale)")
    (tmp_path / "users").write_text(f"{USER}:{PASSWORD}\n")
    port = _free_port()
    process = subprocess.Popen(
        [
            RADICALE,
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(tmp_path / "users"),
            "--auth-htpasswd-encryption",
            "plain",
            "--rights-type",
            "owner_only",
            "--storage-filesystem-folder",
            str(tmp_path / "collections"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        collection = f"{base}/{USER}/termine/"
        status, _ = _request(collection, method="MKCALENDAR")
        assert status == 201, status
        yield collection
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def caldav_settings(settings, radicale):
    settings.CALDAV_URL = radicale.replace(USER, "{email}")
    settings.CALDAV_USERNAME = "{email}"
    settings.CALDAV_PASSWORD = PASSWORD
    return radicale


def test_book_move_cancel_reach_the_caldav_calendar(
    caldav_settings, case_manager, client_record, django_capture_on_commit_callbacks
):
    # A name no staff member has (random factory names can collide with the case manager's).
    client_record.last_name = "Vertraulichmann"
    client_record.save(update_fields=["last_name"])
    day = next_weekday(2)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = services.appointment_book(
            actor=case_manager,
            client=client_record,
            starts_at=local_dt(day, 10),
            ends_at=local_dt(day, 10, 30),
            channel=Channel.PHONE,
        )
    url = f"{caldav_settings}{appointment.uid}.ics"
    status, body = _request(url)
    assert status == 200
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    parsed = vobject.readOne(io.StringIO(body.decode()))
    assert str(event["UID"]) == parsed.vevent.uid.value == f"{appointment.uid}@sprechstunde"
    assert parsed.vevent.dtstart.value.astimezone(datetime.UTC) == local_dt(day, 10).astimezone(
        datetime.UTC
    )
    assert client_record.last_name.encode() not in body

    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_move(
            actor=case_manager,
            appointment=appointment,
            starts_at=local_dt(day, 14),
            ends_at=local_dt(day, 14, 45),
        )
    status, body = _request(url)
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("dtstart") == local_dt(day, 14)

    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_cancel(actor=case_manager, appointment=appointment, reason="Krank")
    assert _request(url)[0] == 404


def test_wrong_password_and_unreachable_server_raise_caldav_error(radicale):
    calendar = CalDavCalendar(url=radicale, username=USER, password="falsch")
    with pytest.raises(CalDavError):
        calendar.put(name="x.ics", ics=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    with pytest.raises(CalDavError):
        CalDavCalendar(url=f"http://127.0.0.1:{_free_port()}/", timeout=2).delete(name="x.ics")


def test_caldav_outage_does_not_undo_the_booking(
    settings, case_manager, client_record, django_capture_on_commit_callbacks
):
    settings.CALDAV_URL = f"http://127.0.0.1:{_free_port()}/{{email}}/termine/"
    day = next_weekday(2)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = services.appointment_book(
            actor=case_manager,
            client=client_record,
            starts_at=local_dt(day, 10),
            ends_at=local_dt(day, 10, 30),
            channel=Channel.PHONE,
        )
    appointment.refresh_from_db()
    assert appointment.status == "booked"
