"""Fixtures for the documents tests: master keys, folders and the real clamd (from the
`sprechstunde.documents.testing` plugin), portal clients and logged-in test clients."""

from __future__ import annotations

from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client as TestClient
from django.utils import translation

from sprechstunde.messaging.factories import portal_client_create


@pytest.fixture(autouse=True)
def document_settings(documents_configured):
    """Every test: English UI, its own storage and upload folders, a master key, clamd."""
    documents_configured.LANGUAGE_CODE = "en"
    mail.outbox.clear()
    with translation.override("en"):
        yield documents_configured


@pytest.fixture
def storage_dir(document_settings) -> Path:
    return Path(document_settings.STORAGES["documents"]["OPTIONS"]["location"])


@pytest.fixture
def upload_dir(document_settings) -> Path:
    return Path(document_settings.DOCUMENT_UPLOAD_DIR)


@pytest.fixture
def portal_client(case_manager):
    return portal_client_create(
        case_manager=case_manager, email="kim@example.org", first_name="Kim", last_name="Kunde"
    )


@pytest.fixture
def foreign_client(other_case_manager):
    return portal_client_create(
        case_manager=other_case_manager, email="fremd@example.org", first_name="Fritz"
    )


def with_second_factor(user):
    if getattr(user, "is_staff_member", False):
        Authenticator.objects.get_or_create(
            user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "A" * 32}}
        )
    return user


def browser_for(user) -> TestClient:
    browser = TestClient(headers={"accept-language": "en"})
    if user is not None:
        browser.force_login(with_second_factor(user))
    return browser


def stored_files(folder: Path) -> list[Path]:
    """Every file below `folder` (empty when it does not exist)."""
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []
