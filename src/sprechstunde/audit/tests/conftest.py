"""Helpers for the audit tests: raw-SQL tampering, chain building and staff logins."""

import pytest
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import connection
from django.test import RequestFactory

from sprechstunde.audit.models import AuditEntry
from sprechstunde.audit.services import audit_record

TABLE = AuditEntry._meta.db_table


def tamper(sql, params=()):
    """Run raw SQL against the trail as an attacker with database access would.

    On PostgreSQL the append-only trigger is switched off first (the table owner can do
    that); the test transaction's rollback switches it back on.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TABLE}_append_only")
        cursor.execute(sql, params)


def build_chain(count, *, actor=None, client_id=7):
    return [
        audit_record(
            actor=actor,
            action="client.read",
            target_type="clients.client",
            target_id=client_id,
            client_id=client_id,
        )
        for _ in range(count)
    ]


def login_staff(client, user):
    """Log a staff member in as after a full login with password and TOTP."""
    totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    totp = totp or TOTP.activate(user, generate_totp_secret()).instance
    client.force_login(user)
    session = client.session
    request = RequestFactory().get("/")
    request.session = session
    record_authentication(request, user, method="password", email=user.email)
    record_authentication(request, user, method="mfa", type="totp", id=totp.pk)
    session.save()
    return user


@pytest.fixture
def chain(db):
    return build_chain(5)
