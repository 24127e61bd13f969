"""Page weight of the video call page: gzip size of its HTML plus every asset it loads.

Same counting as bench/page_weight.py (gzip -6 of text bodies, KB = 1024 bytes), fetched from
the app as in production (collectstatic, DEBUG off) with a logged-in client's and case
manager's session. Budget from issue 4: 100 KB including all JavaScript. Baselines in the
same run: the bare WebRTC page of the benchmarks (bench/video_bare/) and the `base.html`
shell every page shares.

Run: .venv/bin/python bench/video_page_weight.py   (or `make bench`)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.page_weight import PageWeight, kb, new_opener, weigh
from bench.server import BenchServer, machine_info
from bench.video_bare import BareServer
from bench.video_harness import VideoServer, udp_port, video_server

BUDGET_BYTES = 100 * 1024


def measure(server: VideoServer, bare_url: str) -> list[PageWeight]:
    bench_server = BenchServer(
        base_url=server.base_url, var_dir=Path(tempfile.gettempdir()), log_path=Path("/dev/null")
    )
    cookie_name = server.fixtures["cookie_name"]
    path = server.fixtures["call_path"]
    pages = []
    for who in ("client", "staff"):
        opener = new_opener(f"{cookie_name}={server.fixtures[f'{who}_session']}")
        page = weigh(opener, bench_server, f"call page ({who})", path)
        if not page.url.endswith(path):
            page.problem = f"redirected to {page.url}"
        pages.append(page)
    pages.append(
        weigh(new_opener(), bench_server, "base.html shell (baseline)", "/__bench__/shell/")
    )
    bare = BenchServer(
        base_url=bare_url, var_dir=Path(tempfile.gettempdir()), log_path=Path("/dev/null")
    )
    bare_page = weigh(new_opener(), bare, "bare WebRTC page (baseline)", "/")
    # The bare page has no icon link; its server has no favicon: not a problem of the page.
    bare_page.problem = ""
    pages.append(bare_page)
    return pages


def report(pages: list[PageWeight]) -> str:
    lines = [
        "| page | files | HTML | assets | total | budget 100 KB |",
        "|---|---|---|---|---|---|",
    ]
    for p in pages:
        html = p.html.transferred if p.html else 0
        assets = sum(a.transferred for a in p.assets)
        verdict = "ok" if p.total <= BUDGET_BYTES else "OVER"
        if p.problem:
            verdict += f" ({p.problem})"
        files = (1 if p.html else 0) + len(p.assets)
        lines.append(
            f"| {p.name} | {files} | {kb(html)} | {kb(assets)} | {kb(p.total)} | {verdict} |"
        )
    call = pages[0]
    lines.append(
        "\nassets of the client's call page (gzip bytes): "
        + ", ".join(f"{a.url.rsplit('/', 1)[-1]} {a.transferred}" for a in call.assets)
    )
    lines.append(
        "KB = 1024 bytes, gzip -6 of each text body; the websocket and media are not counted"
    )
    return "\n".join(lines)


def run() -> str:
    ice = {"iceServers": [], "policy": "all"}
    with (
        video_server(turn_port=udp_port(), turn_secret="unused") as server,
        BareServer(ice) as bare,
    ):
        return report(measure(server, bare.url))


def main() -> None:
    print(f"# Video call page weight, {machine_info()}", flush=True)
    print(run())


if __name__ == "__main__":
    main()
