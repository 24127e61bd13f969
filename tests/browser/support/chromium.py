"""Where Chromium is and how it is started for the browser tests.

The flags follow docs in shared/reference/webrtc.md (section 6.1): fake camera and microphone,
no background traffic of the browser's own, nothing that talks to Google's services.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

CHROMIUM_PATH = Path(os.environ.get("SPRECHSTUNDE_CHROMIUM", "/usr/bin/chromium"))

LAUNCH_ARGS = [
    # Video calls: a fake camera and microphone that need no permission prompt.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    # No traffic of the browser's own: only the page under test may make requests.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--disable-gpu",
    "--mute-audio",
    # Headless Chromium 156 loads the desktop toolbar's web UI (chrome://omnibox-popup.
    # top-chrome: about 400 requests and 0.6-0.7 s of CPU in a renderer of its own) for every
    # new tab, beside the page under test; on two CPUs that slowed every page and skewed the
    # video benchmark (docs/benchmarks.md, round 3). Phones have no such toolbar. Chromium
    # keeps only the last --disable-features, so this repeats what Playwright 1.64 disables on
    # Linux (its chromiumSwitches) and adds the toolbar's web UI.
    "--disable-features="
    + ",".join(
        [
            "AvoidUnnecessaryBeforeUnloadCheckSync",
            "DestroyProfileOnBrowserClose",
            "HttpsUpgrades",
            "HttpsFirstBalancedModeAutoEnable",
            "LensOverlay",
            "MediaRouter",
            "PaintHolding",
            "ThirdPartyStoragePartitioning",
            "AvoidCorsURLLoaderRestartOnRedirect",
            "OptimizationHints",
            "NetworkTimeServiceQuerying",
            "AimEnabled",
            "PreconnectToSearch",
            "WebUIOmniboxPopup",
            "WebUIOmniboxFullPopup",
            "WebUIOmniboxAimPopup",
            "PreloadTopChromeWebUI",
        ]
    ),
]


def blocking_proxy() -> tuple[dict[str, str], socket.socket]:
    """A proxy address where nothing answers: every request sent there fails at once.

    The app's own host bypasses the proxy, so this blocks all third-party hosts at the network
    level, without intercepting each request in Playwright (which would slow every page down).
    The port is bound but never listened on, and stays bound (keep the socket) so that no other
    program can take it meanwhile.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    # Playwright removes Chromium's implicit loopback bypass, so name the app's host here.
    proxy = {"server": f"http://127.0.0.1:{sock.getsockname()[1]}", "bypass": "127.0.0.1"}
    return proxy, sock


def launch_args() -> list[str]:
    """The command-line flags; the sandbox needs an unprivileged user, so root goes without."""
    args = list(LAUNCH_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    return args


def is_ci() -> bool:
    """CI sets CI=true; there a browser test must never be skipped."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def chromium_problem() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM_PATH.exists() or not os.access(CHROMIUM_PATH, os.X_OK):
        hint = shutil.which("chromium")
        found = f" (there is one at {hint}; set SPRECHSTUNDE_CHROMIUM)" if hint else ""
        return (
            f"Chromium is not installed at {CHROMIUM_PATH}{found}. "
            "Install it with `apt-get install chromium` or `make system-deps`."
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: run `make install`."
    return None


def require_chromium() -> None:
    """Skips (locally) or fails (CI=true: nothing may be skipped there) without Chromium."""
    import pytest

    problem = chromium_problem()
    if problem:
        if is_ci():
            pytest.fail(f"CI=true and the browser tests cannot run: {problem}", pytrace=False)
        pytest.skip(problem)
