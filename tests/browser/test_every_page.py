"""Every page, for every role, at 360 px and at 1280 px: axe-core, no third-party requests, no
CSP errors, touch targets on client-facing pages, and the keyboard path to the main action.

Pages come from the URL configuration (support/crawler.py) plus the links found on the pages.
Problems are collected for all pages first, then reported together, one line each.
"""

from __future__ import annotations

import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from .support.auth import context_log_in
from .support.checks import monitor_of, page_problems
from .support.crawler import is_crawlable_link, normalise, plan_crawl, route_label
from .support.reports import write_report
from .support.sample_data import ROLES, build_world

pytestmark = pytest.mark.browser

# A safety stop for link loops; reaching it fails the test (raise it if the app grew).
MAX_PAGES_PER_ROLE = 250
# Links that differ only in their query (calendar days, pages of a list, filters) show the same
# template: one such variant per path is checked besides the path itself.
MAX_QUERY_VARIANTS = 1
# Touch targets are checked where clients are: their own pages and the pages anyone can open.
CLIENT_FACING_ROLES = frozenset({"anonymous", "client"})
VIEWPORTS = ("phone", "desktop")
# django-allauth's pages (login, 2FA, passwords, e-mail, sessions) look the same to every staff
# role, apart from the navigation, which every other page of the role checks. They are checked
# in the browser for anonymous, case manager and client; for the other staff roles their
# answer is only fetched (no server error), which keeps the run short.
SAME_FOR_ALL_STAFF = ("account_", "mfa_", "usersessions_", "socialaccount_")
STAFF_ROLES_SHARING_PAGES = frozenset({"team_lead", "admin", "dpo"})
# Pages for people who are not logged in (password reset, closed sign-up, SSO errors): checked
# in the browser as anonymous; for logged-in roles only fetched.
FOR_ANONYMOUS = frozenset(
    {
        "account_signup",
        "account_inactive",
        "account_email_verification_sent",
        "account_reset_password",
        "account_reset_password_done",
        "account_reset_password_from_key",
        "account_reset_password_from_key_done",
        "socialaccount_login_cancelled",
        "socialaccount_login_error",
    }
)

ASK_TIMEOUT_MS = 45_000
ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

_LINKS_JS = """
() => [...document.querySelectorAll('a[href]')]
  .filter((a) => !a.hasAttribute('download'))
  .map((a) => a.href)
  .filter((href) => href.startsWith(location.origin + '/'))
"""


@dataclass
class CrawlResult:
    checked: dict[str, list[str]] = field(default_factory=dict)  # "viewport path" -> problems
    statuses: dict[str, str] = field(default_factory=dict)  # path -> what it answered
    not_html: dict[str, str] = field(default_factory=dict)
    post_only: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # path -> time spent on it
    shared: list[str] = field(default_factory=list)  # pages checked as another staff role


@dataclass
class Answer:
    """What the app answers to a plain GET of a path (with the browser context's cookies)."""

    status: int
    final: str  # path and query after redirects
    content_type: str
    title: str
    empty: bool


_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.S | re.I)


def _ask(page: Any, path: str) -> Answer:
    """A GET through the context's request API: far cheaper than a navigation, so the browser
    only opens paths that lead to a page not checked yet (not the 40th redirect to login)."""
    # Generous: some answers are PDFs rendered on request (WeasyPrint), slow on a loaded machine.
    response = page.request.get(path, headers={"Accept": ACCEPT_HTML}, timeout=ASK_TIMEOUT_MS)
    content_type = response.headers.get("content-type", "")
    body = response.text() if "text/html" in content_type else ""
    match = _TITLE_RE.search(body)
    return Answer(
        status=response.status,
        final=normalise(response.url),
        content_type=content_type,
        title=" ".join(match.group(1).split()) if match else "",
        empty=not response.body(),
    )


def _open(page: Any, path: str) -> str | None:
    """Opens a path in the browser; returns None, or why no page could be shown."""
    for attempt in range(2):
        try:
            response = page.goto(path, wait_until="load")
        except PlaywrightError as error:
            message = str(error).splitlines()[0]
            if "interrupted by another navigation" in message and attempt == 0:
                page.wait_for_load_state("load")
                continue
            return f"navigation failed: {message}"
        return None if response is not None else "navigation failed: no response"
    return "navigation failed"


