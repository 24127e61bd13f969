"""Real Chromium pages in a video call on the two-node cluster (tests/scale/test_two_nodes.py):
the browser (fake camera and microphone, tests/browser/support/chromium.py), the pages' steps
through the call screen, and what a page shows of its peer, read through the page's test
hook (window.sprechstundeCall) and the DOM. Waits are generous; nothing measures time."""

from __future__ import annotations

import contextlib
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.browser.support.chromium import CHROMIUM_PATH, blocking_proxy, launch_args
from tests.deploy.nginx_site import free_tcp_port, nginx_binary, nginx_config
from tests.scale.harness import HOST

WAIT_MS = 60_000  # a shared two-core machine: two nodes, nginx, two pages decoding video

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium for the test, started and ended with it: Playwright's sync API
    keeps an event loop in this thread while it runs, which the module's asyncio tests must
    not meet."""
    from playwright.sync_api import sync_playwright

    proxy, proxy_socket = blocking_proxy()  # nothing but the cluster on 127.0.0.1
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM_PATH),
                args=launch_args(),
                headless=True,
                proxy=proxy,
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        proxy_socket.close()


def page_for(browser: Any, origin: str, cookie: tuple[str, str], shape: dict[str, Any]) -> Any:
    """A page of its own browser context (a phone or a desk), logged in by `cookie` for
    `origin` (the cluster's self-signed certificate is accepted)."""
    context = browser.new_context(
        **shape, locale="de-DE", timezone_id="Europe/Berlin", ignore_https_errors=True
    )
    name, value = cookie
    context.add_cookies(
        [
            {
                "name": name,
                "value": value,
                "url": origin,
                "secure": True,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    context.set_default_timeout(WAIT_MS)
    return context.new_page()


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
    return context


@contextlib.contextmanager
def front_for(folder: Path, node_port: int) -> Iterator[int]:
    """The shipped nginx site with this one node as its whole upstream: a page loaded from
    here is served by that node only (its websocket included). Yields the HTTPS port."""
    nginx = nginx_binary()
    assert nginx is not None
    folder.mkdir(parents=True, exist_ok=True)
    https_port = free_tcp_port()
    config = nginx_config(
        folder, http_port=free_tcp_port(), https_port=https_port, nodes=[node_port]
    )
    process = subprocess.Popen(
        [nginx, "-c", str(config), "-p", str(folder), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                request = urllib.request.Request(
                    f"https://127.0.0.1:{https_port}/gesundheit/", headers={"Host": HOST}
                )
                with urllib.request.urlopen(request, timeout=2, context=_tls()) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, "the node's own nginx does not pass requests on"
            time.sleep(0.2)
        yield https_port
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- which node holds a socket ------------------------------------------------------------------

_VIDEO_SOCKETS = re.compile(r'^sprechstunde_websockets_open\{kind="video"\} (\S+)$', re.M)


def video_sockets(port: int) -> int | None:
    """The call sockets open on the node at `port` now (its /metrics, asked directly), or
    None when the node does not answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics",
        headers={"Host": HOST, "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            text = answer.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    found = _VIDEO_SOCKETS.search(text)
    assert found, text[:2000]
    return int(float(found.group(1)))


def until(what: Callable[[], Any], done: Callable[[Any], bool], *, timeout: float = 60) -> Any:
    """Ask `what()` until `done(result)`; the last result (an AssertionError with it after
    `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        result = what()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting; last result: {result!r}")
        time.sleep(0.3)


# --- the call screen ---------------------------------------------------------------------------


def join(page: Any) -> None:
    """The pre-join check (camera and microphone start off): both on, then join."""
    page.locator("#prejoin").wait_for()
    for button in ("prejoin-camera", "prejoin-mic"):
        page.locator(f"#{button}").click()
        page.wait_for_function(
            "id => document.getElementById(id).ariaPressed === 'true'", arg=button
        )
    page.locator("#join-button").click()


def wait_phase(page: Any, phase: str) -> None:
    page.wait_for_function(
        "phase => document.getElementById('call').dataset.phase === phase", arg=phase
    )


def me(page: Any) -> int:
    return int(page.evaluate("() => window.sprechstundeCall.me()"))


# The peer's video on this page: its size, and how many new frames were presented within a
# few seconds (requestVideoFrameCallback) and how far its playback time moved meanwhile.
VIDEO_PLAYING = """async peer => {
    const video = document.querySelector(`figure[data-peer='${peer}'] video`);
    if (!video) return {found: false};
    const start = video.currentTime;
    let frames = 0;
    await new Promise(done => {
        const stop = setTimeout(done, 4000);
        const count = () => {
            frames += 1;
            if (frames >= 5) { clearTimeout(stop); done(); }
            else video.requestVideoFrameCallback(count);
        };
        video.requestVideoFrameCallback(count);
    });
    return {found: true, width: video.videoWidth, height: video.videoHeight, frames: frames,
            advanced: video.currentTime - start};
}"""


def remote_video_plays(page: Any, peer: int, *, timeout: float = 60) -> dict[str, Any]:
    """Wait until the peer's video has a size and new frames keep coming on this page."""
    return until(
        lambda: page.evaluate(VIDEO_PLAYING, peer),
        lambda v: v.get("found") and v["width"] > 0 and v["frames"] >= 5 and v["advanced"] > 0,
        timeout=timeout,
    )


CONNECTION = """peer => {
    const pc = window.sprechstundeCall.peerConnection(peer);
    if (!pc) return null;
    const ufrag = d => d ? (d.sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1] || null : null;
    return {state: pc.connectionState, signalling: pc.signalingState,
            remoteUfrag: ufrag(pc.currentRemoteDescription),
            localUfrag: ufrag(pc.currentLocalDescription)};
}"""


def connection(page: Any, peer: int) -> dict[str, Any] | None:
    """The page's connection to the peer: its state and the ICE username fragments of the
    descriptions in force (they change with every ICE restart)."""
    result: dict[str, Any] | None = page.evaluate(CONNECTION, peer)
    return result


def codes(page: Any) -> dict[str, str]:
    """The verification code the page shows for each peer (once computed)."""
    return until(
        lambda: page.evaluate("() => window.sprechstundeCall.sas()"),
        lambda found: bool(found) and all(found.values()),
    )


def chat(page: Any, text: str) -> None:
    """Write a line in the call's chat (the "more" sheet)."""
    if page.locator("#more-sheet").is_hidden():
        page.locator("#ctl-more").click()
    page.locator("#more-sheet").wait_for()
    page.locator("#chat-text").fill(text)
    page.locator("#chat-form button").click()


def chat_arrives(page: Any, text: str) -> None:
    page.locator("#chat-log li", has_text=text).wait_for(state="attached")
