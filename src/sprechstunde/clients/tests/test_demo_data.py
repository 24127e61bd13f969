"""`manage.py load_demo_data` and `manage.py demo_totp`."""

from __future__ import annotations

import base64
import io

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import Substitution, Team, User
from sprechstunde.appointments.models import Appointment
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients import demo
from sprechstunde.clients.models import Client, Consent, Invitation

pytestmark = pytest.mark.django_db


def load(**options) -> str:
    out = io.StringIO()
    call_command("load_demo_data", stdout=out, **options)
    return out.getvalue()


def snapshot():
    return (
        sorted(Team.objects.values_list("name", flat=True)),
        sorted(User.objects.values_list("email", "role", "is_active")),
        sorted(Client.objects.values_list("email", "mobile_number", "case_manager__email")),
        Invitation.objects.count(),
        sorted(
            (email, purpose, withdrawn is None)
            for email, purpose, withdrawn in Consent.objects.values_list(
                "client__email", "purpose", "withdrawn_at"
            )
        ),
        Substitution.objects.count(),
        sorted(Appointment.objects.values_list("case_manager__email", "starts_at", "status")),
    )


def test_demo_data_has_the_promised_shape_and_loading_twice_changes_nothing(settings):
    settings.DEBUG = True
    output = load()
    first = snapshot()
    assert first[0] == ["Team Nord", "Team Süd"]
    staff = User.objects.exclude(role=Role.CLIENT)
    for team in Team.objects.all():
        assert staff.filter(team=team, role=Role.CASE_MANAGER).count() == 2
        assert staff.filter(team=team, role=Role.TEAM_LEAD).count() == 1
    assert staff.filter(role=Role.ADMIN).count() == 1
    assert staff.filter(role=Role.DATA_PROTECTION_OFFICER).count() == 1
    assert Client.objects.count() == 10
    assert len(set(Client.objects.values_list("case_manager", flat=True))) == 4
    with_portal = Client.objects.filter(user__isnull=False).count()
    pending = Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True).count()
    assert with_portal >= 3
    assert pending >= 2
    assert Client.objects.filter(user__isnull=True, invitations__isnull=True).exists()
    for user in staff:
        assert user.check_password(demo.DEMO_PASSWORD)
        assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert "anna.becker@jobcenter.example" in output
    assert demo.DEMO_PASSWORD in output
    assert demo.DEMO_TOTP_SECRET in output
    # A year of past appointments for every case manager: the figures have something to show.
    past = Appointment.objects.filter(starts_at__lt=timezone.now())
    assert set(past.values_list("case_manager__email", flat=True)) == set(
        staff.filter(role=Role.CASE_MANAGER).values_list("email", flat=True)
    )
    assert past.count() > 4 * 52 * 3
    assert "demo appointments created" in output
    entries = AuditEntry.objects.count()

    second_output = load()
    assert snapshot() == first
    assert "(0 new)" in second_output
    assert AuditEntry.objects.count() == entries


def test_the_figures_show_charts_right_after_the_demo_is_loaded(settings, client):
    settings.DEBUG = True
    load()
    client.force_login(User.objects.filter(role=Role.TEAM_LEAD).first())

    page = client.get(reverse("reporting:figures")).content.decode()

    assert "<svg" in page


def test_load_demo_data_refuses_without_debug_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        load()
    assert not Client.objects.exists()
    load(force=True)
    assert Client.objects.count() == 10


def test_demo_totp_prints_a_code_that_allauth_accepts_at_login(settings):
    from allauth.mfa.totp.internal.auth import TOTP

    settings.DEBUG = True
    load()
    out = io.StringIO()
    call_command("demo_totp", "anna.becker@jobcenter.example", stdout=out, stderr=io.StringIO())
    code = out.getvalue().strip()
    assert len(code) == 6
    assert code.isdigit()
    user = User.objects.get(email="anna.becker@jobcenter.example")
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert TOTP(authenticator).validate_code(code)
    assert not TOTP(authenticator).validate_code(f"{(int(code) + 1) % 1_000_000:06d}")


def test_totp_code_follows_rfc_6238():
    # RFC 6238, appendix B: SHA-1 secret "12345678901234567890", T = 59 s -> 94287082 (8 digits).
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert demo.totp_code(secret, at=59) == "287082"
    assert demo.totp_code(secret, at=1111111109) == "081804"


def test_demo_totp_explains_unknown_users(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="No user"):
        call_command("demo_totp", "nobody@example.org", stdout=io.StringIO())
