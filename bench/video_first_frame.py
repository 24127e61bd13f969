"""Video calls: time to the first remote frame, and what a call delivers on slow links.

For each link profile (loopback, 3G, EDGE; tests/netem/profiles.py) the phone's Chromium runs
in a network namespace behind that link (bench/video_harness.py), the desk's Chromium on the
host; all media relayed by coturn (relay-only ICE, as in production with TURN_RELAY_ONLY).
The profile `direct` is the unimpaired link with ICE policy "all" for both pages (the app is
started a second time with TURN_RELAY_ONLY off): the browsers pair their host addresses.
Two pages are measured in the same run, alternately:

* bare: a minimal WebRTC page served by the bench (bench/video_bare/), the baseline;
* call page: the client's call page of the app (pre-join: "camera and microphone on", then
  join, tapped by the page itself at DOMContentLoaded; already admitted once, so no waiting
  room), with the case manager in the call.

Time to first remote frame: from navigation start (performance.now() origin) to the first
requestVideoFrameCallback of the remote video, p50 and p90 over --runs runs, after one
warm-up run. Then one call per page stays up for --steady seconds: received video frame rate
and bitrate, height, freezes, audio concealment and audio loss, both directions.
Figures only, no assertions. Run as root (network namespaces):

    .venv/bin/python bench/video_first_frame.py [--runs 10] [--profiles loopback,3G,EDGE]
        [--steady 15] [--edge-runs 0]
    .venv/bin/python bench/video_first_frame.py --runs 10 --profiles direct,loopback --steady 0
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import secrets
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.netem import EDGE, LAN, THREE_G, LinkProfile, require_root

from bench.server import machine_info
from bench.video_bare import BareServer
from bench.video_harness import (
    BARE_PC,
    DESK,
    DESK_MARKS_JS,
    OURS_PC,
    PhoneLink,
    VideoServer,
    first_frame,
    join_call,
    launch,
    percentile,
    phone_context,
    stats,
    turn_rest_credentials,
    udp_port,
    wait_js,
    window_figures,
)

PROFILES = {"loopback": LAN, "3G": THREE_G, "EDGE": EDGE, "direct": LAN}
# Profiles whose pages may pair host candidates (ICE policy "all"); the others are relay-only.
DIRECT = {"direct"}
MILESTONES = [
    "html",
    "interactive",
    "ask",
    "media",
    "ws",
    "wsOpen",
    "wsMessage",
    "pc",
    "join",
    "welcome",
    "offerOut",
    "offerIn",
    "answerOut",
    "answerIn",
    "candOut",
    "candIn",
    "ice",
    "dtls",
]
OURS_VIDEO = ".tile[data-peer]:not(.tile--self) video"


class Session:
    """The two browsers and pages of one profile."""

    def __init__(
        self,
        playwright: Any,
        server: VideoServer,
        bare: BareServer,
        link: PhoneLink,
        tap: str = "check",
    ) -> None:
        self.server = server
        self.bare = bare
        self.call_url = server.base_url + server.fixtures["call_path"]
        self._stack = contextlib.ExitStack()
        desk_browser, sock = launch(playwright)
        self._stack.callback(sock.close)
        self._stack.callback(desk_browser.close)
        phone_browser, sock2 = launch(playwright, link.namespace)
        self._stack.callback(sock2.close)
        self._stack.callback(phone_browser.close)
        desk = desk_browser.new_context(**DESK)
        desk.add_cookies([server.cookie("staff")])
        desk.add_init_script(script=DESK_MARKS_JS)
        self.desk = desk.new_page()
        desk_bare = desk_browser.new_context(**DESK)
        desk_bare.add_init_script(script=DESK_MARKS_JS)
        self.desk_bare = desk_bare.new_page()
        self.ours = phone_context(
            phone_browser, OURS_VIDEO, server.cookie("client"), auto_join=True, tap=tap
        )
        self.bare_ctx = phone_context(phone_browser, "#remote")
        self.room = 0

    def close(self) -> None:
        self._stack.close()

    def desk_joins(self) -> None:
        join_call(self.desk, self.call_url)
        self.desk.wait_for_function(
            "() => document.getElementById('call').dataset.phase === 'in-call'", timeout=60_000
        )

    def run_ours(self, *, first_time: bool = False, keep: bool = False) -> tuple[dict, Any]:
        self.desk.evaluate("() => window.__deskReset()")
        page = self.ours.new_page()
        join_call(page, self.call_url, auto=True)
        if first_time:
            phase = page.wait_for_function(
                """() => ['waiting', 'in-call'].find(
                    p => p === document.getElementById('call').dataset.phase)""",
                timeout=60_000,
            ).json_value()
            if phase == "waiting":  # the first time on this server: the desk lets them in
                row = self.desk.locator(
                    "#waiting-list li", has_text=self.server.fixtures["client_name"]
                )
                row.locator("[data-action=admit]").click(timeout=60_000)
        marks = first_frame(page)
        marks["pair"] = (stats(page, OURS_PC) or {}).get("local")
        marks["desk"] = self.desk.evaluate("() => window.__deskMarks()")
        if not keep:
            page.close()
            time.sleep(1.0)  # the desk page drops the peer, as after any leave
        return marks, page

    def run_bare(self, *, keep: bool = False) -> tuple[dict, Any]:
        self.room += 1
        url = f"{self.bare.url}/?room={self.room}"
        self.desk_bare.goto(url)
        wait_js(self.desk_bare, "() => window.bareReady === true")
        page = self.bare_ctx.new_page()
        page.goto(url)
        marks = first_frame(page)
        marks["pair"] = (stats(page, BARE_PC) or {}).get("local")
        marks["desk"] = self.desk_bare.evaluate("() => window.__deskMarks()")
        if not keep:
            page.close()
            time.sleep(1.0)
        return marks, page


def steady(session: Session, kind: str, seconds: float) -> dict[str, dict[str, float]]:
    """One call held for `seconds` after a 5 s ramp-up; figures per receiving side."""
    if kind == "bare":
        _marks, phone = session.run_bare(keep=True)
        desk, desk_pc, phone_pc = session.desk_bare, BARE_PC, BARE_PC
    else:
        _marks, phone = session.run_ours(keep=True)
        desk, desk_pc, phone_pc = session.desk, OURS_PC, OURS_PC
    time.sleep(5)
    a_phone, a_desk = stats(phone, phone_pc), stats(desk, desk_pc)
    time.sleep(seconds)
    b_phone, b_desk = stats(phone, phone_pc), stats(desk, desk_pc)
    phone.close()
    time.sleep(1.0)
    return {
        "phone receives": window_figures(a_phone, b_phone),
        "desk receives": window_figures(a_desk, b_desk),
    }


def measure_profile(
    playwright: Any,
    server: VideoServer,
    bare: BareServer,
    turn: tuple[int, str],
    profile: LinkProfile,
    *,
    runs: int,
    steady_seconds: float,
    tap: str = "check",
) -> dict[str, Any]:
    with PhoneLink(profile, turn[0], turn[1], [server.port, bare.port]) as link:
        session = Session(playwright, server, bare, link, tap)
        try:
            session.desk_joins()
            session.run_ours(first_time=True)  # warm-up; admits the client once
            session.run_bare()  # warm-up
            times: dict[str, list[dict]] = {"bare": [], "ours": []}
            for _ in range(runs):
                times["bare"].append(session.run_bare()[0])
                times["ours"].append(session.run_ours()[0])
            result: dict[str, Any] = {"times": times, "steady": {}}
            if steady_seconds:
                for kind in ("bare", "ours"):
                    result["steady"][kind] = steady(session, kind, steady_seconds)
            result["relay"] = link.relay.summary()
            return result
        finally:
            session.close()


def describe(name: str) -> str:
    if name in DIRECT:
        return f"{name}: no impairment, ICE policy all (host candidates, no relay)"
    return f"{PROFILES[name].describe()}, relay-only through coturn"


def _span(runs: list[dict], side: str, start: str, end: str) -> str:
    """p50 of end - start in ms over the runs that have both marks, on one browser's clock."""
    values = []
    for m in runs:
        if side == "desk":
            marks = m.get("desk") or {}
        else:
            marks = {**m["marks"], "join": m["join"], "first": m["first"]}
        if marks.get(start) is not None and marks.get(end) is not None:
            values.append(marks[end] - marks[start])
    return f"{percentile(values, 50):.0f}" if values else "-"


