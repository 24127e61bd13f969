"""Sample objects for the page crawler: one of each kind, so that detail pages can be visited.

Built with the apps' factories and models only (no services), so that the crawler keeps working
while the services change; a journey test should go through the services instead.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

ROLES = ("anonymous", "case_manager", "team_lead", "admin", "dpo", "client")


@dataclass
class World:
    """Staff of every role, two clients (one with a portal account) and what hangs off them."""

    team: Any
    other_team: Any
    case_manager: Any
    other_case_manager: Any
    team_lead: Any
    admin: Any
    dpo: Any
    client: Any
    client_user: Any
    other_client: Any
    invitation_token: str
    invitation: Any
    outbox_message: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def sample(self, name: str) -> Any:
        """A further sample object (see SAMPLES), made on first use and then reused."""
        if name not in self.extra:
            self.extra[name] = SAMPLES[name](self)
        return self.extra[name]

    def user_for(self, role: str) -> Any:
        """The user who acts in a role, or None for anonymous."""
        return {
            "anonymous": None,
            "case_manager": self.case_manager,
            "team_lead": self.team_lead,
            "admin": self.admin,
            "dpo": self.dpo,
            "client": self.client_user,
        }[role]


def _seeded_consent_texts() -> dict[tuple[str, str], tuple[str, str]]:
    """The real version-1 texts from the clients app's data migration, when it has them."""
    import importlib

    try:
        module = importlib.import_module("sprechstunde.clients.migrations.0003_seed_consent_texts")
    except ImportError:
        return {}
    return dict(getattr(module, "TEXTS", {}))


def ensure_consent_texts() -> None:
    """Published consent texts for every purpose and language.

    The browser tests run with transactional_db, which empties every table after each test,
    rows from data migrations included; so they are put back here when missing.
    """
    from django.conf import settings

    from sprechstunde.clients.choices import ConsentPurpose
    from sprechstunde.clients.models import ConsentText

    seeded = _seeded_consent_texts()
    for purpose in ConsentPurpose.values:
        for language, _name in settings.LANGUAGES:
            if ConsentText.objects.filter(purpose=purpose, language=language).exists():
                continue
            title, body = seeded.get(
                (purpose, language),
                (f"Consent: {purpose}", "Sample consent text for the browser tests."),
            )
            ConsentText.objects.create(
                purpose=purpose,
                language=language,
                version=1,
                title=title,
                body=body,
                published_at=timezone.now(),
            )


def _consent_text(purpose: str, language: str) -> Any:
    from sprechstunde.clients.models import ConsentText

    return (
        ConsentText.objects.filter(purpose=purpose, language=language)
        .exclude(published_at=None)
        .order_by("-version")
        .first()
    )


