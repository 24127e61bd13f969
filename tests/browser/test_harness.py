"""The browser-test machinery itself: the live server, and checks that can really fail."""

from __future__ import annotations

import socket
import threading
import urllib.request

import pytest
from django.urls import reverse

from sprechstunde.core.models import OutboxMessage

from .support import chromium
from .support.checks import axe_violations, keyboard_walk, monitor_of, small_touch_targets
from .support.live_server import LiveServer

pytestmark = pytest.mark.browser


def _probe(page, live_app, html: str, *, csp: str | None = None, path: str = "/__probe__/"):
    """Serves `html` at a URL of the app's own origin (with the app's real CSP) and opens it."""
    if csp is None:
        csp = page.request.get(live_app.url_for(reverse("account_login"))).headers[
            "content-security-policy"
        ]
    page.route(
        f"**{path}",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            body=html,
            headers={"Content-Security-Policy": csp},
        ),
    )
    page.goto(path)


def _doc(body: str, head: str = "") -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Probe</title>'
        f'<link rel="stylesheet" href="/static/css/app.css">{head}</head>'
        f"<body><main><h1>Probe</h1>{body}</main></body></html>"
    )


def test_live_app_serves_the_real_asgi_stack_with_static_files(live_app, desktop_page, screenshots):
    response = desktop_page.goto(reverse("account_login"))
    screenshots(desktop_page, "login")
    css = desktop_page.request.get(live_app.url_for("/static/css/app.css"))

    assert response is not None and response.status == 200
    assert response.headers["server"] == "uvicorn"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert css.status == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "--c-focus" in css.text()
    assert live_app.url.startswith("http://127.0.0.1:")
    assert (screenshots.directory / "01-login.png").stat().st_size > 1000


def test_live_app_reads_the_test_database_and_direct_sessions_log_in(
    live_app, new_context, case_manager
):
    OutboxMessage.objects.create(
        subject="Probe-Betreff 4711", from_email="a@example.org", to="b@example.org", body="x"
    )
    page = new_context("desktop", user=case_manager).new_page()

    response = page.goto(reverse("core:outbox"))

    assert response is not None and response.status == 200
    assert page.url == live_app.url_for(reverse("core:outbox"))
    assert "Probe-Betreff 4711" in page.content()


def test_axe_runs_under_the_real_csp_and_reports_violations(live_app, desktop_page):
    _probe(
        desktop_page,
        live_app,
        _doc('<img src="/static/img/favicon.svg"><input type="text" name="unlabelled">'),
    )

    ids = {violation["id"] for violation in axe_violations(desktop_page)}

    assert {"image-alt", "label"} <= ids
    # Injecting axe through the DevTools protocol is not blocked and breaks no CSP rule.
    monitor = monitor_of(desktop_page)
    monitor.collect_csp_events(desktop_page)
    assert monitor.csp_errors == []


def test_a_request_to_a_third_party_is_recorded_and_blocked(live_app, desktop_page):
    failed = []
    desktop_page.on("requestfailed", lambda request: failed.append(request.url))
    _probe(
        desktop_page,
        live_app,
        _doc('<img alt="" src="https://cdn.example.com/pixel.png">'),
        csp="default-src *",
    )

    monitor = monitor_of(desktop_page)
    assert any("cdn.example.com" in item for item in monitor.foreign_requests)
    assert any("third party" in problem for problem in monitor.problems())
    assert failed == ["https://cdn.example.com/pixel.png"]  # blocked: it never left the machine
    monitor.reset()  # this test made the forbidden request on purpose


def test_inline_script_and_style_attribute_are_reported_as_csp_violations(live_app, desktop_page):
    _probe(
        desktop_page,
        live_app,
        _doc('<p style="color: red">x</p><script>document.title = "ran";</script>'),
    )
    monitor = monitor_of(desktop_page)
    monitor.collect_csp_events(desktop_page)

    assert desktop_page.title() == "Probe"  # the inline script did not run
    directives = " ".join(monitor.csp_errors)
    assert "script-src" in directives
    assert "style-src" in directives
    monitor.reset()


def test_touch_target_check_flags_small_controls_but_not_links_in_sentences(live_app, phone_page):
    _probe(
        phone_page,
        live_app,
        _doc(
            '<p>Read the <a href="/x/">privacy notice</a> first.</p>'
            '<p><a class="tiny" href="/y/">Tiny</a></p>'
            '<label class="check"><input type="checkbox" name="ok"> Big label</label>'
            '<input type="checkbox" id="bare" name="bare" aria-label="bare">'
            '<button type="submit" class="button">Big enough</button>',
        ),
    )

    problems = small_touch_targets(phone_page)

    assert any('a "Tiny"' in p for p in problems), problems
    assert any("input#bare" in p for p in problems), problems
    assert not any("privacy notice" in p for p in problems), problems
    assert not any("Big" in p for p in problems), problems


