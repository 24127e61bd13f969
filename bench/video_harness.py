"""What the video benchmarks share: the app with TURN, the bare page, a phone behind an
emulated link, and the measurements taken in the browsers.

Topology (one per link profile):

    desk Chromium (host) ----------------------------> coturn 127.0.0.1:<turn port>
    phone Chromium (namespace) -> UDP relay 127.0.0.1:<turn port> inside the namespace
        (delay, jitter) -> veth (tbf rate cap, nftables UDP loss) -> coturn on the veth's host end
    phone's HTTP/websocket -> TCP forwarder 127.0.0.1:<port> inside (delay) -> veth -> app

Both pages use the same TURN URL and relay-only ICE, so all the phone's media crosses its
emulated link and nothing else does; the `direct` profile (unimpaired link) lets both pages
use ICE policy "all", so that the two browsers pair their host addresses across the veth
without coturn. See docs/benchmarks.md and ADR 0026.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.support.chromium import CHROMIUM_PATH, blocking_proxy, launch_args
from tests.netem import Coturn, Impairment, LinkProfile, Namespace, TcpForwarder, UdpRelay
from tests.netem.coturn import free_udp_port

from bench.server import PYTHON, REPO, _manage, bench_env, free_port, serve_and_wait

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "locale": "de-DE",
}
DESK = {"viewport": {"width": 1280, "height": 800}, "locale": "de-DE"}

# Marks the first frame of a remote video (requestVideoFrameCallback) and the join click,
# in performance.now() time, whose origin is the navigation start.
FIRST_FRAME_JS = r"""(() => {
  const selector = window.__remoteSelector;
  window.__firstFrameAt = null;
  window.__joinAt = null;
  const seen = new WeakSet();
  const watch = () => document.querySelectorAll(selector).forEach(video => {
    if (seen.has(video)) return;
    seen.add(video);
    video.requestVideoFrameCallback(() => {
      if (window.__firstFrameAt === null) window.__firstFrameAt = performance.now();
    });
  });
  new MutationObserver(watch).observe(document, {subtree: true, childList: true});
  document.addEventListener("click", e => {
    const tap = e.target.closest && e.target.closest("#join-button, #join-camera");
    if (tap) window.__joinAt = performance.now();
  }, true);
  // Milestones on the way, the same for every page: wrappers that only observe.
  const marks = window.__marks = {};
  const mark = key => { if (!(key in marks)) marks[key] = performance.now(); };
  // Signalling frames, by what they carry (both pages send JSON with a description
  // {"type": "offer"|"answer", "sdp"} or a "candidate"): offerIn, answerOut, candIn, ...
  const signalMark = (text, way) => {
    if (/"type":\s*"offer"/.test(text) && text.includes('"sdp"')) mark("offer" + way);
    else if (/"type":\s*"answer"/.test(text) && text.includes('"sdp"')) mark("answer" + way);
    else if (/"candidate":\s*\{/.test(text)) mark("cand" + way);
  };
  const NativeWS = window.WebSocket;
  const WS = function (url, protocols) {
    const ws = protocols === undefined ? new NativeWS(url) : new NativeWS(url, protocols);
    mark("ws");
    ws.addEventListener("open", () => mark("wsOpen"));
    ws.addEventListener("message", e => {
      mark("wsMessage");
      const text = typeof e.data === "string" ? e.data : "";
      // The call page's answer to its join (the bare page has none).
      if (/^\{"type":\s*"welcome"/.test(text)) mark("welcome");
      signalMark(text, "In");
    });
    const nativeSend = ws.send.bind(ws);
    ws.send = data => {
      signalMark(typeof data === "string" ? data : "", "Out");
      nativeSend(data);
    };
    return ws;
  };
  WS.prototype = NativeWS.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(k => { WS[k] = NativeWS[k]; });
  window.WebSocket = WS;
  const NativePC = window.RTCPeerConnection;
  const PC = function (config) {
    const pc = new NativePC(config);
    mark("pc");
    pc.addEventListener("iceconnectionstatechange", () => {
      if (pc.iceConnectionState === "connected") mark("ice");
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "connected") mark("dtls");
    });
    return pc;
  };
  PC.prototype = NativePC.prototype;
  PC.generateCertificate = NativePC.generateCertificate.bind(NativePC);
  window.RTCPeerConnection = PC;
  const devices = navigator.mediaDevices;
  if (devices) {
    const gum = devices.getUserMedia.bind(devices);
    devices.getUserMedia = c => {
      mark("ask");
      return gum(c).then(s => { mark("media"); return s; });
    };
  }
})();"""

# The answering desk's side (since 2026-12-07 16:50), in the desk page's performance.now()
# time: the first push that a newcomer is there (the call page's roster, the bare page's
# "start"), offer and candidate received, answer and candidate sent, over its websocket;
# window.__deskReset() starts a run.
DESK_MARKS_JS = r"""(() => {
  let marks = {};
  window.__deskReset = () => { marks = {}; };
  window.__deskMarks = () => marks;
  const mark = key => { if (!(key in marks)) marks[key] = performance.now(); };
  const NativeWS = window.WebSocket;
  const WS = function (url, protocols) {
    const ws = protocols === undefined ? new NativeWS(url) : new NativeWS(url, protocols);
    ws.addEventListener("message", e => {
      const text = typeof e.data === "string" ? e.data : "";
      if (/^\{"type":\s*"(roster|start)"/.test(text)) mark("rosterIn");
      if (/"type":\s*"offer"/.test(text) && text.includes('"sdp"')) mark("offerIn");
      else if (/"candidate":\s*\{/.test(text)) mark("candIn");
    });
    const nativeSend = ws.send.bind(ws);
    ws.send = data => {
      const text = typeof data === "string" ? data : "";
      if (/"type":\s*"answer"/.test(text) && text.includes('"sdp"')) mark("answerOut");
      else if (/"candidate":\s*\{/.test(text) && "answerOut" in marks) mark("candOut");
      nativeSend(data);
    };
    return ws;
  };
  WS.prototype = NativeWS.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(k => { WS[k] = NativeWS[k]; });
  window.WebSocket = WS;
})();"""

STATS_JS = """async pc => {
  const r = await pc.getStats();
  const o = {t: performance.now(), vBytes: 0, frames: 0, w: 0, h: 0, freezes: 0,
             aPackets: 0, aLost: 0, concealed: 0, samples: 0, rtt: null, local: null};
  r.forEach(s => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      o.vBytes += s.bytesReceived || 0; o.frames += s.framesDecoded || 0;
      o.w = s.frameWidth || o.w; o.h = s.frameHeight || o.h; o.freezes += s.freezeCount || 0;
    }
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      o.aPackets += s.packetsReceived || 0; o.aLost += s.packetsLost || 0;
      o.concealed += s.concealedSamples || 0; o.samples += s.totalSamplesReceived || 0;
    }
    if (s.type === "transport" && s.selectedCandidatePairId) {
      const pair = r.get(s.selectedCandidatePairId);
      if (pair) {
        o.rtt = pair.currentRoundTripTime;
        const local = r.get(pair.localCandidateId);
        o.local = local ? local.candidateType : null;
      }
    }
  });
  return o;
}"""

OURS_PC = "() => { const c = window.sprechstundeCall; const ids = c.peerIds();"
OURS_PC += " return ids.length ? c.peerConnection(ids[0]) : null; }"
BARE_PC = "() => window.bare ? window.bare.pc : null"


def turn_rest_credentials(secret: str, name: str, ttl: int = 3600) -> tuple[str, str]:
    username = f"{int(time.time()) + ttl}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


@dataclass
class VideoServer:
    base_url: str
    port: int
    fixtures: dict[str, Any]

    def cookie(self, which: str) -> dict[str, Any]:
        return {
            "name": self.fixtures["cookie_name"],
            "value": self.fixtures[f"{which}_session"],
            "url": self.base_url,
            "httpOnly": True,
            "sameSite": "Lax",
        }


@contextlib.contextmanager
def video_server(
    *, turn_port: int, turn_secret: str, relay_only: bool = True
) -> Iterator[VideoServer]:
    """The app as in production (bench settings, DEBUG off, uvicorn), TURN relay only unless
    `relay_only` is False (ICE may then pair host candidates directly)."""
    var_dir = Path(tempfile.mkdtemp(prefix="sprechstunde-video-bench-"))
    port = free_port()
    env = bench_env(var_dir, port, None)
    env.update(
        {
            # Fixed for this run so that the sessions made by video_prepare stay valid.
            "SECRET_KEY": "video-bench-" + os.urandom(16).hex(),
            "TURN_URLS": f"turn:127.0.0.1:{turn_port}?transport=udp",
            "TURN_SHARED_SECRET": turn_secret,
            "TURN_RELAY_ONLY": "true" if relay_only else "false",
            # SQLite keeps a connection per thread for 60 s (0, the default, opens one per
            # request and per websocket database trip); on PostgreSQL the pool does this
            # (ADR 0038).
            "DATABASE_CONN_MAX_AGE": "60",
        }
    )
    proc: subprocess.Popen[bytes] | None = None
    try:
        _manage(env, "migrate", "--no-input", "-v0")
        _manage(env, "collectstatic", "--no-input", "-v0")
        prepared = subprocess.run(
            [PYTHON, "-m", "bench.video_prepare"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        fixtures = json.loads(prepared.stdout.strip().splitlines()[-1])
        log_path = var_dir / "server.log"
        proc, base_url = serve_and_wait(port=port, env=env, log_path=log_path)
        yield VideoServer(base_url=base_url, port=port, fixtures=fixtures)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"video bench setup failed: {error.stdout}\n{error.stderr}") from error
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(var_dir, ignore_errors=True)


@dataclass
class PhoneLink:
    """A namespace for the phone, shaped per `profile`, with routes to TURN and the apps."""

    profile: LinkProfile
    turn_port: int
    turn_secret: str
    app_ports: list[int]
    namespace: Namespace = field(init=False)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __enter__(self) -> PhoneLink:
        stack = self._stack
        self.namespace = stack.enter_context(Namespace())
        ns = self.namespace
        stack.enter_context(
            Coturn(
                listen_ips=["127.0.0.1", ns.gateway],
                port=self.turn_port,
                secret=self.turn_secret,
                relay_ip="127.0.0.1",
            )
        )
        p = self.profile
        one_way = Impairment(delay_ms=p.delay_ms, jitter_ms=p.jitter_ms)
        if p.rate_kbit:
            ns.shape(uplink_kbit=p.rate_kbit, downlink_kbit=p.rate_kbit)
        if p.loss_percent:
            ns.drop_udp(p.loss_percent)
        self.relay = stack.enter_context(
            UdpRelay(
                listen=("127.0.0.1", self.turn_port),
                target=(ns.gateway, self.turn_port),
                listen_namespace=ns.name,
                target_namespace=ns.name,
                up=one_way,
                down=one_way,
            )
        )
        for port in self.app_ports:
            host_side = stack.enter_context(
                TcpForwarder(listen=(ns.gateway, 0), target=("127.0.0.1", port))
            )
            stack.enter_context(
                TcpForwarder(
                    listen=("127.0.0.1", port),
                    target=host_side.address,
                    listen_namespace=ns.name,
                    target_namespace=ns.name,
                    up=Impairment(delay_ms=p.delay_ms),
                    down=Impairment(delay_ms=p.delay_ms),
                )
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def launch(playwright: Any, namespace: Namespace | None = None) -> tuple[Any, Any]:
    proxy, proxy_socket = blocking_proxy()
    executable = str(CHROMIUM_PATH)
    if namespace is not None:
        executable = str(namespace.wrapper(executable))
    browser = playwright.chromium.launch(
        executable_path=executable,
        args=launch_args(),  # without the toolbar web UI per tab, see tests/browser/support
        headless=True,
        proxy=proxy,
    )
    return browser, proxy_socket


def phone_context(
    browser: Any,
    selector: str,
    cookie: dict[str, Any] | None = None,
    *,
    auto_join: bool = False,
    tap: str = "check",
) -> Any:
    context = browser.new_context(**PHONE)
    context.add_init_script(script=f"window.__remoteSelector = {json.dumps(selector)};")
    context.add_init_script(script=FIRST_FRAME_JS)
    if auto_join:
        context.add_init_script(script=auto_join_js(tap))
    if cookie:
        context.add_cookies([cookie])
    return context


def wait_js(page: Any, expression: str, timeout: float = 90.0) -> Any:
    """Polls a JS expression until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"{expression} stayed false for {timeout} s")


def click_pressed(page: Any, button: str) -> None:
    page.locator(button).click()
    page.wait_for_function(
        f"() => document.querySelector('{button}').getAttribute('aria-pressed') === 'true'",
        timeout=30_000,
    )


# The pre-join clicks, done inside the page as soon as it is interactive: "camera and
# microphone on" (one getUserMedia), then "join" once both are on. Clicking through
# Playwright instead adds several DevTools round trips per click (plus waiting for the load
# event), which is the bench's time, not the page's.
JOIN_JS = """async () => {
  const pressed = id => document.getElementById(id).getAttribute("aria-pressed") === "true";
  document.getElementById("prejoin-both").click();
  await new Promise(resolve => {
    const check = () => (pressed("prejoin-camera") && pressed("prejoin-mic"))
      ? resolve() : setTimeout(check, 5);
    check();
  });
  document.getElementById("join-button").click();
}"""


# The pre-join screen's main action instead (`--tap main`, since 2026-12-07): "join with
# camera", one tap that turns both devices on and joins (issue 12, ADR 0049 and 0074).
MAIN_ACTION_JS = """async () => { document.getElementById("join-camera").click(); }"""
TAPS = {"check": JOIN_JS, "main": MAIN_ACTION_JS}


def auto_join_js(tap: str = "check") -> str:
    """The clicks of `tap`, started by the page itself at DOMContentLoaded (deferred scripts
    such as the call page's modules have run by then), so that no DevTools round trip lies
    between the page being ready and the first tap; for the measured phone page (since
    2026-11-27 11:00)."""
    return f"""document.addEventListener("DOMContentLoaded", () => {{
  if (document.getElementById("prejoin-both")) ({TAPS[tap]})();
}});"""


AUTO_JOIN_JS = auto_join_js()


def join_call(page: Any, url: str, *, auto: bool = False) -> None:
    """The client's way into the call with the least a person can do: one tap for camera
    and microphone, one tap to join (no reaction time: the bench measures the page).
    With `auto` the page's context clicks by itself (AUTO_JOIN_JS)."""
    page.goto(url, wait_until="domcontentloaded")
    if not auto:
        page.evaluate(JOIN_JS)


def first_frame(page: Any) -> dict[str, float]:
    wait_js(page, "() => window.__firstFrameAt !== null")
    return page.evaluate(
        """() => ({first: window.__firstFrameAt, join: window.__joinAt, marks: window.__marks,
                   response: performance.getEntriesByType('navigation')[0].responseEnd,
                   interactive: performance.getEntriesByType('navigation')[0].domInteractive,
                   dom: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd})"""
    )


def stats(page: Any, pc_js: str) -> dict[str, Any]:
    return page.evaluate(
        f"async () => {{ const pc = ({pc_js})(); return pc ? ({STATS_JS})(pc) : null; }}"
    )


def window_figures(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    """Receive-side figures between two stats samples of one page."""
    seconds = (b["t"] - a["t"]) / 1000
    samples = b["samples"] - a["samples"]
    packets = (b["aPackets"] - a["aPackets"]) + (b["aLost"] - a["aLost"])
    return {
        "fps": (b["frames"] - a["frames"]) / seconds,
        "kbps": (b["vBytes"] - a["vBytes"]) * 8 / seconds / 1000,
        "height": b["h"],
        "freezes": b["freezes"] - a["freezes"],
        "concealed_pct": 100 * (b["concealed"] - a["concealed"]) / samples if samples else 0.0,
        "audio_lost_pct": 100 * (b["aLost"] - a["aLost"]) / packets if packets else 0.0,
        "rtt_ms": 1000 * (b["rtt"] or 0),
        "relayed": b["local"] == "relay",
    }


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def udp_port() -> int:
    return free_udp_port()