def build_world() -> World:
    """Creates the sample data in the (transactional) test database."""
    from sprechstunde.accounts.choices import Role
    from sprechstunde.accounts.factories import (
        AdminFactory,
        CaseManagerFactory,
        DPOFactory,
        TeamFactory,
        TeamLeadFactory,
    )
    from sprechstunde.accounts.models import User
    from sprechstunde.audit.services import audit_record
    from sprechstunde.clients.choices import ConsentMethod, ConsentPurpose, InvitationChannel
    from sprechstunde.clients.factories import ClientFactory
    from sprechstunde.clients.models import Consent, Invitation
    from sprechstunde.core.models import OutboxMessage

    team = TeamFactory(name="Team Nord")
    other_team = TeamFactory(name="Team Süd")
    case_manager = CaseManagerFactory(
        team=team, email="fm@jobcenter.example", first_name="Frieda", last_name="Fallmann"
    )
    other_case_manager = CaseManagerFactory(
        team=other_team, email="fm2@jobcenter.example", first_name="Otto", last_name="Andersen"
    )
    team_lead = TeamLeadFactory(
        team=team, email="tl@jobcenter.example", first_name="Tina", last_name="Leitner"
    )
    admin = AdminFactory(email="admin@jobcenter.example", first_name="Ada", last_name="Admin")
    dpo = DPOFactory(email="dsb@jobcenter.example", first_name="Dora", last_name="Datenschutz")

    # Clients have no password (they log in by e-mailed code): create_user makes it unusable.
    client_user = User.objects.create_user(
        "klara.klient@example.org", first_name="Klara", last_name="Klient", role=Role.CLIENT
    )
    client = ClientFactory(
        first_name="Klara",
        last_name="Klient",
        email="klara.klient@example.org",
        case_manager=case_manager,
        user=client_user,
    )
    other_client = ClientFactory(
        first_name="Olaf", last_name="Other", case_manager=other_case_manager
    )
    now = timezone.now()
    ensure_consent_texts()
    for purpose in ConsentPurpose.values:
        Consent.objects.create(
            client=client,
            purpose=purpose,
            text=_consent_text(purpose, "de"),
            given_at=now,
            given_method=ConsentMethod.PORTAL,
        )
    token = secrets.token_urlsafe(32)
    hash_token = getattr(Invitation, "hash_token", None)
    invitation = Invitation.objects.create(
        client=other_client,
        token_hash=hash_token(token) if hash_token else hashlib.sha256(token.encode()).hexdigest(),
        channel=InvitationChannel.EMAIL,
        expires_at=now + timedelta(days=7),
        created_by=other_case_manager,
    )
    outbox_message = OutboxMessage.objects.create(
        subject="Ihre Einladung",
        from_email="noreply@jobcenter.example",
        to=other_client.email,
        body="Sample mail for the browser tests.",
    )
    audit_record(actor=case_manager, action="client.read", target=client, client_id=client.pk)
    return World(
        team=team,
        other_team=other_team,
        case_manager=case_manager,
        other_case_manager=other_case_manager,
        team_lead=team_lead,
        admin=admin,
        dpo=dpo,
        client=client,
        client_user=client_user,
        other_client=other_client,
        invitation_token=token,
        invitation=invitation,
        outbox_message=outbox_message,
    )


# --- Further samples, made on demand by the crawler's URL rules ---------------------------------

SAMPLES: dict[str, Callable[[World], Any]] = {}


def sample(name: str) -> Callable[[Callable[[World], Any]], Callable[[World], Any]]:
    def register(make: Callable[[World], Any]) -> Callable[[World], Any]:
        SAMPLES[name] = make
        return make

    return register


@sample("appointment")
def _appointment(world: World) -> Any:
    """A booked appointment of the sample client with their case manager."""
    from sprechstunde.appointments.factories import AppointmentFactory

    return AppointmentFactory(case_manager=world.case_manager, client=world.client)


@sample("video_appointment")
def _video_appointment(world: World) -> Any:
    """A video appointment of the sample client starting in five minutes: the call is open."""
    from sprechstunde.video_calls.factories import VideoAppointmentFactory

    return VideoAppointmentFactory(case_manager=world.case_manager, client=world.client)


@sample("interpreter_token")
def _interpreter_token(world: World) -> str:
    """The secret of an interpreter link for the sample video appointment."""
    from sprechstunde.video_calls.services import interpreter_invite

    appointment = world.sample("video_appointment")
    _invitation, token = interpreter_invite(
        actor=world.case_manager, appointment=appointment, kind="spoken"
    )
    return token


@sample("join_link_token")
def _join_link_token(world: World) -> str:
    """The join link of the sample video appointment (as in its reminders)."""
    from sprechstunde.appointments.links import join_link_token

    return join_link_token(appointment=world.sample("video_appointment"))


@sample("office_hours")
def _office_hours(world: World) -> Any:
    from sprechstunde.appointments.factories import OfficeHoursFactory

    return OfficeHoursFactory(case_manager=world.case_manager)


@sample("absence")
def _absence(world: World) -> Any:
    from sprechstunde.appointments.factories import AbsenceFactory

    return AbsenceFactory(user=world.case_manager)


@sample("calendar_feed_token")
def _calendar_feed_token(world: World) -> str:
    from sprechstunde.appointments.services import calendar_feed_token_create

    return calendar_feed_token_create(user=world.case_manager)


@sample("reminder_link_token")
def _reminder_link_token(world: World) -> str:
    from sprechstunde.appointments.links import OVERVIEW, reminder_link_token

    return reminder_link_token(appointment=world.sample("appointment"), action=OVERVIEW)


