"""Fixtures for the clients tests: clients by owner, logins by role, invitations and consent.

The test client asks for English pages, so that the assertions read the English msgids and
keep working once the German translation exists.
"""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.core.cache import cache
from django.test import Client as TestClient

from sprechstunde.accounts.factories import SubstitutionFactory
from sprechstunde.clients import services
from sprechstunde.clients.choices import ConsentPurpose
from sprechstunde.clients.factories import ClientFactory

TOKEN_RE = re.compile(r"/klienten/einladung/([A-Za-z0-9_\-]+)/")


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate limits and used codes live in the cache; every test starts without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client():
    """The Django test client, asking for English pages."""
    return TestClient(headers={"accept-language": "en"})


@pytest.fixture
def outbox():
    mail.outbox.clear()
    return mail.outbox


def login(test_client: TestClient, user) -> TestClient:
    """Log a user in; staff get an authenticator first (staff without one may only set it up)."""
    if getattr(user, "is_staff_member", False):
        Authenticator.objects.get_or_create(
            user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "A" * 32}}
        )
    test_client.force_login(user)
    return test_client


@pytest.fixture
def client_record(case_manager):
    """A client in `case_manager`'s caseload, not yet invited."""
    return ClientFactory(
        case_manager=case_manager, first_name="Klara", last_name="Klient", email="klara@example.org"
    )


@pytest.fixture
def foreign_client(other_case_manager):
    """A client of a case manager in the other team."""
    return ClientFactory(
        case_manager=other_case_manager,
        first_name="Fritz",
        last_name="Fremd",
        email="fritz@example.org",
    )


def invite(client_obj, actor, django_capture_on_commit_callbacks):
    """Send an invitation through the service, run the mail hook, return the issued one."""
    with django_capture_on_commit_callbacks(execute=True):
        return services.invitation_send(client=client_obj, actor=actor)


def accept(token: str, purposes=tuple(ConsentPurpose.values), language: str = "de"):
    return services.invitation_accept(token=token, purposes=purposes, language=language)


@pytest.fixture
def accepted_client(client_record, case_manager, django_capture_on_commit_callbacks):
    """`client_record` after accepting an invitation with every purpose: a portal user.

    Accepted in English, so the portal pages stay English once German translations exist.
    """
    issued = invite(client_record, case_manager, django_capture_on_commit_callbacks)
    return accept(issued.token, language="en")


@pytest.fixture
def substitution_today(case_manager, other_case_manager):
    """`case_manager` stands in for `other_case_manager` today."""
    from django.utils import timezone

    today = timezone.localdate()
    return SubstitutionFactory(
        absent=other_case_manager, substitute=case_manager, starts_on=today, ends_on=today
    )
