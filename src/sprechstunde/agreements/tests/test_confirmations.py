"""Client confirmations: full preview, one-time code, simple electronic signature with an
evidence page, sealed by the platform; wrong or used-up codes change nothing."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from sprechstunde.agreements import services
from sprechstunde.agreements.choices import ConfirmationStatus
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError


def _code() -> str:
    match = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert match
    return match.group(1)


def test_confirm_with_code_records_evidence_and_seals(
    seal_pki, case_manager, client_record, django_capture_on_commit_callbacks
):
    confirmation = services.confirmation_create(
        actor=case_manager,
        client=client_record,
        title="Erklärung zur Erreichbarkeit",
        body="Ich bin montags bis freitags erreichbar.",
    )
    user = client_record.user
    with pytest.raises(ApplicationError):
        services.confirmation_confirm(actor=user, confirmation=confirmation, code="123456")
    services.confirmation_code_send(actor=user, confirmation=confirmation)
    assert "Erreichbarkeit" not in mail.outbox[-1].body  # the mail holds the code only
    code = _code()
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(ApplicationError):
        services.confirmation_confirm(actor=user, confirmation=confirmation, code=wrong)
    confirmation.refresh_from_db()
    assert confirmation.status == ConfirmationStatus.OPEN and confirmation.code_attempts == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.confirmation_confirm(actor=user, confirmation=confirmation, code=code)
    confirmation.refresh_from_db()
    assert confirmation.status == ConfirmationStatus.CONFIRMED
    assert confirmation.evidence["text_sha256"] == confirmation.text_sha256
    assert confirmation.evidence["method"] == "one-time code by e-mail"
    assert bytes(confirmation.pdf).startswith(b"%PDF") and b"/ByteRange" in bytes(confirmation.pdf)


def test_too_many_wrong_codes_end_the_code(case_manager, client_record, settings):
    settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 2
    confirmation = services.confirmation_create(
        actor=case_manager, client=client_record, title="Erklärung", body="Text"
    )
    user = client_record.user
    services.confirmation_code_send(actor=user, confirmation=confirmation)
    code = _code()
    wrong = "000000" if code != "000000" else "111111"
    for _attempt in range(2):
        with pytest.raises(ApplicationError):
            services.confirmation_confirm(actor=user, confirmation=confirmation, code=wrong)
    with pytest.raises(ApplicationError):
        services.confirmation_confirm(actor=user, confirmation=confirmation, code=code)
    confirmation.refresh_from_db()
    assert confirmation.status == ConfirmationStatus.OPEN


def test_staff_cannot_confirm_for_the_client(case_manager, client_record):
    confirmation = services.confirmation_create(
        actor=case_manager, client=client_record, title="Erklärung", body="Text"
    )
    with pytest.raises(PermissionDeniedError):
        services.confirmation_code_send(actor=case_manager, confirmation=confirmation)