def crawl(*, role: str, pages: dict[str, Any], seeds: dict[str, str], shots: Any) -> CrawlResult:
    result = CrawlResult()
    queue = deque(seeds)
    queued = set(seeds)
    variants: Counter[str] = Counter()
    checked_keys: set[str] = set()
    touch_targets = role in CLIENT_FACING_ROLES
    shares_pages = role in STAFF_ROLES_SHARING_PAGES
    while queue and len(result.statuses) < MAX_PAGES_PER_ROLE:
        path = queue.popleft()
        started = time.perf_counter()
        answer = _ask(pages[VIEWPORTS[0]], path)
        final, status = answer.final, answer.status
        result.statuses[path] = f"{status} -> {final}" if final != path else str(status)
        label = f"{path} ({route_label(path)}, {status})"
        if status == 405:
            result.post_only.append(path)
            continue
        if status >= 400 and answer.empty:
            result.checked[label] = [
                f"answers {status} with an empty body: the browser shows its own error page "
                "(render a template, e.g. raise Http404 / PermissionDenied)"
            ]
            continue
        if "text/html" not in answer.content_type:
            result.not_html[path] = answer.content_type or "?"
            continue
        view = route_label(final)
        if (shares_pages and view.startswith(SAME_FOR_ALL_STAFF)) or (
            role != "anonymous" and view in FOR_ANONYMOUS
        ):
            if status >= 500:
                result.checked[label] = [f"server error {status}"]
            result.shared.append(final)
            continue
        # Each page is checked once: the 40th redirect to the login page, or the 10th 404
        # answer for another role's object, shows nothing new.
        key = final if status < 400 else f"{status} {answer.title}"
        if key in checked_keys:
            continue
        checked_keys.add(key)
        for viewport in VIEWPORTS:
            page = pages[viewport]
            monitor_of(page).reset()
            failure = _open(page, path)
            problems = [f"server error {status}"] if status >= 500 else []
            if failure:
                result.checked[f"{viewport:7} {label}"] = [*problems, failure]
                continue
            shots(page, f"{viewport}-{final}")
            problems += page_problems(page, touch_targets=touch_targets)
            result.checked[f"{viewport:7} {final} ({route_label(final)}, {status})"] = problems
            if viewport == VIEWPORTS[0] and status < 400:
                for link in page.evaluate(_LINKS_JS):
                    linked = normalise(link)
                    if linked in queued or not is_crawlable_link(linked):
                        continue
                    base = linked.split("?", 1)[0]
                    if base != linked:
                        if variants[base] >= MAX_QUERY_VARIANTS:
                            continue
                        variants[base] += 1
                    queued.add(linked)
                    queue.append(linked)
        result.seconds[path] = time.perf_counter() - started
    if queue:
        result.checked["(crawl limit)"] = [
            f"stopped after {MAX_PAGES_PER_ROLE} paths; not visited: {', '.join(list(queue)[:10])}"
        ]
    return result


@pytest.mark.parametrize("role", ROLES)
def test_every_page_passes_the_checks_for_role(role, live_app, new_context, screenshots):
    world = build_world()
    user = world.user_for(role)
    pages = {}
    for viewport in VIEWPORTS:
        context = new_context(viewport)
        if user is not None:
            context_log_in(context, live_app, user)
        pages[viewport] = context.new_page()
    plan = plan_crawl(world)

    result = crawl(role=role, pages=pages, seeds=plan.seeds, shots=screenshots)

    report = write_report(role=role, plan=plan, result=result)
    failures = {page: problems for page, problems in result.checked.items() if problems}
    if plan.broken:
        failures["(sample objects for routes)"] = [
            f"{label}: {error}" for label, error in plan.broken.items()
        ]
    assert result.checked, "no page was checked"
    assert not failures, (
        f"{sum(map(len, failures.values()))} problems on {len(failures)} of "
        f"{len(result.checked)} pages for role {role} (full report: {report}):\n"
        + "\n".join(
            f"{page}\n" + "\n".join(f"    - {problem}" for problem in problems)
            for page, problems in failures.items()
        )
    )
