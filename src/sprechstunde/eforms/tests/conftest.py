"""Fixtures of the form engine's tests: the sample definition, a portal client "Kim" and her
storage (the documents app's test storage and clamd)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client as TestClient
from django.utils import translation

from sprechstunde.eforms.factories import FormDefinitionFactory
from sprechstunde.messaging.factories import portal_client_create


@pytest.fixture(autouse=True)
def eforms_settings(documents_configured):
    documents_configured.LANGUAGE_CODE = "en"
    mail.outbox.clear()
    with translation.override("en"):
        yield documents_configured


@pytest.fixture
def definition(db):
    return FormDefinitionFactory(version=1)


@pytest.fixture
def kim(case_manager):
    return portal_client_create(case_manager=case_manager, email="kim@example.org")


@pytest.fixture
def other_client(other_case_manager):
    return portal_client_create(
        case_manager=other_case_manager, email="ola@example.org", first_name="Ola"
    )


def phone_for(user) -> TestClient:
    from tests.test_url_access import log_in

    browser = TestClient(headers={"accept-language": "en"})
    log_in(browser, user)
    return browser


@pytest.fixture
def kim_phone(kim):
    return phone_for(kim.user)
