"""Passwords known from breaches are refused, checked offline in a sorted file (ASVS 6.2.12)."""

from __future__ import annotations

import hashlib
import random

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from sprechstunde.accounts.password_validation import (
    BreachedPasswordValidator,
    sorted_digest_file_contains,
)
from sprechstunde.audit.tests.conftest import login_staff

BREACHED = "Sommerwind im Februar 1987"


def _digest(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


@pytest.fixture
def breach_file(tmp_path, settings):
    """A Pwned-Passwords-style file: sorted digests with counts, BREACHED among 3,000 others."""
    rng = random.Random(17)
    others = [f"other-password-{rng.getrandbits(64):x}" for _ in range(3000)]
    lines = sorted(f"{_digest(p)}:{rng.randint(1, 99999)}" for p in [*others, BREACHED])
    path = tmp_path / "pwned-passwords-sha1-ordered.txt"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="ascii")
    settings.BREACHED_PASSWORDS_FILE = str(path)
    return path, others


def test_every_listed_digest_is_found_and_none_other(breach_file):
    path, others = breach_file
    listed = [line.split(":")[0] for line in path.read_text().split()]

    assert all(sorted_digest_file_contains(path, digest) for digest in listed)
    assert not any(
        sorted_digest_file_contains(path, _digest(f"never-breached-{n}")) for n in range(300)
    )
    # Before the first and after the last line.
    assert not sorted_digest_file_contains(path, "0" * 40)
    assert not sorted_digest_file_contains(path, "F" * 40)
    assert sorted_digest_file_contains(path, _digest(others[0]).lower())


def test_the_production_validators_refuse_a_breached_password(breach_file):
    with pytest.raises(ValidationError) as refused:
        validate_password(BREACHED)

    assert [error.code for error in refused.value.error_list] == ["password_breached"]
    validate_password("Sommerwind im Februar 1988")


def test_without_a_file_only_djangos_common_passwords_are_refused(settings):
    settings.BREACHED_PASSWORDS_FILE = ""

    BreachedPasswordValidator().validate(BREACHED)
    with pytest.raises(ValidationError):
        validate_password("password1234")


@pytest.mark.django_db
def test_a_staff_member_cannot_change_to_a_breached_password(client, case_manager, breach_file):
    login_staff(client, case_manager)

    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": "correct horse battery staple",
            "password1": BREACHED,
            "password2": BREACHED,
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()["password1"]
    assert [error.code for error in errors] == ["password_breached"]
    case_manager.refresh_from_db()
    assert case_manager.check_password("correct horse battery staple")
