"""A test walks the whole URL configuration: every route that names an object is access-checked.

Every route whose pattern takes arguments (an object id, a token, ...) must be either

* in REGISTRY, with a builder that creates, for each role, an object that role may NOT see
  (another case manager's client, another client's appointment, ...). Every role then asks
  for it by GET and by POST and must be refused: 404 (or 403, or 405 for a method the view
  does not take), anonymous visitors may instead be sent to the login. Never 200, never a
  server error, never the foreign object's data in the page. Where the registry says so, the
  refusal must also leave an `*.access_denied` entry in the audit trail; or
* in ALLOW_LIST, with the reason why it has no object to protect.

A new route in neither place fails `test_route_has_an_access_rule[<route>]`, naming it.
Each checked route is its own test id: `test_route_refuses_foreign_objects[<route>]`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.http import HttpResponse
from django.test import Client as WebClient
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, path, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

from config import urls as config_urls
from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.factories import (
    AdminFactory,
    CaseManagerFactory,
    DPOFactory,
    TeamFactory,
    TeamLeadFactory,
)
from sprechstunde.accounts.models import User
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.factories import ClientFactory

ROLES = ("case_manager", "team_lead", "admin", "dpo", "client", "anonymous")
STAFF_ROLES = ("case_manager", "team_lead", "admin", "dpo")
# Part of every foreign client's name: it must never show up in a refused page.
FOREIGN_MARK = "Fremdling"


# --- Walking the URL configuration -----------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern, with the namespaces and the argument names it collects on the way."""

    id: str
    route: str
    kwargs: tuple[str, ...]


def _argument_names(pattern: Any) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    if isinstance(pattern, RegexPattern):
        return list(pattern.regex.groupindex)
    return []


def _walk(
    patterns: list[Any], namespaces: tuple[str, ...] = (), prefix: str = "", kwargs=()
) -> Iterator[Route]:
    for entry in patterns:
        names = (*kwargs, *_argument_names(entry.pattern))
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry.url_patterns, inner, route, names)
        elif isinstance(entry, URLPattern):
            name = entry.name or f"<{route}>"
            yield Route(id=":".join((*namespaces, name)), route=route, kwargs=names)


def routes_with_arguments() -> list[Route]:
    """Every route of config.urls (through all includes) whose pattern takes arguments."""
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver().url_patterns):
        if route.kwargs:
            seen.setdefault(route.id, route)
    return sorted(seen.values(), key=lambda r: r.id)


# --- The people and the foreign objects --------------------------------------------------------


class World:
    """One user per role in team A, and foreign objects made on demand.

    The object used against a role belongs to a case manager whose things that role must
    not see: for the case manager and everyone without a team, a colleague in the same team
    (same team is not enough); for the team lead, a case manager of another team.
    """

    def __init__(self) -> None:
        team, other_team = TeamFactory(), TeamFactory()
        self.case_manager = CaseManagerFactory(team=team)
        self.colleague = CaseManagerFactory(team=team)
        self.stranger = CaseManagerFactory(team=other_team)
        client_account = User.objects.create_user("own-client@example.org", role=Role.CLIENT)
        ClientFactory(case_manager=self.case_manager, user=client_account)
        self.users: dict[str, User | None] = {
            "case_manager": self.case_manager,
            "team_lead": TeamLeadFactory(team=team),
            "admin": AdminFactory(),
            "dpo": DPOFactory(),
            "client": client_account,
            "anonymous": None,
        }
        for role in STAFF_ROLES:
            ensure_totp(self.users[role])
        self._made: dict[tuple[str, int], Any] = {}
        self._counter = itertools.count(1)

    def owner_foreign_to(self, role: str) -> User:
        return self.stranger if role == "team_lead" else self.colleague

    def _once(self, kind: str, owner: User, make: Callable[[], Any]) -> Any:
        key = (kind, owner.pk)
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def client_of(self, role: str) -> Any:
        owner = self.owner_foreign_to(role)

        def make() -> Any:
            number = next(self._counter)
            account = User.objects.create_user(f"foreign{number}@example.org", role=Role.CLIENT)
            return ClientFactory(
                case_manager=owner, user=account, last_name=f"{FOREIGN_MARK}{number}"
            )

        return self._once("client", owner, make)

    def appointment_of(self, role: str) -> Any:
        from sprechstunde.appointments.factories import AppointmentFactory

        owner = self.owner_foreign_to(role)
        client = self.client_of(role)
        return self._once(
            "appointment", owner, lambda: AppointmentFactory(case_manager=owner, client=client)
        )

    def office_hours_of(self, role: str) -> Any:
        from sprechstunde.appointments.factories import OfficeHoursFactory

        owner = self.owner_foreign_to(role)
        return self._once("office_hours", owner, lambda: OfficeHoursFactory(case_manager=owner))

    def absence_of(self, role: str) -> Any:
        from sprechstunde.appointments.factories import AbsenceFactory

        owner = self.owner_foreign_to(role)
        return self._once("absence", owner, lambda: AbsenceFactory(user=owner))

    def session_of(self, role: str) -> Any:
        from allauth.usersessions.models import UserSession

        owner = self.owner_foreign_to(role)
        return self._once(
            "session",
            owner,
            lambda: UserSession.objects.create(
                user=owner, ip="192.0.2.1", session_key=f"foreign{owner.pk}", user_agent="x"
            ),
        )

    def substitution_of(self, role: str) -> Any:
        """The foreign case manager is away; a colleague of theirs (not `role`) stands in."""
        from sprechstunde.accounts.factories import SubstitutionFactory

        owner = self.owner_foreign_to(role)
        return self._once(
            "substitution",
            owner,
            lambda: SubstitutionFactory(
                absent=owner, substitute=CaseManagerFactory(team=owner.team)
            ),
        )

    def client_account_of(self, role: str) -> User:
        """The portal account of the foreign client: the one who may see its appointments."""
        return self.client_of(role).user

    def passkey_of(self, role: str) -> Any:
        owner = self.owner_foreign_to(role)
        return self._once(
            "passkey",
            owner,
            lambda: Authenticator.objects.create(
                user=owner,
                type=Authenticator.Type.WEBAUTHN,
                data={"name": f"{FOREIGN_MARK} key", "credential": {}, "passwordless": False},
            ),
        )


