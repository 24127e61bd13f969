"""Finds the pages to visit: every route of config.urls, detail routes filled in from sample
objects, and links found on the pages themselves.

A route with URL parameters can only be visited when this module knows how to fill them in
(KWARGS_RULES) or says why it is left out (Skip). Any other such route is "unknown": the
crawler reports it, and test_route_discovery fails until a rule is added here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.urls import URLPattern, URLResolver, get_resolver, reverse

if TYPE_CHECKING:
    from .sample_data import World

# Django admin has its own login, pages and templates; the brief leaves it out of the crawl.
EXCLUDED_NAMESPACES = frozenset({"admin"})
EXCLUDED_PATH_PREFIXES = ("/verwaltung/", "/static/", "/media/")

# Routes a crawler must not GET, with the reason. Everything else is fetched; a 405 answer marks
# a route as POST-only at run time, a non-HTML answer (JSON, PDF, iCalendar) is listed as such.
NOT_CRAWLED: dict[str, str] = {
    "account_logout": "logs out (POST); visiting it would end the crawl's session",
    "set_language": "POST only (language switch form in the footer)",
}


@dataclass(frozen=True)
class Skip:
    """A route with parameters that the crawler deliberately does not visit, and why."""

    reason: str


KwargsRule = Callable[["World"], "dict[str, Any] | Skip"]


def _password_reset_key(world: World) -> dict[str, Any]:
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    user = world.case_manager
    return {"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)}


_PASSKEY = Skip(
    "needs a registered passkey (WebAuthn authenticator); covered by the accounts tests"
)
_OIDC = Skip("single sign-on exists only with OIDC_SERVER_URL set; the callback is for the IdP")

# URL name -> how to fill in its parameters from the sample World (or why not).
KWARGS_RULES: dict[str, KwargsRule | Skip] = {
    "core:outbox_detail": lambda w: {"pk": w.outbox_message.pk},
    "core:outbox_attachment": Skip("a file download, not a page; covered by the core tests"),
    "account_reset_password_from_key": _password_reset_key,
    "account_confirm_email": Skip("e-mail confirmation is off (ACCOUNT_EMAIL_VERIFICATION)"),
    "mfa_remove_webauthn": _PASSKEY,
    "mfa_edit_webauthn": _PASSKEY,
    "openid_connect_login": _OIDC,
    "openid_connect_callback": _OIDC,
    # accounts
    "accounts:session_end": lambda w: {"pk": w.sample("user_session").pk},
    "accounts:substitution_end": lambda w: {"pk": w.sample("substitution").pk},
    "accounts:staff_update": lambda w: {"pk": w.other_case_manager.pk},
    "accounts:staff_action": lambda w: {"pk": w.other_case_manager.pk},
    "accounts:team_update": lambda w: {"pk": w.team.pk},
    # clients
    "clients:detail": lambda w: {"pk": w.client.pk},
    "clients:update": lambda w: {"pk": w.client.pk},
    "clients:invitation_send": lambda w: {"pk": w.client.pk},
    "clients:invitation_revoke": lambda w: {"pk": w.other_client.pk},
    "clients:invitation_resend": lambda w: {"pk": w.other_client.pk},
    "clients:paper_consent": lambda w: {"pk": w.client.pk, "purpose": "video"},
    "clients:invitation_accept": lambda w: {"token": w.invitation_token},
    "clients:consent_withdraw": lambda w: {"purpose": "video"},
    "clients:easy_language_page": lambda w: {"slug": "video"},
    "clients:consent_give": lambda w: {"purpose": "video"},
    # messaging
    "messaging:client_conversation": lambda w: {"client_pk": w.client.pk},
    "messaging:attachment_states": Skip("JSON API of attach.js; messaging attachment tests"),
    # documents: requests, staff list, e-file mark, export (D2; the last three are POST-only)
    "documents:client_documents": lambda w: {"client_pk": w.client.pk},
    "documents:client_export": lambda w: {"client_pk": w.client.pk},
    "efile:client": lambda w: {"client_pk": w.client.pk},
    "efile:handover": lambda w: {"client_pk": w.client.pk},
    "efile:withdraw": Skip("POST only (withdraws a hand-over); efile tests"),
    "documents:efile_mark": lambda w: {"pk": w.sample("efile_document").pk},
    "documents:request_cancel": lambda w: {"pk": w.sample("document_request").pk},
    # documents: one document (D1); the sample row has no files, so previews and downloads 404
    "documents:detail": lambda w: {"pk": w.sample("efile_document").pk},
    "eforms:staff_submission": lambda w: {"pk": w.sample("eforms_sent").pk},
    "documents:delete": lambda w: {"pk": w.sample("efile_document").pk},
    "documents:preview": Skip("page images need a processed file; covered by documents tests"),
    "documents:download": Skip("a file download, not a page; covered by documents tests"),
    "documents:download_original": Skip(
        "the evidence copy needs a processed file; documents tests"
    ),
    "documents:staff_upload": lambda w: {"client_pk": w.client.pk},
    "documents:upload_session": Skip("JSON API of upload.js for one upload session"),
    # retention (the actions are POST-only)
    "retention:client": lambda w: {"pk": w.client.pk},
    "retention:request_record": lambda w: {"pk": w.client.pk},
    "retention:hold_set": lambda w: {"pk": w.client.pk},
    "retention:case_close": lambda w: {"pk": w.client.pk},
    "retention:request_decide": Skip("POST only (carries out a request); retention tests"),
    "retention:hold_lift": Skip("POST only (lifts a hold); retention tests"),
    # agreements
    "agreements:client": lambda w: {"client_pk": w.client.pk},
    "agreements:plan_create": lambda w: {"client_pk": w.client.pk},
    "agreements:decision_create": lambda w: {"client_pk": w.client.pk},
    "agreements:confirmation_create": lambda w: {"client_pk": w.client.pk},
    "agreements:plan": lambda w: {"pk": w.sample("agreements_plan").pk},
    "agreements:plan_offer_talk": lambda w: {"pk": w.sample("agreements_plan").pk},
    "agreements:plan_pdf": lambda w: {"pk": w.sample("agreements_plan").pk, "number": 1},
    "agreements:decision": lambda w: {"pk": w.sample("agreements_decision").pk},
    "agreements:decision_pdf": lambda w: {"pk": w.sample("agreements_decision").pk},
    "agreements:decision_log_pdf": lambda w: {"pk": w.sample("agreements_decision").pk},
    "agreements:confirmation_pdf": lambda w: {"pk": w.sample("agreements_confirmation").pk},
    "agreements:postal_sent": lambda w: {"pk": w.sample("agreements_postal").pk},
    # the letters' forms (GET shows the address form; the PDF comes from the POST)
    "agreements:appointment_letter": lambda w: {"pk": w.sample("appointment").pk},
    "agreements:invitation_letter": lambda w: {"client_pk": w.client.pk},
    "agreements:template_create": lambda w: {"kind": "bescheid"},
    "agreements:template_detail": lambda w: {
        "kind": "bescheid",
        "pk": w.sample("decision_template").pk,
    },
    "agreements:template_edit": lambda w: {"kind": "plan", "pk": w.sample("plan_template").pk},
    "agreements:template_preview": lambda w: {
        "kind": "bescheid",
        "pk": w.sample("decision_template").pk,
    },
    "agreements:template_preview_pdf": Skip("a file download, not a page; test_templates"),
    "agreements:template_publish": Skip("POST only (publishes a draft); agreements test_templates"),
    "agreements:portal_plan": lambda w: {"pk": w.sample("agreements_plan").pk},
    "agreements:portal_plan_pdf": lambda w: {"pk": w.sample("agreements_plan").pk, "number": 1},
    "agreements:portal_decision": lambda w: {"pk": w.sample("agreements_decision").pk},
    "agreements:portal_decision_pdf": lambda w: {"pk": w.sample("agreements_decision").pk},
    "agreements:portal_confirmation": lambda w: {"pk": w.sample("agreements_confirmation").pk},
    "agreements:portal_confirmation_pdf": lambda w: {"pk": w.sample("agreements_confirmation").pk},
    # copies of a client's own data (Art. 15 GDPR); one copy's pages are walked, with axe, by
    # tests/browser/test_journey_data_export.py
    "eforms:portal_start": Skip("POST only (starts a form); eforms view tests"),
    "eforms:portal_detail": lambda w: {"pk": w.sample("eforms_draft").pk},
    "eforms:portal_section": lambda w: {"pk": w.sample("eforms_draft").pk, "section": "household"},
    "eforms:portal_attach": lambda w: {"pk": w.sample("eforms_draft").pk, "field": "payslip"},
    "eforms:portal_detach": Skip("POST only (takes a file off a form); eforms view tests"),
    "eforms:portal_review": lambda w: {"pk": w.sample("eforms_draft").pk},
    "eforms:portal_confirm": lambda w: {"pk": w.sample("eforms_draft").pk},
    "eforms:portal_done": lambda w: {"pk": w.sample("eforms_sent").pk},
    "subject_access:client": lambda w: {"client_pk": w.client.pk},
    "subject_access:detail": Skip("one copy's page; test_journey_data_export checks it"),
    "subject_access:state": Skip("JSON API of progress.js; subject_access tests"),
    "subject_access:download": Skip("a file download, not a page; subject_access tests"),
    # video calls (V1)
    "video_calls:call": lambda w: {"appointment_pk": w.sample("video_appointment").pk},
    "video_calls:invitations": lambda w: {"appointment_pk": w.sample("video_appointment").pk},
    "video_calls:invitation_revoke": Skip("POST only (withdraws a link); video_calls tests"),
    "video_calls:files": Skip("POST only (a file in the call's chat); test_call_files"),
    "video_calls:interpreter": lambda w: {"token": w.sample("interpreter_token")},
    "video_calls:join_link": lambda w: {"token": w.sample("join_link_token")},
    # appointments
    "appointments:detail": lambda w: {"pk": w.sample("appointment").pk},
    "appointments:move": lambda w: {"pk": w.sample("appointment").pk},
    "appointments:cancel": lambda w: {"pk": w.sample("appointment").pk},
    "appointments:attendance": lambda w: {"pk": w.sample("appointment").pk},
    "appointments:ics": Skip("a file download, not a page; appointments tests and login pages"),
    "appointments:book": lambda w: {"client_pk": w.client.pk},
    "appointments:propose": lambda w: {"client_pk": w.client.pk},
    "appointments:office_hours_delete": lambda w: {"pk": w.sample("office_hours").pk},
    "appointments:absence_delete": lambda w: {"pk": w.sample("absence").pk},
    "appointments:feed": lambda w: {"token": w.sample("calendar_feed_token")},
    "appointments:link": lambda w: {"token": w.sample("reminder_link_token")},
    "appointments:portal_detail": lambda w: {"pk": w.sample("appointment").pk},
    "appointments:portal_accept": lambda w: {"pk": w.sample("appointment").pk},
    "appointments:portal_confirm": lambda w: {"pk": w.sample("appointment").pk},
    "appointments:portal_other_time": lambda w: {"pk": w.sample("appointment").pk},
    "appointments:portal_cancel": lambda w: {"pk": w.sample("appointment").pk},
    "appointments:portal_ics": Skip("a file download, not a page; test_login_pages downloads it"),
    "appointments:portal_move": lambda w: {"pk": w.sample("appointment").pk},
}


# Pages that no route name leads to directly but that people see: what a wrong link shows.
EXTRA_SEEDS: dict[str, Callable[[World], str]] = {
    "clients:invitation_accept (forged token)": lambda w: reverse(
        "clients:invitation_accept", kwargs={"token": "forged-" + "x" * 40}
    ),
    "appointments:link (forged token)": lambda w: reverse(
        "appointments:link", kwargs={"token": "forged-token"}
    ),
    "video_calls:join_link (forged token)": lambda w: reverse(
        "video_calls:join_link", kwargs={"token": "forged-token"}
    ),
}


@dataclass(frozen=True)
class Route:
    """One URL pattern of config.urls."""

    name: str | None
    pattern: str
    params: tuple[str, ...]
    namespace: str

    @property
    def label(self) -> str:
        return self.name or f"(unnamed) {self.pattern}"


def _params(pattern: Any) -> tuple[str, ...]:
    converters = getattr(pattern, "converters", None)
    if converters:
        return tuple(converters)
    regex = getattr(pattern, "regex", None)
    if regex is not None and regex.groups:
        named = tuple(regex.groupindex)
        return named if len(named) == regex.groups else (*named, "<positional>")
    return ()


def discover_routes() -> list[Route]:
    """Every URL pattern of the root URLconf, with its full name and parameters."""
    routes: list[Route] = []

    def walk(patterns: list[Any], prefix: str, namespace: str, params: tuple[str, ...]) -> None:
        for item in patterns:
            if isinstance(item, URLResolver):
                child_ns = namespace
                if item.namespace:
                    child_ns = f"{namespace}:{item.namespace}" if namespace else item.namespace
                walk(
                    item.url_patterns,
                    prefix + str(item.pattern),
                    child_ns,
                    params + _params(item.pattern),
                )
            elif isinstance(item, URLPattern):
                name = None
                if item.name:
                    name = f"{namespace}:{item.name}" if namespace else item.name
                routes.append(
                    Route(
                        name=name,
                        pattern=prefix + str(item.pattern),
                        params=params + _params(item.pattern),
                        namespace=namespace,
                    )
                )

    walk(get_resolver().url_patterns, "/", "", ())
    return routes


@dataclass
class CrawlPlan:
    """Where a crawl starts, and what it leaves out (with reasons)."""

    seeds: dict[str, str] = field(default_factory=dict)  # path -> route label
    skipped: dict[str, str] = field(default_factory=dict)  # route label -> reason
    unknown: list[Route] = field(default_factory=list)  # parameter routes without a rule
    broken: dict[str, str] = field(default_factory=dict)  # route label -> error of its rule


def _top_namespace(route: Route) -> str:
    return route.namespace.split(":", 1)[0]


def plan_crawl(world: World | None) -> CrawlPlan:
    """Seeds from the URL config: routes without parameters, plus parameter routes filled in by
    KWARGS_RULES from the World (when there is one)."""
    plan = CrawlPlan()
    for route in discover_routes():
        if _top_namespace(route) in EXCLUDED_NAMESPACES:
            continue
        if route.name in NOT_CRAWLED:
            plan.skipped[route.label] = NOT_CRAWLED[route.name]
            continue
        if not route.params:
            if route.name:
                path = reverse(route.name)
            elif "^" in route.pattern or "(" in route.pattern:
                plan.skipped[route.label] = "unnamed regular-expression route"
                continue
            else:
                path = route.pattern
            plan.seeds.setdefault(path, route.label)
            continue
        rule = KWARGS_RULES.get(route.name or "")
        if rule is None:
            plan.unknown.append(route)
        elif isinstance(rule, Skip):
            plan.skipped[route.label] = rule.reason
        elif world is not None:
            try:
                kwargs = rule(world)
            except Exception as error:  # reported as a failure of the crawl, with the route
                plan.broken[route.label] = f"{type(error).__name__}: {error}"
                continue
            if isinstance(kwargs, Skip):
                plan.skipped[route.label] = kwargs.reason
            else:
                assert route.name
                plan.seeds.setdefault(reverse(route.name, kwargs=kwargs), route.label)
    if world is not None:
        for label, make_path in EXTRA_SEEDS.items():
            try:
                plan.seeds.setdefault(make_path(world), label)
            except Exception as error:
                plan.broken[label] = f"{type(error).__name__}: {error}"
    return plan


def normalise(url: str) -> str:
    """The path and query of a URL, without fragment and without the login `next` parameter."""
    parts = urlsplit(url)
    query = sorted((k, v) for k, v in parse_qsl(parts.query) if k != "next")
    return parts.path + (f"?{urlencode(query)}" if query else "")


def is_crawlable_link(path: str) -> bool:
    """Links found on pages are followed unless they lead out of the pages we check."""
    if path.startswith(EXCLUDED_PATH_PREFIXES):
        return False
    try:
        logout = reverse("account_logout")
    except Exception:
        logout = "/accounts/logout/"
    return not path.startswith(logout)


def route_label(path: str) -> str:
    """The URL name a path resolves to (for reports)."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return "(no route)"
    return match.view_name
