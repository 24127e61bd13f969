"""An SMTP outage delays invitation mails but loses none: a real SMTP conversation on
localhost, a server that is down when the appointment is booked and up again later."""

import datetime
import email
import email.policy
import socketserver
import threading

import icalendar
import pytest
from django.core.management import call_command

from sprechstunde.appointments import services
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.models import AppointmentMail

from .conftest import local_dt, next_weekday

pytestmark = pytest.mark.django_db


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for Django's SMTP backend (no TLS, no auth)."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 localhost test SMTP")
        recipients: list[str] = []
        while True:
            line = self.rfile.readline().decode(errors="replace").strip()
            if not line:
                return
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 localhost")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(line.split(":", 1)[1].strip(" <>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = []
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                self.server.received.append((recipients, b"".join(data)))  # type: ignore[attr-defined]
                self.reply("250 OK queued")
            elif verb == "RSET":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


class LocalSMTPServer:
    def __init__(self, port: int = 0) -> None:
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), _SMTPHandler)
        self.server.daemon_threads = True
        self.server.received = []  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def received(self):
        return self.server.received  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_invitations_wait_out_an_smtp_outage_and_go_out_once_it_is_back(
    settings, case_manager, client_record, django_capture_on_commit_callbacks
):
    # Find a free port, then stop the server: the mail server is down.
    probe = LocalSMTPServer()
    port = probe.port
    probe.stop()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5

    day = next_weekday(2)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = services.appointment_book(
            actor=case_manager,
            client=client_record,
            starts_at=local_dt(day, 10),
            ends_at=local_dt(day, 10, 30),
            channel=Channel.PHONE,
        )
    pending = AppointmentMail.objects.filter(sent_at__isnull=True)
    assert pending.count() == 2, "the booking stands and its mails wait"
    assert all(mail.last_failed_at is not None for mail in pending)

    call_command("appointments_dispatch")  # still down: nothing lost, nothing sent
    assert AppointmentMail.objects.filter(sent_at__isnull=True).count() == 2

    server = LocalSMTPServer(port)
    try:
        call_command("appointments_dispatch")
        call_command("appointments_dispatch")  # a second run sends nothing twice
    finally:
        server.stop()

    assert not AppointmentMail.objects.filter(sent_at__isnull=True).exists()
    assert sorted(r[0][0] for r in server.received) == [
        "fm@jobcenter.example",
        "kundin@example.org",
    ]
    for _recipients, raw in server.received:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        assert part.get_param("method") == "REQUEST"
        content = part.get_content()
        content = content.encode() if isinstance(content, str) else content
        (event,) = icalendar.Calendar.from_ical(content).walk("VEVENT")
        assert str(event["UID"]) == f"{appointment.uid}@sprechstunde"
        assert event.decoded("dtstart").astimezone(datetime.UTC) == local_dt(day, 10).astimezone(
            datetime.UTC
        )
