"""Fixtures for the browser tests: the real ASGI app on a free port, one Chromium per run,
desktop and phone pages whose network and console are watched, screenshots and logins.

Scope: the browser and the server live for the tests/browser package ("package" scope), not
the whole session. Playwright's sync API keeps an asyncio loop running in the main thread
while it is started. Django then refuses ORM calls from this thread (hence
DJANGO_ALLOW_ASYNC_UNSAFE), and its connection handler hands out other connection objects
than before (see `browser`). Ending Playwright with the package keeps all that away from the
other tests.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .support.auth import context_log_in
from .support.checks import PageMonitor
from .support.chromium import CHROMIUM_PATH, blocking_proxy, launch_args, require_chromium
from .support.live_server import LiveApp, LiveServer
from .support.screenshots import Screenshots

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "screen": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36"
    ),
}
CONTEXT_DEFAULTS = {"locale": "de-DE", "timezone_id": "Europe/Berlin"}
DEFAULT_TIMEOUT_MS = 10_000


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise hands Django a file iterator that is synchronous; under ASGI Django warns about
    # it once per static file. Known and harmless here (static files are small).
    config.addinivalue_line(
        "filterwarnings",
        "ignore:StreamingHttpResponse must consume synchronous iterators:Warning",
    )
    from django.conf import settings

    # Serialized rollback (see live_app) restores the rows of data migrations. Content types
    # and permissions are left out: post_migrate recreates them after every flush of another
    # transactional test, with new ids, and restoring the old rows would then collide (they
    # are recreated by restore_post_migrate_rows instead). The audit trail is append-only
    # (on PostgreSQL a trigger refuses UPDATE), so its rows are never restored by saving.
    settings.TEST_NON_SERIALIZED_APPS = [
        *getattr(settings, "TEST_NON_SERIALIZED_APPS", []),
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "sprechstunde.audit",
    ]


def restore_post_migrate_rows() -> None:
    """Content types and permissions, as `migrate` leaves them.

    The flush after a test with serialized rollback skips post_migrate, so they are missing.
    """
    from django.contrib.contenttypes.models import ContentType
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import DEFAULT_DB_ALIAS

    if not ContentType.objects.exists():
        emit_post_migrate_signal(verbosity=0, interactive=False, db=DEFAULT_DB_ALIAS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives the browser carries the `browser` marker (for -m selection)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
            "browser"
        ):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"_report_{report.when}", report)
    return report


@pytest.fixture(scope="package", autouse=True)
def _allow_async_unsafe() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread; allow the ORM all the same."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def browser(django_db_setup: None) -> Iterator[Any]:
    """One headless Chromium for all browser tests. Missing Chromium fails under CI=true."""
    require_chromium()
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # While Playwright runs, this thread has a running event loop, and Django's connection
    # handler (an asgiref Local) then hands out *other* connection objects than before. Carry
    # over what the test database setup left on the old ones: the serialized contents that
    # serialized rollback restores (see live_app).
    serialized = {
        connection.alias: connection._test_serialized_contents
        for connection in connections.all()
        if hasattr(connection, "_test_serialized_contents")
    }
    proxy, proxy_socket = blocking_proxy()
    playwright = sync_playwright().start()
    for alias, contents in serialized.items():
        connections[alias]._test_serialized_contents = contents
    try:
        # launch() gives every browser a fresh temporary profile (user-data-dir) and removes it
        # on close; Playwright refuses --user-data-dir in args.
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH),
            args=launch_args(),
            headless=True,
            proxy=proxy,
        )
    except Exception:
        connections.close_all()
        playwright.stop()
        proxy_socket.close()
        raise
    yield chromium
    chromium.close()
    # Close the connections opened meanwhile, or the test database could not be dropped at
    # the end (PostgreSQL refuses while a session is connected).
    connections.close_all()
    playwright.stop()
    proxy_socket.close()


@pytest.fixture(scope="package")
def _live_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveServer]:
    from django.test import override_settings

    # WhiteNoise otherwise reads each static file's size once, at start: a stylesheet edited
    # while the browser tests run would then be served cut off (Content-Length mismatch).
    with override_settings(WHITENOISE_AUTOREFRESH=True):
        from config.asgi import application

        server = LiveServer(application)
        server.start()
        yield server
        server.stop()
    # Leave the database to the tests after this package as `migrate` left it.
    with django_db_blocker.unblock():
        restore_post_migrate_rows()


@pytest.fixture
def live_app(
    _live_server: LiveServer,
    transactional_db: None,
    django_db_serialized_rollback: None,
    request: pytest.FixtureRequest,
) -> Iterator[LiveApp]:
    """The real ASGI app (config.asgi.application) under uvicorn, on the test database.

    The server thread sees only committed data, hence transactional_db. Its flush after each
    test would also remove the rows that data migrations put in (consent texts, ...);
    serialized rollback restores them before each test, so every test starts as after
    `migrate`.
    """
    assert _live_server.is_running, "the live server thread has died"
    restore_post_migrate_rows()
    yield _live_server.live_app
    # Requests and consumers still running on the server must finish before the flush.
    if not _live_server.wait_idle():
        warnings.warn(
            f"{request.node.nodeid}: the live server was still busy 10 s after the test: "
            f"{_live_server.busy()}",
            stacklevel=1,
        )


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    """`screenshots(page, "step-name")` saves test-artifacts/screenshots/<test>/NN-step-name.png."""
    return Screenshots(request.node.name)


NewContext = Callable[..., Any]


@pytest.fixture
def new_context(
    browser: Any, live_app: LiveApp, request: pytest.FixtureRequest
) -> Iterator[NewContext]:
    """Makes browser contexts ("desktop" or "phone") whose requests, console and CSP reports
    are watched. At the end, a third-party request or a CSP violation fails the test."""
    made: list[tuple[Any, PageMonitor]] = []

    def make(kind: str = "desktop", *, user: Any = None, **options: Any) -> Any:
        if kind not in {"desktop", "phone"}:
            raise ValueError(f"kind must be 'desktop' or 'phone', not {kind!r}")
        settings = {**CONTEXT_DEFAULTS, **(PHONE if kind == "phone" else DESKTOP), **options}
        context = browser.new_context(base_url=live_app.url, **settings)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        monitor = PageMonitor(live_app)
        monitor.attach(context)
        made.append((context, monitor))
        if user is not None:
            context_log_in(context, live_app, user)
        return context

    yield make
    problems: list[str] = []
    for context, monitor in made:
        problems += monitor.problems()
        context.close()
    call_report = getattr(request.node, "_report_call", None)
    if problems and call_report is not None and call_report.passed:
        listing = "\n".join(f"- {problem}" for problem in dict.fromkeys(problems))
        pytest.fail(f"the browser saw problems during the test:\n{listing}", pytrace=False)


@pytest.fixture
def desktop_page(new_context: NewContext) -> Any:
    """A 1280 x 800 desktop page on the live app (base_url set: page.goto('/path/'))."""
    return new_context("desktop").new_page()


@pytest.fixture
def phone_page(new_context: NewContext) -> Any:
    """A 360 x 740 Android phone page (touch, mobile, device scale factor 2)."""
    return new_context("phone").new_page()