def test_keyboard_walk_reaches_the_main_action_and_needs_a_focus_ring(live_app, desktop_page):
    _probe(
        desktop_page,
        live_app,
        _doc('<a href="/a/">One</a> <button type="submit">Send</button>'),
        path="/__probe_ok__/",
    )
    walk = keyboard_walk(desktop_page)
    assert walk.problems == []
    assert walk.steps[-1] == 'button "Send"'

    _probe(
        desktop_page,
        live_app,
        _doc(
            '<a href="/a/">One</a> <button type="submit">Send</button>',
            head='<link rel="stylesheet" href="/static/css/__missing__.css">',
        ).replace("<main>", '<main class="no-ring">'),
        csp="default-src 'self'; style-src 'self' 'unsafe-inline'",
        path="/__probe_ring__/",
    )
    desktop_page.add_style_tag(content=".no-ring :focus-visible { outline: none; }")
    walk = keyboard_walk(desktop_page)
    assert any("no visible focus ring" in p for p in walk.problems), walk
    monitor_of(desktop_page).reset()  # the missing stylesheet was on purpose


def test_keyboard_walk_passes_through_the_parts_of_date_and_time_fields(live_app, desktop_page):
    _probe(
        desktop_page,
        live_app,
        _doc(
            '<label for="d">Day</label><input type="date" id="d" name="d">'
            '<label for="t">Time</label><input type="time" id="t" name="t">'
            '<button type="submit">Send</button>'
        ),
    )

    walk = keyboard_walk(desktop_page)

    assert walk.problems == []
    assert walk.steps[-1] == 'button "Send"'


def test_keyboard_walk_fails_when_focus_is_trapped(live_app, desktop_page):
    _probe(
        desktop_page, live_app, _doc('<a href="/a/">One</a> <button type="submit">Send</button>')
    )
    # A script that swallows Tab after the first element (evaluate is not subject to the CSP).
    desktop_page.evaluate(
        """() => document.addEventListener('keydown', (event) => {
            if (event.key === 'Tab' && document.activeElement.tagName === 'A') {
                event.preventDefault();
            }
        })"""
    )

    walk = keyboard_walk(desktop_page)

    assert walk.steps == ['a "One"']
    assert walk.problems == ['Tab did not move focus after a "One"']


def test_missing_chromium_fails_under_ci_and_skips_locally(monkeypatch, tmp_path):
    monkeypatch.setattr(chromium, "CHROMIUM_PATH", tmp_path / "no-chromium")

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        chromium.require_chromium()

    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        chromium.require_chromium()


def test_live_server_stops_cleanly_and_frees_its_port():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    server = LiveServer(app)
    live = server.start()
    with urllib.request.urlopen(live.url + "/", timeout=5) as response:  # noqa: S310
        assert response.read() == b"ok"

    server.stop()

    assert not server.is_running
    assert not any(t.name == f"live-app-{live.port}" for t in threading.enumerate())
    with pytest.raises(OSError), socket.create_connection((live.host, live.port), timeout=1):
        pass


def test_missing_assets_and_script_errors_are_reported(live_app, desktop_page):
    _probe(
        desktop_page,
        live_app,
        _doc("<p>x</p>", head='<link rel="stylesheet" href="/static/css/__missing__.css">'),
    )
    desktop_page.evaluate("() => setTimeout(() => { throw new Error('boom in page'); }, 0)")
    desktop_page.wait_for_timeout(100)

    problems = monitor_of(desktop_page).problems()

    # Chromium reports a stylesheet answered with a 404 page as a refused (wrong MIME) style.
    assert any("__missing__.css" in p for p in problems), problems
    assert any("JavaScript error" in p and "boom in page" in p for p in problems), problems
    monitor_of(desktop_page).reset()


@pytest.mark.parametrize("run", [1, 2])
def test_each_live_test_starts_with_the_rows_of_data_migrations(run, live_app, desktop_page):
    """transactional_db empties all tables after a test; serialized rollback puts the rows of
    data migrations (here: the consent texts) back for the next one, also while Playwright's
    loop makes Django hand out other connection objects."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from sprechstunde.clients.models import ConsentText

    desktop_page.goto(reverse("account_login"))
    OutboxMessage.objects.create(subject=f"run {run}", from_email="a@b.c", to="d@e.f", body="")

    assert ConsentText.objects.filter(published_at__isnull=False).exists()
    assert ContentType.objects.filter(app_label="clients", model="client").exists()
    assert Permission.objects.filter(codename="view_client").exists()
    assert list(OutboxMessage.objects.values_list("subject", flat=True)) == [f"run {run}"]
