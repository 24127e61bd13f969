"""Reads of client data. Everything goes through the access rules in permissions.py, and
every successful read of one client's data is audited (denials too)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest
from django.utils import timezone

from sprechstunde.audit.services import audit_record

from . import numbers, permissions
from .choices import ConsentPurpose
from .models import Client, Consent, ConsentText, Invitation

CLIENT_TARGET_TYPE = "clients.client"
# A search names no object: the audit entry carries "<kind of term>:<keyed hash of it>".
SEARCH_TARGET_TYPE = "clients.search"


def _open_invitations() -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def _search_condition(term: str) -> tuple[numbers.SearchKind, Q]:
    """The filter for one search term, chosen by the term's form (clients.numbers)."""
    kind = numbers.search_kind(term)
    if kind == "bg_number":
        return kind, Q(bg_number__contains=numbers.compact_number(term))
    if kind == "customer_number":
        return kind, Q(customer_number=numbers.compact_number(term))
    if kind == "email":
        return kind, Q(email__icontains=term.strip())
    if kind == "phone":
        return kind, Q(phone_digits__contains=numbers.phone_digits(term))
    condition = Q()
    for word in numbers.fold(term).split()[:5]:
        condition &= Q(search_name__contains=word)
    return kind, condition


def client_list_for_user(
    *, user: Any, search: str = "", request: HttpRequest | None = None
) -> QuerySet[Client]:
    """The caseload `user` may see, optionally searched by name (without diacritics),
    customer number, BG number, e-mail or phone, with consent and invitation state for the
    list (a fixed number of queries, however long the list).

    One audit entry records the list or the search: for a search only the kind of term and
    a keyed hash of it, never the term (it is social data). The rows carry names and states.
    """
    condition = permissions.client_visibility_filter(user=user)
    if condition is None:
        return Client.objects.none()
    queryset = Client.objects.filter(condition)
    search = search.strip()
    kind: str | None = None
    if search:
        kind, search_condition = _search_condition(search)
        queryset = queryset.filter(search_condition)
    open_invitation = _open_invitations().filter(client=OuterRef("pk")).order_by("-created_at")
    queryset = (
        queryset.select_related("case_manager", "user")
        .annotate(open_invitation_expires_at=Subquery(open_invitation.values("expires_at")[:1]))
        .prefetch_related(
            Prefetch(
                "consents",
                queryset=Consent.objects.filter(withdrawn_at__isnull=True).order_by("purpose"),
                to_attr="active_consents",
            )
        )
        .order_by("last_name", "first_name", "pk")
    )
    if kind is None:
        audit_record(
            actor=user, action="client.list", target_type=CLIENT_TARGET_TYPE, request=request
        )
    else:
        audit_record(
            actor=user,
            action="client.search",
            target_type=SEARCH_TARGET_TYPE,
            target_id=f"{kind}:{numbers.search_term_digest(search)}",
            request=request,
        )
    return queryset


def client_get_for_user(
    *, user: Any, pk: int | str, request: HttpRequest | None = None, record_view: bool = True
) -> Client:
    """One client `user` may see, audited as "client.view".

    Anything else raises Http404 and leaves a "client.access_denied" entry, naming the
    client when it exists so that its trail shows the attempt.
    """
    try:
        key = int(pk)
    except (TypeError, ValueError):
        key = None
    client = None
    if key is not None:
        client = (
            permissions.clients_visible_to(user=user)
            .select_related("case_manager", "case_manager__team", "user")
            .filter(pk=key)
            .first()
        )
    if client is None:
        exists = key is not None and Client.objects.filter(pk=key).exists()
        audit_record(
            actor=user,
            action="client.access_denied",
            target_type=CLIENT_TARGET_TYPE,
            target_id=str(pk)[:64],
            client_id=key if exists else None,
            request=request,
        )
        raise Http404
    if record_view:
        audit_record(actor=user, action="client.view", target=client, request=request)
    return client


