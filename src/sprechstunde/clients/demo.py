"""Demo data for `make run`: two teams, staff of every role, ten clients in different states.

Staff get a known password and a TOTP authenticator with a fixed secret, so that the demo
can log in with a second factor (`manage.py demo_totp <email>` prints the current code).
Clients are created, invited and accepted through the real services, so that the audit
trail, the consents and the dev outbox look like the real thing. Running it again changes
nothing that exists already (it only resets the demo staff's password and TOTP secret).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import struct
import time
from dataclasses import dataclass, field

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt, encrypt
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import Substitution, Team, User

from . import services
from .choices import ConsentMethod, ConsentPurpose
from .models import Client, ConsentText

DEMO_PASSWORD = "sprechstunde-demo"  # noqa: S105 (published on purpose: demo logins only)
# A fixed, published base32 secret: every demo staff member's authenticator uses it.
# 20 bytes give 32 base32 characters without "=" padding, which some apps refuse.
DEMO_TOTP_SECRET = base64.b32encode(b"SprechstundeDemoTOTP").decode("ascii")
TOTP_PERIOD_SECONDS = 30
TOTP_DIGITS = 6


@dataclass(frozen=True)
class DemoStaff:
    email: str
    first_name: str
    last_name: str
    role: Role
    team: str | None = None


@dataclass(frozen=True)
class DemoClient:
    first_name: str
    last_name: str
    case_manager: str
    email: str = ""
    mobile_number: str = ""
    language: str = "de"
    # "accepted" (with consents), "invited" (link pending) or "new" (not invited).
    state: str = "new"
    purposes: tuple[str, ...] = ()
    withdrawn: tuple[str, ...] = ()


TEAMS = ("Team Nord", "Team Süd")

STAFF = (
    DemoStaff("anna.becker@jobcenter.example", "Anna", "Becker", Role.CASE_MANAGER, "Team Nord"),
    DemoStaff("ben.schulz@jobcenter.example", "Ben", "Schulz", Role.CASE_MANAGER, "Team Nord"),
    DemoStaff("tanja.lehmann@jobcenter.example", "Tanja", "Lehmann", Role.TEAM_LEAD, "Team Nord"),
    DemoStaff("clara.wolf@jobcenter.example", "Clara", "Wolf", Role.CASE_MANAGER, "Team Süd"),
    DemoStaff("david.koch@jobcenter.example", "David", "Koch", Role.CASE_MANAGER, "Team Süd"),
    DemoStaff("ulrich.meier@jobcenter.example", "Ulrich", "Meier", Role.TEAM_LEAD, "Team Süd"),
    DemoStaff("admin@jobcenter.example", "Ada", "Admin", Role.ADMIN),
    DemoStaff("datenschutz@jobcenter.example", "Dora", "Datenschutz", Role.DATA_PROTECTION_OFFICER),
)

_ALL = tuple(ConsentPurpose.values)
_PORTAL = ConsentPurpose.PORTAL.value
_VIDEO = ConsentPurpose.VIDEO.value
_DELIVERY = ConsentPurpose.ELECTRONIC_DELIVERY.value

CLIENTS = (
    DemoClient(
        "Lena", "Hoffmann", "anna.becker@jobcenter.example",
        email="lena.hoffmann@example.org", state="accepted", purposes=_ALL,
    ),
    DemoClient(
        "Murat", "Yılmaz",  # noqa: RUF001 (a Turkish name)
        "anna.becker@jobcenter.example",
        email="murat.yilmaz@example.org", state="accepted", purposes=(_PORTAL, _VIDEO),
    ),
    DemoClient(
        "Sofia", "Nowak", "anna.becker@jobcenter.example",
        email="sofia.nowak@example.org", language="en", state="invited",
    ),
    DemoClient(
        "Jonas", "Richter", "ben.schulz@jobcenter.example",
        email="jonas.richter@example.org", state="accepted", purposes=(_PORTAL, _DELIVERY),
    ),
    DemoClient(
        "Amira", "Haddad", "ben.schulz@jobcenter.example",
        mobile_number="+491701234567", language="en",
    ),
    DemoClient(
        "Paul", "Wagner", "clara.wolf@jobcenter.example",
        email="paul.wagner@example.org", state="accepted", purposes=_ALL, withdrawn=(_VIDEO,),
    ),
    DemoClient(
        "Elena", "Popescu", "clara.wolf@jobcenter.example",
        email="elena.popescu@example.org", language="en", state="invited",
    ),
    DemoClient(
        "Karim", "Aziz", "clara.wolf@jobcenter.example",
        email="karim.aziz@example.org", mobile_number="+4915112345678",
    ),
    DemoClient(
        "Nina", "Krüger", "david.koch@jobcenter.example",
        email="nina.krueger@example.org", state="accepted", purposes=_ALL,
    ),
    DemoClient(
        "Oleksandr", "Shevchenko", "david.koch@jobcenter.example",
        email="oleksandr.shevchenko@example.org", state="invited",
    ),
)  # fmt: skip


@dataclass
class DemoResult:
    """What was loaded, for the printed summary."""

    staff: list[User] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    created_clients: int = 0
    consent_texts: int = 0


def totp_code(secret: str, *, at: float | None = None) -> str:
    """The RFC 6238 code (SHA-1, 30 s, 6 digits) of `secret` at time `at` (now by default)."""
    counter = int((time.time() if at is None else at) // TOTP_PERIOD_SECONDS)
    key = base64.b32decode(secret.encode("ascii"), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**TOTP_DIGITS:0{TOTP_DIGITS}d}"


def totp_secret_of(user: User) -> str | None:
    """The TOTP secret of a user's authenticator, if they have one."""
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        return None
    return str(decrypt(authenticator.data["secret"]))


