"""The dev outbox (/postausgang/) exists only in development: with DEBUG on.

Without DEBUG it would show every client's fresh login code to every staff member, so the
production settings refuse to start without a mail server instead of falling back to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

REPO = Path(__file__).resolve().parents[4]

_PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, resolve
try:
    resolve("/postausgang/")
    resolves = True
except Resolver404:
    resolves = False
# Without DEBUG the 404 page needs collected static files (the manifest); the resolver's
# Resolver404 is what becomes that 404.
status = Client().get("/postausgang/").status_code if settings.DEBUG else None
print(json.dumps({
    "backend": settings.EMAIL_BACKEND,
    "outbox": settings.DEV_OUTBOX_ENABLED,
    "resolves": resolves,
    "status": status,
}))
"""


def _start(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """The production settings in a fresh process, with only the mail variables we pass."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "EMAIL_", "DEBUG", "DATABASE_", "REDIS_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "PYTHONPATH": str(REPO / "src"),
            "SECRET_KEY": "startup-test-only",
            "DOCUMENT_MASTER_KEYS": "test-only:dGVzdC1vbmx5LWRvY3VtZW50LW1hc3Rlci1rZXkhISE=",
            "ALLOWED_HOSTS": "testserver",
            "USE_TLS": "false",
            "SPRECHSTUNDE_VAR_DIR": str(tmp_path),
            **environment,
        }
    )
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _probe(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_debug_and_no_mail_server_mails_go_to_the_outbox_page(tmp_path):
    seen = _probe(_start(tmp_path, DEBUG="true"))

    assert seen["backend"] == "sprechstunde.core.mail_outbox.DevOutboxBackend"
    assert seen["outbox"] is True
    assert seen["resolves"] is True
    # Anonymous visitors are sent to the login, not shown a 404.
    assert seen["status"] == 302


def test_without_debug_and_without_a_mail_server_the_settings_refuse_to_load(tmp_path):
    refused = _start(tmp_path, DEBUG="false")

    assert refused.returncode != 0
    assert "ImproperlyConfigured: No mail server is configured" in refused.stderr
    for variable in ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"):
        assert variable in refused.stderr


def test_without_debug_the_outbox_backend_cannot_be_chosen_by_name(tmp_path):
    refused = _start(
        tmp_path, DEBUG="false", EMAIL_BACKEND="sprechstunde.core.mail_outbox.DevOutboxBackend"
    )

    assert refused.returncode != 0
    assert "dev outbox, which is for development only" in refused.stderr


def test_without_debug_and_with_an_smtp_server_there_is_no_outbox(tmp_path):
    seen = _probe(_start(tmp_path, DEBUG="false", EMAIL_HOST="smtp.jobcenter.example"))

    assert seen["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert seen["outbox"] is False
    assert seen["resolves"] is False


def test_with_debug_and_an_smtp_server_mail_goes_out_by_smtp_only(tmp_path):
    seen = _probe(_start(tmp_path, DEBUG="true", EMAIL_HOST="smtp.jobcenter.example"))

    assert seen["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert seen["outbox"] is False
    assert seen["status"] == 404


@pytest.mark.django_db
def test_the_outbox_page_shows_a_sent_mail_to_staff(client, case_manager, settings):
    """What `make run` offers: a mail sent through the outbox backend is readable by staff.
    (The test settings keep the page on although DEBUG is off, for the browser journeys.)"""
    settings.EMAIL_BACKEND = "sprechstunde.core.mail_outbox.DevOutboxBackend"
    mail.send_mail("Ihr Code", "Code: 314159", None, ["klara@example.org"])
    client.force_login(case_manager)

    listing = client.get(reverse("core:outbox"))

    assert listing.status_code == 200
    assert "klara@example.org" in listing.content.decode()


@pytest.mark.django_db
def test_the_outbox_backend_refuses_when_the_outbox_is_off(settings):
    settings.EMAIL_BACKEND = "sprechstunde.core.mail_outbox.DevOutboxBackend"
    settings.DEV_OUTBOX_ENABLED = False

    with pytest.raises(Exception, match="development"):
        mail.send_mail("Ihr Code", "Code: 314159", None, ["klara@example.org"])


@pytest.mark.django_db
def test_the_outbox_lists_a_mails_attachments_and_hands_them_out_byte_for_byte(
    client, case_manager, settings
):
    """An invitation's calendar file can be opened in the demo: listed with name, type and
    size, and downloaded exactly as it was attached."""
    import icalendar
    from django.core.mail import EmailMessage

    from sprechstunde.appointments.choices import MailRecipient
    from sprechstunde.appointments.factories import AppointmentFactory
    from sprechstunde.appointments.ical import itip_calendar
    from sprechstunde.core.models import OutboxMessage

    settings.EMAIL_BACKEND = "sprechstunde.core.mail_outbox.DevOutboxBackend"
    appointment = AppointmentFactory(case_manager=case_manager)
    ics = itip_calendar(appointment, method="REQUEST", audience=MailRecipient.CLIENT)
    message = EmailMessage("Ihr Termin", "Im Anhang.", None, ["klara@example.org"])
    message.attach("invite.ics", ics, "application/ics; method=REQUEST")
    message.attach("notiz.txt", "Grüße", "text/plain")
    message.send()
    stored = OutboxMessage.objects.get(subject="Ihr Termin")
    invite, note = stored.attachments.all()
    client.force_login(case_manager)

    listing = client.get(reverse("core:outbox")).content.decode()
    detail = client.get(reverse("core:outbox_detail", kwargs={"pk": stored.pk})).content.decode()
    download = client.get(
        reverse("core:outbox_attachment", kwargs={"pk": stored.pk, "attachment_pk": invite.pk})
    )

    invite_url = reverse(
        "core:outbox_attachment", kwargs={"pk": stored.pk, "attachment_pk": invite.pk}
    )
    assert invite_url in listing and "invite.ics" in listing
    assert invite_url in detail
    assert "application/ics; method=REQUEST" in detail and "text/plain" in detail
    assert invite.size == len(ics) and note.size == len("Grüße".encode())
    assert download.status_code == 200
    assert download.content == ics
    assert download["Content-Type"] == "application/ics; method=REQUEST"
    assert download["Content-Disposition"] == 'attachment; filename="invite.ics"'
    assert icalendar.Calendar.from_ical(download.content).walk("VEVENT")
    note_download = client.get(
        reverse("core:outbox_attachment", kwargs={"pk": stored.pk, "attachment_pk": note.pk})
    )
    assert note_download.content == "Grüße".encode()


@pytest.mark.django_db
def test_outbox_attachments_are_for_staff_only_and_belong_to_their_mail(
    client, case_manager, settings
):
    from django.core.mail import EmailMessage

    from sprechstunde.accounts.factories import ClientUserFactory
    from sprechstunde.core.models import OutboxMessage

    settings.EMAIL_BACKEND = "sprechstunde.core.mail_outbox.DevOutboxBackend"
    for subject in ("Erste", "Zweite"):
        message = EmailMessage(subject, "x", None, ["klara@example.org"])
        message.attach("code.txt", b"314159", "text/plain")
        message.send()
    first = OutboxMessage.objects.get(subject="Erste")
    second = OutboxMessage.objects.get(subject="Zweite")
    attachment = first.attachments.get()

    client.force_login(ClientUserFactory())
    url = reverse("core:outbox_attachment", kwargs={"pk": first.pk, "attachment_pk": attachment.pk})
    assert client.get(url).status_code == 404

    client.force_login(case_manager)
    other = reverse(
        "core:outbox_attachment", kwargs={"pk": second.pk, "attachment_pk": attachment.pk}
    )
    assert client.get(other).status_code == 404
    assert client.get(url).content == b"314159"