def ensure_totp(user: User) -> Authenticator:
    """Staff cannot work without a second factor (the factories usually set one up)."""
    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    return existing or TOTP.activate(user, generate_totp_secret()).instance


def log_in(browser: WebClient, user: User | None) -> None:
    """A session as a full login leaves it: staff by password + TOTP, clients by code."""
    if user is None:
        return
    browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = browser.session
    request = RequestFactory().get("/")
    request.session = session
    if user.role == Role.CLIENT:
        record_authentication(request, user, method="code", email=user.email)
    else:
        totp = ensure_totp(user)
        record_authentication(request, user, method="password", email=user.email)
        record_authentication(request, user, method="mfa", type="totp", id=totp.pk)
        # As if the password was just confirmed again: pages that ask for that (allauth's
        # passkey management) then show what they would show an attacker at the keyboard.
        record_authentication(request, user, method="password", reauthenticated=True)
    session.save()


# --- The rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How to attack one route: `build(world, role)` returns the URL kwargs of a foreign object.

    `denial_actions`/`denial_roles`: for these roles the refusal must be audited with one of
    these actions. `exempt_roles`: roles that may open the page by design, with the reason.
    """

    build: Callable[[World, str], dict[str, Any]]
    denial_actions: tuple[str, ...] = ()
    denial_roles: frozenset[str] = frozenset()
    exempt_roles: Mapping[str, str] = field(default_factory=dict)
    # The denial entry must name the object (target id) or its client (client id).
    denial_names_object: bool = True
    # Who does own the object: they must get 200 on GET, proving the kwargs are right.
    owner: Callable[[World, str], User] | None = None


def _appointment(world: World, role: str) -> dict[str, Any]:
    return {"pk": world.appointment_of(role).pk}


def _client_pk(world: World, role: str) -> dict[str, Any]:
    return {"pk": world.client_of(role).pk}


def _client(world: World, role: str) -> dict[str, Any]:
    return {"client_pk": world.client_of(role).pk}


def _conversation(world: World, role: str) -> dict[str, Any]:
    from sprechstunde.messaging.services import conversation_get_or_create

    return {"conversation_pk": conversation_get_or_create(client=world.client_of(role)).pk}


def _staff_member(world: World, role: str) -> dict[str, Any]:
    return {"pk": world.owner_foreign_to(role).pk}


def _outbox_message(world: World, role: str) -> dict[str, Any]:
    from sprechstunde.core.models import OutboxMessage

    message = OutboxMessage.objects.create(
        subject="Einladung", from_email="noreply@localhost", to="x@example.org", body="Link"
    )
    return {"pk": message.pk}


def _outbox_attachment(world: World, role: str) -> dict[str, Any]:
    from sprechstunde.core.models import OutboxAttachment

    message = _outbox_message(world, role)
    attachment = OutboxAttachment.objects.create(
        message_id=message["pk"],
        filename="invite.ics",
        mimetype="text/calendar",
        content=b"BEGIN:VCALENDAR",
        size=15,
    )
    return {"pk": message["pk"], "attachment_pk": attachment.pk}


def _agreement(kind: str, **extra: Any) -> Callable[[World, str], dict[str, Any]]:
    """A plan, decision, postal delivery or confirmation of the foreign client."""

    def build(world: World, role: str) -> dict[str, Any]:
        from sprechstunde.agreements import factories

        make = {
            "plan": factories.plan_issued_for,
            "decision": factories.decision_in_postbox_for,
            "postal": factories.postal_delivery_for,
            "confirmation": factories.confirmation_for,
        }[kind]
        client = world.client_of(role)
        owner = world.owner_foreign_to(role)
        made = world._once(f"agreements-{kind}", owner, lambda: make(client))
        return {"pk": made.pk, **extra}

    return build


_FORM_DENIED = ("eforms.access_denied",)


def _form_submission(**extra: Any) -> Callable[[World, str], dict[str, Any]]:
    """A form (the engine's sample) of the foreign client, with a file attached."""

    def build(world: World, role: str) -> dict[str, Any]:
        from sprechstunde.documents.models import Document
        from sprechstunde.eforms.factories import FormDefinitionFactory, FormSubmissionFactory
        from sprechstunde.eforms.models import FormAttachment

        client = world.client_of(role)
        owner = world.owner_foreign_to(role)

        def make() -> Any:
            submission = FormSubmissionFactory(
                client=client,
                definition=FormDefinitionFactory(version=next(world._counter)),
            )
            document = Document.objects.create(
                client=client, title=f"{FOREIGN_MARK} Nachweis", uploaded_by_side="client"
            )
            FormAttachment.objects.create(
                submission=submission, field_key="payslip", document=document
            )
            return submission

        submission = world._once("eforms-submission", owner, make)
        kwargs: dict[str, Any] = {"pk": submission.pk}
        if "section" in extra:
            kwargs["section"] = extra["section"]
        if "field" in extra:
            kwargs["field"] = extra["field"]
        if extra.get("attachment"):
            kwargs["attachment_pk"] = submission.attachments.get().pk
        return kwargs

    return build


def _owner(world: World, role: str) -> User:
    return world.owner_foreign_to(role)


def _client_owner(world: World, role: str) -> User:
    return world.client_account_of(role)


def _document_request(world: World, role: str) -> dict[str, Any]:
    """An open document request of the foreign client."""
    from sprechstunde.documents.factories import DocumentRequestFactory

    client = world.client_of(role)
    owner = world.owner_foreign_to(role)
    made = world._once("document-request", owner, lambda: DocumentRequestFactory(client=client))
    return {"pk": made.pk}


def _ready_document(world: World, role: str) -> dict[str, Any]:
    """A checked (READY, clean) document row of the foreign client (no file needed here)."""
    from sprechstunde.documents.models import Document

    client = world.client_of(role)
    owner = world.owner_foreign_to(role)
    made = world._once(
        "ready-document",
        owner,
        lambda: Document.objects.create(
            client=client,
            uploaded_by_side="client",
            title=f"{FOREIGN_MARK} Nachweis",
            original_name="nachweis.pdf",
            status="ready",
            scan_status="clean",
        ),
    )
    return {"pk": made.pk}


def _staff_form_submission(world: World, role: str) -> dict[str, Any]:
    """A received form of the foreign client."""
    from sprechstunde.eforms.tests.factories_staff import submission

    client = world.client_of(role)
    owner = world.owner_foreign_to(role)
    return {"pk": world._once("form-submission", owner, lambda: submission(client)).pk}


def _ready_document_page(world: World, role: str) -> dict[str, Any]:
    return {**_ready_document(world, role), "page": 1}


def _upload_session(world: World, role: str) -> dict[str, Any]:
    """A resumable upload started by the foreign client's own account."""
    import datetime

    from django.utils import timezone

    from sprechstunde.documents.models import UploadSession

    client = world.client_of(role)
    owner = world.owner_foreign_to(role)
    made = world._once(
        "upload-session",
        owner,
        lambda: UploadSession.objects.create(
            id=f"foreign-upload-{owner.pk}",
            owner=client.user,
            client=client,
            original_name="x.pdf",
            expected_size=10,
            expires_at=timezone.now() + datetime.timedelta(hours=1),
        ),
    )
    return {"session_id": made.pk}


def _data_export(world: World, role: str) -> dict[str, Any]:
    """A finished copy of the foreign client's data, asked for in the portal."""
    from sprechstunde.subject_access.models import DataExport

    client = world.client_of(role)
    owner = world.owner_foreign_to(role)
    made = world._once(
        "data-export",
        owner,
        lambda: DataExport.objects.create(client=client, channel="portal", status="ready"),
    )
    return {"pk": made.pk}


_EXPORT_DENIED = ("data_export.access_denied",)


def _video_appointment(world: World, role: str) -> dict[str, Any]:
    """A video appointment of the foreign client, open for joining now (with an invitation)."""
    from sprechstunde.video_calls.factories import VideoAppointmentFactory, video_consent
    from sprechstunde.video_calls.models import Call, InterpreterInvitation

    client = world.client_of(role)
    owner = world.owner_foreign_to(role)

    def make() -> Any:
        video_consent(client)
        appointment = VideoAppointmentFactory(case_manager=owner, client=client)
        call = Call.objects.create(appointment=appointment)
        invitation = InterpreterInvitation.objects.create(
            call=call, kind="spoken", token_hash=f"{owner.pk:064d}", created_by=owner
        )
        return appointment, invitation

    appointment, invitation = world._once("video-appointment", owner, make)
    return {"appointment_pk": appointment.pk, "pk": invitation.pk}


def _video_call(world: World, role: str) -> dict[str, Any]:
    return {"appointment_pk": _video_appointment(world, role)["appointment_pk"]}


def _retention_request(world: World, role: str) -> dict[str, Any]:
    """An open erasure request of the foreign client."""
    from django.utils import timezone

    from sprechstunde.retention.models import DataSubjectRequest

    client = world.client_of(role)
    owner = world.owner_foreign_to(role)
    made = world._once(
        "erasure-request",
        owner,
        lambda: DataSubjectRequest.objects.create(
            client_id=client.pk,
            kind="erasure",
            received_on=timezone.localdate(),
            recorded_at=timezone.now(),
        ),
    )
    return {"pk": client.pk, "request_pk": made.pk}


def _efile_handover(world: World, role: str) -> dict[str, Any]:
    """A hand-over to the e-file of the foreign client."""
    from sprechstunde.efile.models import Handover

    client = world.client_of(role)
    owner = world.owner_foreign_to(role)
    made = world._once(
        "efile-handover", owner, lambda: Handover.objects.create(client=client, created_by=owner)
    )
    return {"client_pk": client.pk, "pk": made.pk}


def _legal_hold(world: World, role: str) -> dict[str, Any]:
    """A legal hold in force on the foreign client."""
    from django.utils import timezone

    from sprechstunde.retention.models import LegalHold

    client = world.client_of(role)
    owner = world.owner_foreign_to(role)
    made = world._once(
        "legal-hold",
        owner,
        lambda: LegalHold.objects.create(client=client, reason="Klage", set_at=timezone.now()),
    )
    return {"pk": client.pk, "hold_pk": made.pk}


CASELOAD = frozenset({"case_manager", "team_lead"})
CASE_MANAGER = frozenset({"case_manager"})
CLIENT = frozenset({"client"})
LOGGED_IN = frozenset(role for role in ROLES if role != "anonymous")
NOT_ADMIN = frozenset(LOGGED_IN - {"admin"})
_APPOINTMENT_DENIED = ("appointment.access_denied",)
_CLIENT_DENIED = ("client.access_denied",)
_RETENTION_DENIED = ("retention.access_denied",)
_TEMPLATE_DENIED = ("template.access_denied",)
# Templates belong to the whole office: team leads and administrators manage every one of
# them (agreements/tests/test_templates.py); every other logged-in role is refused, audited.
_TEMPLATE_MANAGERS = {
    "team_lead": "team leads manage the office's decision and plan templates",
    "admin": "administrators manage the office's decision and plan templates",
}
TEMPLATE_REFUSED = frozenset({"case_manager", "dpo", "client"})


def _template(kind: str) -> Callable[[World, str], dict[str, Any]]:
    def build(world: World, role: str) -> dict[str, Any]:
        from sprechstunde.agreements.factories import DecisionTemplateFactory, PlanTemplateFactory

        factory = DecisionTemplateFactory if kind == "bescheid" else PlanTemplateFactory
        return {"kind": kind, "pk": factory(title=f"Vorlage {FOREIGN_MARK}").pk}

    return build


def _template_manager(world: World, role: str) -> User:
    return world.users["team_lead"]


_DPO_EXEMPT = {"dpo": "the data-protection officer decides requests and holds for every client"}
_STAFF_DENIED = ("staff.access_denied", "team.access_denied")
_ADMIN_MANAGES = "administrators manage every staff account, team and substitution"
_OUTBOX_STAFF = "the dev outbox (embedded mode only) shows every mail to every staff member"
_OWN_CONSENT = "the purpose names one of the logged-in client's own consents"

REGISTRY: dict[str, Rule] = {
    # --- video calls (V1): only the appointment's case manager (or substitute) and client
    "video_calls:call": Rule(_video_call, ("video_call.access_denied",), LOGGED_IN),
    "video_calls:invitations": Rule(
        _video_call, ("video_call.access_denied",), frozenset(STAFF_ROLES)
    ),
    "video_calls:invitation_revoke": Rule(
        _video_appointment, ("video_call.access_denied",), frozenset(STAFF_ROLES)
    ),
    # POST only: a GET is refused for everyone (405); the POST's rules: test_call_files.
    "video_calls:files": Rule(_video_call),
    # --- core
    "core:outbox_detail": Rule(
        _outbox_message, exempt_roles=dict.fromkeys(STAFF_ROLES, _OUTBOX_STAFF)
    ),
    "core:outbox_attachment": Rule(
        _outbox_attachment, exempt_roles=dict.fromkeys(STAFF_ROLES, _OUTBOX_STAFF)
    ),
    # --- accounts
    "accounts:session_end": Rule(
        lambda w, r: {"pk": w.session_of(r).pk}, ("session.access_denied",), LOGGED_IN
    ),
    "accounts:substitution_end": Rule(
        lambda w, r: {"pk": w.substitution_of(r).pk},
        ("substitution.access_denied",),
        LOGGED_IN - {"admin"},
        exempt_roles={"admin": _ADMIN_MANAGES},
        denial_names_object=False,
    ),
    "accounts:staff_update": Rule(
        _staff_member,
        _STAFF_DENIED,
        NOT_ADMIN,
        exempt_roles={"admin": _ADMIN_MANAGES},
        denial_names_object=False,
    ),
    "accounts:staff_action": Rule(
        _staff_member,
        _STAFF_DENIED,
        NOT_ADMIN,
        exempt_roles={"admin": _ADMIN_MANAGES},
        denial_names_object=False,
    ),
    "accounts:team_update": Rule(
        lambda w, r: {"pk": w.owner_foreign_to(r).team_id},
        _STAFF_DENIED,
        NOT_ADMIN,
        exempt_roles={"admin": _ADMIN_MANAGES},
        denial_names_object=False,
    ),
    # --- clients: the caseload (the refusal names the client in the trail)
    "clients:detail": Rule(_client_pk, _CLIENT_DENIED, CASELOAD, owner=_owner),
    "clients:update": Rule(_client_pk, _CLIENT_DENIED, CASELOAD),
    "clients:invitation_send": Rule(_client_pk, _CLIENT_DENIED, CASELOAD),
    "clients:invitation_revoke": Rule(_client_pk, _CLIENT_DENIED, CASELOAD),
    "clients:invitation_resend": Rule(_client_pk, _CLIENT_DENIED, CASELOAD),
    "clients:paper_consent": Rule(
        lambda w, r: {**_client_pk(w, r), "purpose": "video"}, _CLIENT_DENIED, CASELOAD
    ),
    # --- clients: the portal acts on the logged-in client's own record only
    "clients:consent_withdraw": Rule(
        lambda w, r: {"purpose": "video"}, exempt_roles={"client": _OWN_CONSENT}
    ),
    "clients:consent_give": Rule(
        lambda w, r: {"purpose": "video"}, exempt_roles={"client": _OWN_CONSENT}
    ),
    # --- appointments: staff pages
    "appointments:detail": Rule(_appointment, _APPOINTMENT_DENIED, CASELOAD, owner=_owner),
    "appointments:move": Rule(_appointment, _APPOINTMENT_DENIED, CASE_MANAGER, owner=_owner),
    "appointments:cancel": Rule(_appointment, _APPOINTMENT_DENIED, CASE_MANAGER, owner=_owner),
    "appointments:attendance": Rule(_appointment, _APPOINTMENT_DENIED, CASE_MANAGER),
    "appointments:ics": Rule(_appointment, _APPOINTMENT_DENIED, CASELOAD, owner=_owner),
    "appointments:book": Rule(_client, _CLIENT_DENIED, CASE_MANAGER, owner=_owner),
    "appointments:propose": Rule(_client, _CLIENT_DENIED, CASE_MANAGER, owner=_owner),
    "appointments:office_hours_delete": Rule(lambda w, r: {"pk": w.office_hours_of(r).pk}),
    "appointments:absence_delete": Rule(lambda w, r: {"pk": w.absence_of(r).pk}),
    # --- appointments: client portal
    "appointments:portal_detail": Rule(
        _appointment, _APPOINTMENT_DENIED, CLIENT, owner=_client_owner
    ),
    "appointments:portal_accept": Rule(_appointment, _APPOINTMENT_DENIED, CLIENT),
    "appointments:portal_confirm": Rule(_appointment, _APPOINTMENT_DENIED, CLIENT),
    "appointments:portal_other_time": Rule(_appointment, _APPOINTMENT_DENIED, CLIENT),
    "appointments:portal_cancel": Rule(_appointment, _APPOINTMENT_DENIED, CLIENT),
    "appointments:portal_ics": Rule(_appointment, _APPOINTMENT_DENIED, CLIENT, owner=_client_owner),
    "appointments:portal_move": Rule(_appointment, _APPOINTMENT_DENIED, CLIENT),
    # --- messaging: a client's conversation (refused like the client page it belongs to)
    "messaging:client_conversation": Rule(_client, _CLIENT_DENIED, CASELOAD, owner=_owner),
    "messaging:attachment_states": Rule(
        _conversation, ("conversation.access_denied",), LOGGED_IN, owner=_owner
    ),
    # --- documents: requests, the staff list, the e-file mark and the export (D2)
    "documents:client_documents": Rule(_client, _CLIENT_DENIED, CASELOAD, owner=_owner),
    "documents:client_export": Rule(_client, _CLIENT_DENIED, CASELOAD),
    # --- efile: the hand-over page, the xdomea message, withdrawing a hand-over
    "efile:client": Rule(_client, _CLIENT_DENIED, CASELOAD, owner=_owner),
    "efile:handover": Rule(_client, _CLIENT_DENIED, CASELOAD),
    "efile:withdraw": Rule(_efile_handover, _CLIENT_DENIED, CASELOAD),
    "documents:efile_mark": Rule(_ready_document, ("document.access_denied",), CASELOAD),
    "documents:request_cancel": Rule(
        _document_request, ("document_request.access_denied",), CASELOAD
    ),
    # --- documents: one document, its pages and files, uploads (D1)
    "documents:detail": Rule(_ready_document, ("document.access_denied",), LOGGED_IN),
    "documents:preview": Rule(_ready_document_page, ("document.access_denied",), LOGGED_IN),
    "documents:download": Rule(_ready_document, ("document.access_denied",), LOGGED_IN),
    # The evidence copy (the file as received): staff only, a warning page and a POST
    "documents:download_original": Rule(_ready_document, ("document.access_denied",), LOGGED_IN),
    "documents:delete": Rule(_ready_document, ("document.access_denied",), LOGGED_IN),
    "documents:staff_upload": Rule(_client, _CLIENT_DENIED, CASELOAD),
    "documents:upload_session": Rule(_upload_session),
    # --- eforms: one submitted form on the staff side (refused like its client)
    "eforms:staff_submission": Rule(
        _staff_form_submission, ("eforms.access_denied",), CASELOAD, owner=_owner
    ),
    # --- retention: one client's data-protection page and its actions (the DPO reaches every
    # client by design: she decides requests and holds, and a restricted client only she sees)
    "retention:client": Rule(
        _client_pk, _RETENTION_DENIED, CASELOAD, exempt_roles=_DPO_EXEMPT, owner=_owner
    ),
    "retention:request_record": Rule(
        _client_pk, _RETENTION_DENIED, CASELOAD, exempt_roles=_DPO_EXEMPT
    ),
    "retention:request_decide": Rule(
        _retention_request, _RETENTION_DENIED, CASELOAD, exempt_roles=_DPO_EXEMPT
    ),
    "retention:hold_set": Rule(_client_pk, _RETENTION_DENIED, CASELOAD, exempt_roles=_DPO_EXEMPT),
    "retention:hold_lift": Rule(_legal_hold, _RETENTION_DENIED, CASELOAD, exempt_roles=_DPO_EXEMPT),
    "retention:case_close": Rule(_client_pk, _RETENTION_DENIED, CASELOAD, exempt_roles=_DPO_EXEMPT),
    # --- agreements: plans, decisions, confirmations (refused like the client they belong to)
    "agreements:client": Rule(_client, _CLIENT_DENIED, CASELOAD, owner=_owner),
    "agreements:plan_create": Rule(_client, _CLIENT_DENIED, CASELOAD),
    "agreements:decision_create": Rule(_client, _CLIENT_DENIED, CASELOAD, owner=_owner),
    "agreements:confirmation_create": Rule(_client, _CLIENT_DENIED, CASELOAD, owner=_owner),
    "agreements:plan": Rule(_agreement("plan"), ("plan.access_denied",), CASELOAD, owner=_owner),
    "agreements:plan_offer_talk": Rule(
        _agreement("plan"), ("plan.access_denied",), CASELOAD, owner=_owner
    ),
    "agreements:plan_pdf": Rule(_agreement("plan", number=1), ("plan.access_denied",), CASELOAD),
    "agreements:decision": Rule(
        _agreement("decision"), ("decision.access_denied",), CASELOAD, owner=_owner
    ),
    "agreements:decision_pdf": Rule(_agreement("decision"), ("decision.access_denied",), CASELOAD),
    "agreements:decision_log_pdf": Rule(
        _agreement("decision"), ("decision.access_denied",), CASELOAD
    ),
    "agreements:confirmation_pdf": Rule(
        _agreement("confirmation"), ("confirmation.access_denied",), CASELOAD
    ),
    "agreements:appointment_letter": Rule(
        _appointment, _APPOINTMENT_DENIED, CASELOAD, owner=_owner
    ),
    "agreements:invitation_letter": Rule(_client, _CLIENT_DENIED, CASELOAD, owner=_owner),
    "agreements:postal_sent": Rule(
        _agreement("postal"), ("postal_delivery.access_denied",), CASELOAD
    ),
    # The portal pages also need consents, so a client may be refused with the 403 page.
    # --- agreements: templates are the office's, managed by team leads and administrators
    "agreements:template_create": Rule(
        lambda w, r: {"kind": "plan"},
        _TEMPLATE_DENIED,
        TEMPLATE_REFUSED,
        exempt_roles=_TEMPLATE_MANAGERS,
        denial_names_object=False,
        owner=_template_manager,
    ),
    "agreements:template_detail": Rule(
        _template("bescheid"),
        _TEMPLATE_DENIED,
        TEMPLATE_REFUSED,
        exempt_roles=_TEMPLATE_MANAGERS,
        owner=_template_manager,
    ),
    "agreements:template_edit": Rule(
        _template("plan"),
        _TEMPLATE_DENIED,
        TEMPLATE_REFUSED,
        exempt_roles=_TEMPLATE_MANAGERS,
        owner=_template_manager,
    ),
    "agreements:template_preview": Rule(
        _template("bescheid"),
        _TEMPLATE_DENIED,
        TEMPLATE_REFUSED,
        exempt_roles=_TEMPLATE_MANAGERS,
        owner=_template_manager,
    ),
    "agreements:template_preview_pdf": Rule(
        _template("plan"), _TEMPLATE_DENIED, TEMPLATE_REFUSED, exempt_roles=_TEMPLATE_MANAGERS
    ),
    "agreements:template_publish": Rule(
        _template("bescheid"), _TEMPLATE_DENIED, TEMPLATE_REFUSED, exempt_roles=_TEMPLATE_MANAGERS
    ),
    "agreements:portal_plan": Rule(_agreement("plan")),
    "agreements:portal_plan_pdf": Rule(_agreement("plan", number=1)),
    "agreements:portal_decision": Rule(_agreement("decision")),
    "agreements:portal_decision_pdf": Rule(_agreement("decision")),
    "agreements:portal_confirmation": Rule(_agreement("confirmation")),
    "agreements:portal_confirmation_pdf": Rule(_agreement("confirmation")),
    # --- forms: the client's own submissions (portal)
    "eforms:portal_detail": Rule(_form_submission(), _FORM_DENIED, CLIENT),
    "eforms:portal_section": Rule(_form_submission(section="bank"), _FORM_DENIED, CLIENT),
    "eforms:portal_attach": Rule(_form_submission(field="payslip"), _FORM_DENIED, CLIENT),
    "eforms:portal_detach": Rule(_form_submission(attachment=True), _FORM_DENIED, CLIENT),
    "eforms:portal_review": Rule(_form_submission(), _FORM_DENIED, CLIENT),
    "eforms:portal_confirm": Rule(_form_submission(), _FORM_DENIED, CLIENT),
    "eforms:portal_done": Rule(_form_submission(), _FORM_DENIED, CLIENT),
    # --- copies of a client's own data (Art. 15 GDPR)
    "subject_access:client": Rule(_client, _CLIENT_DENIED, CASELOAD, owner=_owner),
    "subject_access:detail": Rule(_data_export, _EXPORT_DENIED, LOGGED_IN, owner=_owner),
    "subject_access:state": Rule(_data_export, _EXPORT_DENIED, LOGGED_IN, owner=_owner),
    "subject_access:download": Rule(_data_export, _EXPORT_DENIED, LOGGED_IN),
    # --- allauth: a user's own passkeys
    "mfa_edit_webauthn": Rule(lambda w, r: {"pk": w.passkey_of(r).pk}, owner=_owner),
    "mfa_remove_webauthn": Rule(lambda w, r: {"pk": w.passkey_of(r).pk}, owner=_owner),
}

# Routes that take arguments but protect no object of anyone's, and why. A key ending in
# ":*" covers a whole namespace.
ALLOW_LIST: dict[str, str] = {
    "eforms:portal_start": "starts a form by its slug for the logged-in client herself; a "
    "definition is public content, not anyone's object (eforms/tests/test_portal_views.py)",
    # Django admin: only admins (is_staff) with a second factor get in at all, see
    # test_django_admin_is_closed_to_everyone_but_admins; inside, model permissions rule.
    "admin:*": "Django admin, closed to all but admins (tested below)",
    # Bearer-token pages: the unguessable token in the URL is the credential, by design.
    "appointments:feed": "private calendar feed; the secret token is the only credential",
    "appointments:link": "signed, expiring one-tap link from a reminder mail; token is the key",
    "video_calls:interpreter": "interpreter link; the 256-bit token (stored hashed) is the key",
    "video_calls:join_link": "join link from a reminder; the signed token (256-bit HMAC, stored "
    "hashed) is the key, for one call on one device (video_calls/tests/test_join_links.py)",
    "account_confirm_email": "allauth e-mail confirmation; the key is the credential",
    "account_reset_password_from_key": "allauth password reset; the key is the credential",
    "clients:easy_language_page": "a public text in Leichte Sprache named by its slug; no object",
    "clients:invitation_accept": "the invitation link for the client's phone; the single-use "
    "token (only its hash is stored) is the credential, unknown tokens answer 404",
    # Single sign-on: the argument names the identity provider, not an object.
    "openid_connect_login": "SSO start; provider_id names the configured identity provider",
    "openid_connect_callback": "SSO return; provider_id names the identity provider",
}


def _allow_list_reason(route_id: str) -> str | None:
    if route_id in ALLOW_LIST:
        return ALLOW_LIST[route_id]
    for key, reason in ALLOW_LIST.items():
        if key.endswith(":*") and route_id.startswith(key[:-1]):
            return reason
    return None


ROUTES = routes_with_arguments()
CHECKED = [route for route in ROUTES if route.id in REGISTRY]


# --- The tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_route_has_an_access_rule(route):
    assert route.id in REGISTRY or _allow_list_reason(route.id), (
        f"Route {route.id!r} ({route.route}) takes {', '.join(route.kwargs)} but has no access "
        "rule. Add a builder to REGISTRY in tests/test_url_access.py (an object each role "
        "must not reach), or, if it protects no object, add it to ALLOW_LIST with the reason."
    )


def test_registry_and_allow_list_name_only_existing_routes():
    existing = {route.id for route in ROUTES}
    stale = sorted(set(REGISTRY) - existing)
    stale += sorted(key for key in ALLOW_LIST if not key.endswith(":*") and key not in existing)
    assert not stale, f"Rules for routes that no longer exist (renamed?): {stale}"


def _refusal_problem(response: Any, role: str) -> str | None:
    status = response.status_code
    if status in {403, 404, 405}:
        return None
    if role == "anonymous" and status == 302:
        # Staff log in with a password, clients with an e-mailed code.
        login_urls = (reverse("account_login"), reverse("account_request_login_code"))
        if response["Location"].split("?")[0] in login_urls:
            return None
        return f"redirected to {response['Location']} instead of a login page"
    if status == 200:
        return "answered 200"
    return f"answered {status}"


def _denial_logged(rule: Rule, user: User, kwargs: dict[str, Any], since: int) -> bool:
    targets = {str(value) for value in kwargs.values()}
    numbers = {value for value in kwargs.values() if isinstance(value, int)}
    entries = AuditEntry.objects.filter(
        sequence__gt=since, actor_id=user.pk, action__in=rule.denial_actions
    )
    return any(
        not rule.denial_names_object or entry.target_id in targets or entry.client_id in numbers
        for entry in entries
    )


def access_problems(route_id: str, rule: Rule, world: World) -> list[str]:
    """Every way in which `route_id` fails to refuse the roles, as readable lines."""
    problems: list[str] = []
    for role in ROLES:
        if role in rule.exempt_roles:
            continue
        user = world.users[role]
        kwargs = rule.build(world, role)
        url = reverse(route_id, kwargs=kwargs)
        browser = WebClient()
        log_in(browser, user)
        last = AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first()
        for method in ("get", "post"):
            try:
                response = getattr(browser, method)(url)
            except Exception as error:  # a server error is one of the outcomes under test
                problems.append(f"{role} {method.upper()} {url}: raised {error!r}")
                continue
            problem = _refusal_problem(response, role)
            if problem is None and FOREIGN_MARK in response.content.decode(errors="replace"):
                problem = "showed the foreign object's data"
            if problem:
                problems.append(f"{role} {method.upper()} {url}: {problem}")
        audited = user is None or role not in rule.denial_roles
        if not audited and not _denial_logged(rule, user, kwargs, last or 0):
            problems.append(
                f"{role}: refusal of {url} left no {' or '.join(rule.denial_actions)} "
                "entry in the audit trail"
            )
    if rule.owner is not None:
        # The control: the object's owner does get the page, so the refusals above were
        # about access, not about a wrong argument.
        kwargs = rule.build(world, "case_manager")
        browser = WebClient()
        log_in(browser, rule.owner(world, "case_manager"))
        try:
            status = browser.get(reverse(route_id, kwargs=kwargs)).status_code
        except Exception as error:  # reported with the rest
            problems.append(f"control: the owner's GET raised {error!r}")
        else:
            if status != 200:
                problems.append(f"control: the owner got {status} instead of 200")
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize("route", CHECKED, ids=lambda r: r.id)
def test_route_refuses_foreign_objects(route):
    problems = access_problems(route.id, REGISTRY[route.id], World())

    assert not problems, f"{route.id} ({route.route}):\n  " + "\n  ".join(problems)


# --- The checker itself can fail --------------------------------------------------------------
# A URLconf with the real routes plus two broken ones, used only by the tests below.


def _leaky_client_page(request: Any, pk: int) -> HttpResponse:
    """Shows any client to anyone: exactly what the walk must catch."""
    from sprechstunde.clients.models import Client

    return HttpResponse(Client.objects.get(pk=pk).last_name)


def _crashing_page(request: Any, pk: int) -> HttpResponse:
    raise RuntimeError("boom")


urlpatterns = [
    path("leak/<int:pk>/", _leaky_client_page, name="leaky_client"),
    path("crash/<int:pk>/", _crashing_page, name="crashing"),
    *config_urls.urlpatterns,
]


@pytest.mark.urls(__name__)
def test_the_walk_finds_a_new_route_that_has_no_rule():
    found = {route.id: route for route in routes_with_arguments()}

    assert found["leaky_client"].kwargs == ("pk",)
    assert "leaky_client" not in REGISTRY
    assert _allow_list_reason("leaky_client") is None


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_check_reports_a_page_that_shows_foreign_clients_or_crashes():
    world = World()
    leak = access_problems("leaky_client", Rule(_client_pk, _CLIENT_DENIED, CASELOAD), world)
    crash = access_problems("crashing", Rule(_client_pk), world)

    for role in ROLES:
        assert any(line.startswith(f"{role} GET") and "answered 200" in line for line in leak)
        assert any(line.startswith(f"{role} GET") and "raised" in line for line in crash)
    assert any("left no client.access_denied entry" in line for line in leak)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_django_admin_is_closed_to_everyone_but_admins(role):
    world = World()
    browser = WebClient()
    log_in(browser, world.users[role])

    response = browser.get(reverse("admin:index"))

    assert response.status_code in {302, 404}, response.status_code
    if response.status_code == 302:
        login_pages = {reverse("admin:login"), reverse("account_login")}
        assert response["Location"].split("?")[0] in login_pages


@pytest.mark.django_db
def test_django_admin_opens_for_an_admin_with_a_second_factor():
    world = World()
    browser = WebClient()
    log_in(browser, world.users["admin"])

    assert browser.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["case_manager", "team_lead"])
def test_a_refused_client_page_is_audited_naming_the_client(role):
    world = World()
    foreign = world.client_of(role)
    user = world.users[role]
    browser = WebClient()
    log_in(browser, user)

    response = browser.get(reverse("clients:detail", kwargs={"pk": foreign.pk}))

    assert response.status_code == 404
    denial = AuditEntry.objects.get(action="client.access_denied")
    assert (denial.actor_id, denial.client_id) == (user.pk, foreign.pk)
    assert denial.target_id == str(foreign.pk)
    assert not AuditEntry.objects.filter(action="client.view").exists()
