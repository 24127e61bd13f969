"""Walks every route of the clients app: each role tries a foreign client and is refused.

A new route that takes a parameter fails `test_every_parameter_route_has_an_access_rule`
until it is listed in OBJECT_ROUTES (tried by every role below) or in NO_OBJECT_ID_ROUTES
with the reason why it exposes no other person's object.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from sprechstunde.accounts.factories import ClientUserFactory, TeamLeadFactory
from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients import services
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import Consent, Invitation

from .conftest import login

pytestmark = pytest.mark.django_db

# Routes whose `pk` names a client: every role below tries them on a client not theirs.
OBJECT_ROUTES = {
    "clients:detail",
    "clients:update",
    "clients:invitation_send",
    "clients:invitation_revoke",
    "clients:invitation_resend",
    "clients:paper_consent",
}
# Parameters besides `pk` that such a route takes, with a value to try.
EXTRA_KWARGS = {"clients:paper_consent": {"purpose": "video"}}
# Routes with parameters that are no object id, and why nobody reaches another's data.
NO_OBJECT_ID_ROUTES = {
    "clients:invitation_accept": "the secret token is the permission (test_views_invitation)",
    "clients:consent_withdraw": "the purpose names no object: it acts on the logged-in client only",
    "clients:consent_give": "the purpose names no object: it acts on the logged-in client only",
    "clients:easy_language_page": "the slug names a public text in Leichte Sprache, no object",
}
ROLES = ("case_manager", "team_lead", "admin", "dpo", "client", "anonymous")


def _client_routes() -> dict[str, tuple[str, ...]]:
    """Every named route under the clients namespace, with its parameter names."""
    found: dict[str, tuple[str, ...]] = {}

    def walk(patterns, namespace: str) -> None:
        for item in patterns:
            if isinstance(item, URLResolver):
                walk(item.url_patterns, item.namespace or namespace)
            elif isinstance(item, URLPattern) and namespace == "clients" and item.name:
                found[f"clients:{item.name}"] = tuple(item.pattern.converters)

    walk(get_resolver().url_patterns, "")
    return found


def test_every_parameter_route_has_an_access_rule():
    routes = _client_routes()
    with_parameters = {name for name, params in routes.items() if params}
    assert with_parameters, "the walk found no routes at all"
    uncovered = with_parameters - OBJECT_ROUTES - set(NO_OBJECT_ID_ROUTES)
    assert not uncovered, f"routes without an access rule in this test: {sorted(uncovered)}"
    for name in OBJECT_ROUTES:
        assert routes[name] == ("pk", *EXTRA_KWARGS.get(name, {})), name


@pytest.fixture
def foreign(other_case_manager):
    """A client of the other team with an open invitation and a consent: much to spoil."""
    client = ClientFactory(case_manager=other_case_manager, email="target@example.org")
    issued = services.invitation_send(client=client, actor=other_case_manager)
    return client, issued


@pytest.fixture
def actor(request, case_manager, team, admin_user, dpo):
    """The user who attacks, per role: none of them may reach the foreign client."""
    role = request.param
    if role == "case_manager":
        return case_manager
    if role == "team_lead":
        return TeamLeadFactory(team=team)
    if role == "admin":
        return admin_user
    if role == "dpo":
        return dpo
    if role == "client":
        own = ClientFactory(case_manager=case_manager)
        user = ClientUserFactory(email=own.email)
        own.user = user
        own.save()
        return user
    return None


def _state():
    return (
        list(Invitation.objects.order_by("pk").values_list("pk", "revoked_at", "accepted_at")),
        Consent.objects.count(),
    )


@pytest.mark.parametrize("actor", ROLES, indirect=True)
@pytest.mark.parametrize("name", sorted(OBJECT_ROUTES))
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_role_is_refused_a_foreign_client_on_every_object_route(
    client, actor, foreign, name, method
):
    target, _issued = foreign
    if actor is not None:
        login(client, actor)
    before = _state()
    extra = EXTRA_KWARGS.get(name, {})
    response = getattr(client, method)(reverse(name, kwargs={"pk": target.pk, **extra}))
    if actor is None:
        assert response.status_code == 302
        assert "login" in response["Location"]
    elif response.status_code == 405:
        # The wrong method is refused before any lookup: the same answer for every id.
        missing = getattr(client, method)(reverse(name, kwargs={"pk": 999999, **extra}))
        assert missing.status_code == 405
    else:
        assert response.status_code == 404
        assert b"target@example.org" not in response.content
    assert _state() == before
    assert not AuditEntry.objects.filter(client_id=target.pk, action="client.view").exists()