@sample("substitution")
def _substitution(world: World) -> Any:
    """The case manager stands in for a colleague of the same team this week."""
    from sprechstunde.accounts.factories import CaseManagerFactory, SubstitutionFactory

    colleague = CaseManagerFactory(team=world.team, email="fm3@jobcenter.example")
    today = timezone.localdate()
    return SubstitutionFactory(
        absent=colleague,
        substitute=world.case_manager,
        starts_on=today,
        ends_on=today + timedelta(days=7),
        created_by=world.team_lead,
    )


@sample("user_session")
def _user_session(world: World) -> Any:
    """A second login session of the case manager (the one a user could end)."""
    from allauth.usersessions.models import UserSession

    return UserSession.objects.create(
        user=world.case_manager,
        ip="192.0.2.10",
        session_key=secrets.token_hex(16),
        user_agent="Mozilla/5.0 (sample session)",
    )


@sample("agreements_plan")
def _agreements_plan(world: World) -> Any:
    """An issued cooperation plan of the sample client."""
    from sprechstunde.agreements.factories import plan_issued_for

    return plan_issued_for(world.client)


@sample("agreements_decision")
def _agreements_decision(world: World) -> Any:
    """A sealed decision in the sample client's portal postbox."""
    from sprechstunde.agreements.factories import decision_in_postbox_for

    return decision_in_postbox_for(world.client)


@sample("decision_template")
def _decision_template(world: World) -> Any:
    """A published decision template (the template pages of team leads and admins)."""
    from sprechstunde.agreements.factories import DecisionTemplateFactory

    return DecisionTemplateFactory()


@sample("plan_template")
def _plan_template(world: World) -> Any:
    """A published plan template."""
    from sprechstunde.agreements.factories import PlanTemplateFactory

    return PlanTemplateFactory()


@sample("agreements_postal")
def _agreements_postal(world: World) -> Any:
    """A decision of the sample client waiting to be sent by post."""
    from sprechstunde.agreements.factories import postal_delivery_for

    return postal_delivery_for(world.client)


@sample("agreements_confirmation")
def _agreements_confirmation(world: World) -> Any:
    """A declaration the sample client is asked to confirm."""
    from sprechstunde.agreements.factories import confirmation_for

    return confirmation_for(world.client)


@sample("document_request")
def _document_request(world: World) -> Any:
    """An open document request to the sample client, and one already overdue."""
    from sprechstunde.documents.factories import DocumentRequestFactory

    DocumentRequestFactory(
        client=world.client, title="Mietvertrag", due_on=timezone.localdate() - timedelta(days=2)
    )
    return DocumentRequestFactory(client=world.client, title="Lohnabrechnung März")


@sample("efile_document")
def _efile_document(world: World) -> Any:
    """A checked document row of the sample client (the e-file mark needs no file)."""
    from sprechstunde.documents.models import Document

    return Document.objects.create(
        client=world.client,
        uploaded_by_side="client",
        title="Kontoauszug",
        original_name="kontoauszug.pdf",
        content_type="application/pdf",
        page_count=1,
        status="ready",
        scan_status="clean",
    )


def _engine_definition() -> Any:
    from sprechstunde.eforms.factories import FormDefinitionFactory
    from sprechstunde.eforms.models import FormDefinition

    return FormDefinition.objects.filter(slug="engine_sample").first() or FormDefinitionFactory(
        version=1
    )


@sample("eforms_draft")
def _eforms_draft(world: World) -> Any:
    """A form the sample client has begun (the engine's sample definition), with a
    household entry so that the group's inputs are on the page."""
    from sprechstunde.eforms.factories import FormSubmissionFactory

    return FormSubmissionFactory(
        client=world.client,
        definition=_engine_definition(),
        answers={"account_holder": "Klara Klient", "has_household": "yes", "members": [{}]},
    )


@sample("eforms_sent")
def _eforms_sent(world: World) -> Any:
    """A form the sample client has sent (status received)."""
    from sprechstunde.eforms.factories import FormSubmissionFactory

    return FormSubmissionFactory(
        client=world.client,
        definition=_engine_definition(),
        status="received",
        submitted_at=timezone.now(),
        submission_count=1,
    )