def _staff_member(spec: DemoStaff, teams: dict[str, Team]) -> User:
    user = User.objects.filter(email__iexact=spec.email).first() or User(email=spec.email)
    user.first_name = spec.first_name
    user.last_name = spec.last_name
    user.role = spec.role
    user.team = teams[spec.team] if spec.team else None
    user.is_active = True
    # As for real staff: admins open Django admin by their role; nobody is a superuser.
    user.is_staff = spec.role == Role.ADMIN
    user.is_superuser = False
    user.set_password(DEMO_PASSWORD)
    user.save()
    Authenticator.objects.update_or_create(
        user=user,
        type=Authenticator.Type.TOTP,
        defaults={"data": {"secret": encrypt(DEMO_TOTP_SECRET)}},
    )
    return user


def _existing_client(spec: DemoClient) -> Client | None:
    key = Q(email__iexact=spec.email) if spec.email else Q(mobile_number=spec.mobile_number)
    return Client.objects.filter(key).first()


def _demo_client(spec: DemoClient, staff: dict[str, User]) -> Client:
    """Create one client and take them, through the services, to the state in `spec`."""
    case_manager = staff[spec.case_manager]
    client = services.client_create(
        actor=case_manager,
        first_name=spec.first_name,
        last_name=spec.last_name,
        email=spec.email,
        mobile_number=spec.mobile_number,
        preferred_language=spec.language,
    )
    # A made-up postal address, so decisions by post can be tried in the demo (issue 15).
    Client.objects.filter(pk=client.pk).update(
        postal_street=f"Musterweg {len(spec.first_name) + len(spec.last_name)}",
        postal_code="88212",
        postal_city="Musterstadt",
    )
    client.refresh_from_db()
    if spec.state in {"invited", "accepted"}:
        issued = services.invitation_send(client=client, actor=case_manager)
        if spec.state == "accepted":
            client = services.invitation_accept(
                token=issued.token, purposes=spec.purposes, language=spec.language
            )
            for purpose in spec.withdrawn:
                services.consent_withdraw(
                    client=client,
                    purpose=purpose,
                    actor=client.user,
                    method=ConsentMethod.PORTAL,
                )
    return client


def load_demo_data() -> DemoResult:
    """Create (or complete) the demo data; safe to run again."""
    result = DemoResult()
    with transaction.atomic():
        teams = {name: Team.objects.get_or_create(name=name)[0] for name in TEAMS}
        staff = {spec.email: _staff_member(spec, teams) for spec in STAFF}
        result.staff = list(staff.values())
        # Clara Wolf stands in for David Koch for two weeks (Vertretung), from the first run.
        if not Substitution.objects.filter(
            absent=staff["david.koch@jobcenter.example"],
            substitute=staff["clara.wolf@jobcenter.example"],
        ).exists():
            today = timezone.localdate()
            Substitution.objects.create(
                absent=staff["david.koch@jobcenter.example"],
                substitute=staff["clara.wolf@jobcenter.example"],
                starts_on=today,
                ends_on=today + datetime.timedelta(days=14),
                created_by=staff["tanja.lehmann@jobcenter.example"],
            )
    for spec in CLIENTS:
        client = _existing_client(spec)
        if client is None:
            # One transaction per client: a failure leaves no half-made client behind.
            with transaction.atomic():
                client = _demo_client(spec, staff)
            result.created_clients += 1
        result.clients.append(client)
    result.consent_texts = ConsentText.objects.filter(published_at__isnull=False).count()
    return result


def demo_allowed() -> bool:
    """Demo logins with published passwords belong on development machines only."""
    return bool(settings.DEBUG)
