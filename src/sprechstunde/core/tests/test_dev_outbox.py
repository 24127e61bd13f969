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
