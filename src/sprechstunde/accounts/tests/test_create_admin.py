"""`manage.py create_admin`: the first administrator, with a password from env or a prompt."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "a long and unusual passphrase 4 admins"


def test_creates_an_administrator_with_the_password_from_the_environment(monkeypatch, outbox):
    monkeypatch.setenv("FIRST_ADMIN_PASSWORD", GOOD_PASSWORD)

    call_command(
        "create_admin",
        "--email",
        "IT@Jobcenter.example",
        "--password-from-env",
        "FIRST_ADMIN_PASSWORD",
    )

    user = User.objects.get(email="it@jobcenter.example")
    assert user.role == Role.ADMIN and user.is_staff and user.is_active
    assert user.check_password(GOOD_PASSWORD)
    assert outbox == []  # with a password there is no set-password mail
    entry = AuditEntry.objects.get(action="staff.create")
    assert entry.actor_id is None and entry.actor_label == "system"


def test_asks_for_the_password_twice_when_run_interactively():
    with mock.patch("getpass.getpass", side_effect=[GOOD_PASSWORD, GOOD_PASSWORD]):
        call_command("create_admin", "--email", "it@jobcenter.example")

    assert User.objects.get(email="it@jobcenter.example").check_password(GOOD_PASSWORD)


def test_an_empty_variable_or_no_input_is_an_error(monkeypatch):
    monkeypatch.delenv("UNSET_VARIABLE", raising=False)
    with pytest.raises(CommandError):
        call_command(
            "create_admin",
            "--email",
            "it@jobcenter.example",
            "--password-from-env",
            "UNSET_VARIABLE",
        )
    with pytest.raises(CommandError):
        call_command("create_admin", "--email", "it@jobcenter.example", "--no-input")
    assert not User.objects.exists()


def test_a_weak_password_or_a_taken_address_is_refused(monkeypatch, case_manager):
    monkeypatch.setenv("WEAK", "12345678")
    monkeypatch.setenv("GOOD", GOOD_PASSWORD)
    with pytest.raises(CommandError):
        call_command(
            "create_admin", "--email", "it@jobcenter.example", "--password-from-env", "WEAK"
        )
    with pytest.raises(CommandError):
        call_command("create_admin", "--email", case_manager.email, "--password-from-env", "GOOD")
    assert not User.objects.filter(role=Role.ADMIN).exists()