def report_profile(name: str, result: dict[str, Any]) -> str:
    lines = [f"### {describe(name)}", ""]
    names = {"bare": "bare WebRTC page (baseline)", "ours": "call page"}
    times = result["times"]
    if times["bare"]:
        lines += [
            "| page | runs | first frame p50 | p90 | HTML loaded p50 | DOMContentLoaded p50 |"
            " join click to frame p50 |",
            "|---|---|---|---|---|---|---|",
        ]
        p50: dict[str, float] = {}
        for kind in ("bare", "ours"):
            first = [m["first"] / 1000 for m in times[kind]]
            dom = [m["dom"] / 1000 for m in times[kind]]
            html = [m["response"] / 1000 for m in times[kind]]
            joins = [(m["first"] - m["join"]) / 1000 for m in times[kind] if m["join"]]
            p50[kind] = percentile(first, 50)
            join_text = f"{percentile(joins, 50):.2f} s" if joins else "(none)"
            lines.append(
                f"| {names[kind]} | {len(first)} | {p50[kind]:.2f} s | "
                f"{percentile(first, 90):.2f} s | {percentile(html, 50):.2f} s |"
                f" {percentile(dom, 50):.2f} s | {join_text} |"
            )
        lines.append(f"\nratio call page / bare (p50) = {p50['ours'] / p50['bare']:.2f}")
        for kind in ("bare", "ours"):
            kinds = sorted({str(m.get("pair")) for m in times[kind]})
            lines.append(f"{names[kind]}: local candidate of the pair in use: {', '.join(kinds)}")
        lines += [
            "",
            "Milestones, p50 from navigation start (html: response end; interactive: DOM"
            " interactive; ask: getUserMedia called; media: getUserMedia resolved;"
            " ws: websocket created; pc: first peer connection; join: join click;"
            " welcome: the server's answer to the join; offerOut/offerIn,"
            " answerOut/answerIn, candOut/candIn: first offer, answer, ICE candidate sent or"
            " received over the websocket; ice: ICE connected; dtls: connected):",
            "",
            "| page | " + " | ".join(MILESTONES) + " | first frame |",
            "|---|" + "---|" * (len(MILESTONES) + 1),
        ]
        for kind in ("bare", "ours"):
            cells = []
            for key in MILESTONES:
                marks = [
                    {
                        **m["marks"],
                        "join": m["join"],
                        "html": m["response"],
                        "interactive": m.get("interactive"),
                    }
                    for m in times[kind]
                ]
                values = [mk[key] / 1000 for mk in marks if mk.get(key) is not None]
                cells.append(f"{percentile(values, 50):.2f}" if values else "-")
            lines.append(f"| {names[kind]} | " + " | ".join(cells) + f" | {p50[kind]:.2f} |")
        lines += [
            "",
            "Spans, p50 in ms (phone: ask = getUserMedia called, tap = join tap, offerOut,"
            " answerIn; desk, on its own clock: rosterIn = the push that the phone is there,"
            " offerIn, answerOut):",
            "",
            "| page | ask → offerOut | tap → offerOut | offerOut → answerIn (phone) |"
            " desk rosterIn → offerIn | desk offerIn → answerOut | answerIn → frame |",
            "|---|---|---|---|---|---|---|",
        ]
        for kind in ("bare", "ours"):
            cells = [
                _span(times[kind], "phone", a, b)
                for a, b in (("ask", "offerOut"), ("join", "offerOut"), ("offerOut", "answerIn"))
            ]
            cells += [
                _span(times[kind], "desk", a, b)
                for a, b in (("rosterIn", "offerIn"), ("offerIn", "answerOut"))
            ]
            cells.append(_span(times[kind], "phone", "answerIn", "first"))
            lines.append(f"| {names[kind]} | " + " | ".join(cells) + " |")
    if result["steady"]:
        lines += [
            "",
            "| page | receiving side | video fps | video kbit/s | height | freezes |"
            " audio concealed | audio lost | RTT | relayed |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for kind, sides in result["steady"].items():
            for side, f in sides.items():
                lines.append(
                    f"| {names[kind]} | {side} | {f['fps']:.1f} | {f['kbps']:.0f} |"
                    f" {f['height']} | {f['freezes']} | {f['concealed_pct']:.1f} % |"
                    f" {f['audio_lost_pct']:.1f} % | {f['rtt_ms']:.0f} ms |"
                    f" {'yes' if f['relayed'] else 'no'} |"
                )
    lines.append(f"\nrelay counters (whole profile): {result['relay']}")
    return "\n".join(lines)


def run(
    *,
    profiles: list[str],
    runs: int,
    steady_seconds: float,
    edge_runs: int = 0,
    tap: str = "check",
) -> str:
    """Everything for the given profiles; returns the report (Markdown)."""
    problem = require_root()
    if problem:
        return f"(video benchmarks skipped: {problem})"
    from playwright.sync_api import sync_playwright

    turn_port = udp_port()
    secret = secrets.token_hex(16)  # shared by the coturn of every profile and the app
    pages = itertools.count()
    policy = {"now": "relay"}

    def ice() -> dict[str, Any]:
        # Credentials per page, as the app issues them per participant: coturn's user quota
        # (20 allocations) would otherwise refuse the bare pages after a score of runs.
        username, password = turn_rest_credentials(secret, f"bare{next(pages)}")
        return {
            "iceServers": [
                {
                    "urls": [f"turn:127.0.0.1:{turn_port}?transport=udp"],
                    "username": username,
                    "credential": password,
                }
            ],
            "policy": policy["now"],
        }

    out = []
    from bench.video_harness import video_server

    # One app server per ICE policy (TURN_RELAY_ONLY is a setting), profiles in given order.
    groups = [
        (False, [n for n in profiles if n in DIRECT]),
        (True, [n for n in profiles if n not in DIRECT]),
    ]
    groups.sort(key=lambda group: profiles.index(group[1][0]) if group[1] else len(profiles))
    with BareServer(ice) as bare, sync_playwright() as playwright:
        for relay_only, names in groups:
            if not names:
                continue
            policy["now"] = "relay" if relay_only else "all"
            with video_server(
                turn_port=turn_port, turn_secret=secret, relay_only=relay_only
            ) as server:
                for name in names:
                    profile = PROFILES[name]
                    print(f"  [video] {describe(name)}", file=sys.stderr, flush=True)
                    try:
                        result = measure_profile(
                            playwright,
                            server,
                            bare,
                            (turn_port, secret),
                            profile,
                            runs=edge_runs if name == "EDGE" else runs,
                            steady_seconds=steady_seconds,
                            tap=tap,
                        )
                    except Exception as error:  # one profile failing must not lose the others
                        out.append(f"### {describe(name)}\n\nfailed: {error!r}")
                    else:
                        out.append(report_profile(name, result))
                    print(out[-1] + "\n", file=sys.stderr, flush=True)
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--profiles",
        default="loopback,3G,EDGE",
        help="comma-separated: loopback, 3G, EDGE (relay-only through coturn), direct",
    )
    parser.add_argument(
        "--edge-runs", type=int, default=0, help="first-frame runs on EDGE (default: steady only)"
    )
    parser.add_argument("--steady", type=float, default=15.0)
    parser.add_argument(
        "--tap",
        choices=("check", "main"),
        default="check",
        help='the call page\'s taps: "check" = "camera and microphone on", then "join" '
        '(every round so far); "main" = the main action "join with camera", one tap',
    )
    args = parser.parse_args()
    started = time.monotonic()
    print(f"# Video: first remote frame, {machine_info()}, call page tap: {args.tap}", flush=True)
    print(
        run(
            profiles=args.profiles.split(","),
            runs=args.runs,
            steady_seconds=args.steady,
            edge_runs=args.edge_runs,
            tap=args.tap,
        )
    )
    print(f"\n(took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