@dataclass(frozen=True)
class PurposeState:
    """Where one purpose stands for a client: the active consent, or the last one."""

    purpose: ConsentPurpose
    current: Consent | None
    last: Consent | None

    @property
    def is_active(self) -> bool:
        return self.current is not None

    @property
    def is_required(self) -> bool:
        return self.purpose == ConsentPurpose.PORTAL


def consent_history_for_client(*, client: Client) -> list[Consent]:
    """All consent records of a client, newest first, with their texts."""
    return list(
        Consent.objects.filter(client=client).select_related("text").order_by("-given_at", "-pk")
    )


def consent_states_for_client(
    *, client: Client, history: list[Consent] | None = None
) -> list[PurposeState]:
    """One PurposeState per purpose, in the order of ConsentPurpose (no auditing: callers
    have checked access and audited the read)."""
    records = history if history is not None else consent_history_for_client(client=client)
    states = []
    for purpose in ConsentPurpose:
        mine = [consent for consent in records if consent.purpose == purpose]
        current = next((consent for consent in mine if consent.withdrawn_at is None), None)
        states.append(
            PurposeState(purpose=purpose, current=current, last=mine[0] if mine else None)
        )
    return states


def consent_overview_for_user(
    *, user: Any, request: HttpRequest | None = None, action: str = "consent.view"
) -> tuple[Client, list[PurposeState], list[Consent]]:
    """A client's own consents (privacy page, receipt); audited. Http404 for non-clients."""
    client = permissions.client_profile_of(user=user)
    if client is None:
        raise Http404
    history = consent_history_for_client(client=client)
    audit_record(actor=user, action=action, target=client, request=request)
    return client, consent_states_for_client(client=client, history=history), history


def invitation_latest_for_client(*, client: Client) -> Invitation | None:
    """The newest invitation of a client, whatever its state."""
    return Invitation.objects.filter(client=client).order_by("-created_at", "-pk").first()


def invitation_open_for_client(*, client: Client) -> Invitation | None:
    """The client's invitation that can still be accepted, if any."""
    return _open_invitations().filter(client=client).order_by("-created_at", "-pk").first()


def client_has_portal_access(*, client: Client) -> bool:
    """An active portal account and an active consent to portal use."""
    if client.user_id is None or client.user is None or not client.user.is_active:
        return False
    return Consent.objects.filter(
        client=client, purpose=ConsentPurpose.PORTAL, withdrawn_at__isnull=True
    ).exists()


InvitationState = Literal["valid", "expired", "used", "revoked", "unknown"]


@dataclass(frozen=True)
class InvitationLookup:
    """What an invitation link leads to. `invitation` is None for unknown tokens."""

    state: InvitationState
    invitation: Invitation | None


def invitation_lookup(*, token: str) -> InvitationLookup:
    """Find the invitation behind a token (by its hash) and say whether it can be used."""
    if not token or len(token) > 200:
        return InvitationLookup(state="unknown", invitation=None)
    invitation = (
        Invitation.objects.select_related("client")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
    )
    if invitation is None:
        return InvitationLookup(state="unknown", invitation=None)
    return InvitationLookup(state=invitation_state(invitation=invitation), invitation=invitation)


def invitation_state(*, invitation: Invitation) -> InvitationState:
    """Whether an invitation link can still be used, and if not, why."""
    if invitation.accepted_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= timezone.now():
        return "expired"
    return "valid"


def consent_text_current(*, purpose: str, language: str) -> ConsentText | None:
    """The newest published text for a purpose in a language (German when there is none)."""
    published = ConsentText.objects.filter(purpose=purpose, published_at__isnull=False)
    for code in dict.fromkeys([language, settings.LANGUAGE_CODE]):
        text = published.filter(language=code).order_by("-version").first()
        if text is not None:
            return text
    return None


def consent_texts_current(*, language: str) -> dict[str, ConsentText]:
    """The current text of every purpose that has one, keyed by purpose."""
    texts = {}
    for purpose in ConsentPurpose.values:
        text = consent_text_current(purpose=purpose, language=language)
        if text is not None:
            texts[purpose] = text
    return texts
