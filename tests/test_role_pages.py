"""Every page without object arguments answers every role usefully (issue 14, point 4).

The walk takes every route of config.urls (through all includes) whose pattern takes no
arguments, and opens it by GET as each role. Each answer must be one of:

* the page itself (200/204) or a redirect (301/302/303): the role may use it, or is sent on
  to its own version of it (a client opening the staff inbox lands in their conversation);
* the short "who can use this" page (403, `accounts/other_role.html`, for a client
  `accounts/other_role_client.html`) naming roles that do not include the person's own.

A bare 404 or 403 fails, naming route and role: a new page that forgets to declare its
`page_roles` (ADR 0061) is caught here. Routes that are not a role's page at all (login and
second-factor flows, Django's admin, callbacks) are in ALLOW_LIST, each with the reason.
Routes with arguments stay 404 outside the access rules: tests/test_url_access.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client as WebClient
from django.urls import get_resolver, path, reverse
from django.utils import timezone
from django.views import View

from config import urls as config_urls
from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.models import User
from sprechstunde.clients.choices import ConsentMethod, ConsentPurpose
from sprechstunde.clients.models import Consent, ConsentText
from tests.test_url_access import World, _walk, log_in

ROLES = ("case_manager", "team_lead", "admin", "dpo", "client")

# Routes that are no role's page, with the reason. "name:*" covers a namespace, "prefix*" a
# group of names. Everything else must answer every role as the module docstring says.
ALLOW_LIST: dict[str, str] = {
    "admin:*": "Django's admin has its own login and permission pages; it stays closed to "
    "everyone but admins (test_url_access.test_django_admin_is_closed_to_everyone_but_admins)",
    "account_reauthenticate": "a step allauth sends to before a sensitive change; depends on "
    "how the person logged in (password or code), not on their role",
    "account_request_reauthentication_code": "allauth's re-authentication by code (see above)",
    "account_confirm_reauthentication_code": "allauth's re-authentication by code (see above)",
    "mfa_*": "allauth's second-factor pages: what they answer depends on the authenticators "
    "the account has (no recovery codes yet: 404), not on its role",
    "socialaccount_*": "allauth's third-party login flow (no provider is configured)",
    "<accounts/social/*": "allauth's old addresses of the third-party login flow (redirects)",
    "core:outbox": "the development outbox: a tool of embedded mode, not a role's page; 404 "
    "wherever it is switched off",
    "core:sms_status": "the SMS gateway's delivery callback: POST only, no page",
    "core:metrics": "Prometheus' scrape: 404 for every address outside METRICS_ALLOWED_IPS",
    "core:readiness": "the load balancer's probe: 503 while a part (here the worker) is down",
    "set_language": "the footer's language switch: POST only, no page",
    "documents:upload_session_create": "starts a resumable upload: POST only, no page",
}

# Query strings a page needs to show something for the role that uses it.
QUERY: dict[str, str] = {
    "compliance:download": "?paper=records-of-processing",
}

ANSWERS_THAT_SERVE = {200, 204, 301, 302, 303}
OTHER_ROLE_TEMPLATES = {"accounts/other_role.html", "accounts/other_role_client.html"}


def _allow_list_reason(route_id: str) -> str | None:
    for key, reason in ALLOW_LIST.items():
        if key == route_id or (key.endswith("*") and route_id.startswith(key[:-1])):
            return reason
    return None


def role_page_routes() -> list[str]:
    """The names of every route without arguments, minus the allow-list."""
    found = {route.id for route in _walk(get_resolver().url_patterns) if not route.kwargs}
    return sorted(route_id for route_id in found if _allow_list_reason(route_id) is None)


def _give_every_consent(user: User) -> None:
    """The client may use the whole portal: their own pages must answer 200, not 403."""
    for purpose in ConsentPurpose:
        text, _ = ConsentText.objects.get_or_create(
            purpose=purpose,
            language="de",
            version=1,
            defaults={"title": str(purpose.label), "body": "Text", "published_at": timezone.now()},
        )
        Consent.objects.create(
            client=user.client_profile,
            purpose=purpose,
            text=text,
            given_at=timezone.now(),
            given_method=ConsentMethod.PORTAL,
        )


def _other_role_problem(response: Any, user: User) -> str | None:
    """What is wrong with an other-role page shown to `user`, if anything."""
    templates = {template.name for template in response.templates}
    own_label = str(user.get_role_display())
    page = response.content.decode()
    if f'href="{reverse("core:home")}"' not in page:
        return "other-role page without the way back to the start page"
    if user.role == Role.CLIENT:
        if "accounts/other_role_client.html" not in templates:
            return "a client got the staff version of the other-role page"
        return None
    if "accounts/other_role.html" not in templates:
        return "staff got the client version of the other-role page"
    allowed = response.context["allowed_roles"]
    if own_label in allowed:
        return f"other-role page, but it names the person's own role among {allowed}"
    return None


def role_page_problems(route_id: str, users: dict[str, User]) -> list[str]:
    """Every (role, answer) of this route that is neither served nor the other-role page."""
    url = reverse(route_id) + QUERY.get(route_id, "")
    problems = []
    for role, user in users.items():
        browser = WebClient(headers={"accept-language": "en"})
        log_in(browser, user)
        response = browser.get(url)
        status = response.status_code
        if status in ANSWERS_THAT_SERVE:
            continue
        templates = {template.name for template in response.templates or []}
        if status == 403 and templates & OTHER_ROLE_TEMPLATES:
            problem = _other_role_problem(response, user)
            if problem:
                problems.append(f"{role}: {problem}")
            continue
        problems.append(f"{role}: answered a bare {status} instead of the other-role page")
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_page_without_arguments_serves_the_role_or_says_who_uses_it(role):
    world = World()
    user = world.users[role]
    assert user is not None
    if role == "client":
        _give_every_consent(user)

    problems = {
        route_id: found
        for route_id in role_page_routes()
        if (found := role_page_problems(route_id, {role: user}))
    }

    assert not problems, "\n".join(
        f"{route_id}: {'; '.join(found)}" for route_id, found in problems.items()
    ) + (
        "\nDeclare `page_roles` on the view (sprechstunde.accounts.role_pages), or, if the "
        "route is no role's page, add it to ALLOW_LIST in tests/test_role_pages.py with the "
        "reason."
    )


def test_the_allow_list_names_only_existing_routes():
    existing = {route.id for route in _walk(get_resolver().url_patterns) if not route.kwargs}
    stale = [
        key
        for key in ALLOW_LIST
        if not any(
            route_id == key or (key.endswith("*") and route_id.startswith(key[:-1]))
            for route_id in existing
        )
    ]
    assert not stale, f"ALLOW_LIST names routes that no longer exist (renamed?): {stale}"
    assert set(QUERY) <= existing


# --- The walk itself can fail -----------------------------------------------------------------
# The real routes plus a list page that refuses other roles with a bare 404, and one that
# declares its roles: used only by the tests below.


def _bare_refusal(request: HttpRequest) -> HttpResponse:
    """A DPO-only list that forgot to say so: what the walk must catch."""
    if getattr(request.user, "role", None) != Role.DATA_PROTECTION_OFFICER:
        raise Http404
    return HttpResponse("list")


class _DeclaredPage(View):
    page_roles = (Role.DATA_PROTECTION_OFFICER,)

    def get(self, request: HttpRequest) -> HttpResponse:
        return _bare_refusal(request)


urlpatterns = [
    *config_urls.urlpatterns,
    path("bare-refusal/", _bare_refusal, name="bare_refusal"),
    path("declared-page/", _DeclaredPage.as_view(), name="declared_page"),
]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_walk_finds_a_page_that_refuses_with_a_bare_404():
    world = World()
    users = {role: world.users[role] for role in ("case_manager", "dpo", "client")}

    assert "bare_refusal" in role_page_routes()
    assert role_page_problems("bare_refusal", users) == [
        "case_manager: answered a bare 404 instead of the other-role page",
        "client: answered a bare 404 instead of the other-role page",
    ]
    assert role_page_problems("declared_page", users) == []
