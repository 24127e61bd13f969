"""The benchmark scripts read wrk, HTML and CSS correctly, and their URLs stay out of production."""

from __future__ import annotations

import asyncio
import itertools
import threading

import pytest
from django.urls import NoReverseMatch, resolve, reverse

from bench import load, page_weight

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8001/klienten/portal/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    41.20ms   12.01ms 250.00ms   80.00%
    Req/Sec   600.00     50.00   700.00     70.00%
  Latency Distribution
     50%   39.50ms
     75%   45.00ms
     90%   55.00ms
     99%    1.20s
  12000 requests in 10.02s, 30.00MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:   1197.60
Transfer/sec:      2.99MB
"""


def test_wrk_output_is_read_with_units_and_errors():
    result = load.parse_wrk(WRK_OUTPUT, target="portal", connections=50, seconds=10)
    assert result.requests == 12000
    assert result.rps == pytest.approx(1197.6)
    assert result.p50_ms == pytest.approx(39.5)
    assert result.p99_ms == pytest.approx(1200.0)
    assert result.seconds == pytest.approx(10.02)
    assert result.bad == 3 + 2 + 1


def test_unreadable_wrk_output_is_an_error_not_a_zero():
    with pytest.raises(RuntimeError, match="could not read"):
        load.parse_wrk("connection refused", target="x", connections=1, seconds=1)


def test_report_gives_the_ratio_of_portal_to_bare_throughput():
    def result(target: str, rps: float) -> load.LoadResult:
        return load.LoadResult(target, "wrk", 50, 10.0, int(rps * 10), rps, 1.0, 2.0, 0)

    text = load.report([result(load.BARE, 1000.0), result(load.PORTAL, 400.0)])
    assert "ratio portal/bare throughput = 0.40" in text
    assert "BELOW the goal" in text


def test_asset_parser_finds_what_a_browser_loads_and_nothing_else():
    parser = page_weight.AssetParser()
    parser.feed(
        '<link rel="stylesheet" href="/static/app.css"><link rel="icon" href="/static/f.svg">'
        '<link rel="alternate" href="/feed"><script src="/static/a.js"></script><script></script>'
        '<img src="data:image/png;base64,AAAA"><img srcset="/i@1x.png 1x, /i@2x.png 2x">'
        '<a href="/elsewhere">x</a>'
    )
    assert parser.urls == ["/static/app.css", "/static/f.svg", "/static/a.js", "/i@1x.png"]
    assert parser.has_icon


def test_css_references_are_found():
    css = "@import 'base.css'; .a{background:url(../img/x.svg)} .b{background:url(\"data:x\")}"
    refs = [m.group(2) or m.group(4) for m in page_weight.CSS_URL.finditer(css)]
    assert refs == ["base.css", "../img/x.svg", "data:x"]


def test_text_is_counted_compressed_and_images_as_they_are():
    body = b"a" * 10_000
    assert page_weight.transferred_size(body, "text/css; charset=utf-8") < 200
    assert page_weight.transferred_size(body, "image/png") == 10_000


def test_bench_views_exist_only_in_the_bench_urlconf():
    with pytest.raises(NoReverseMatch):
        reverse("bench_bare")
    assert resolve("/__bench__/bare/", urlconf="bench.urls_bench").url_name == "bench_bare"
    # The bench URLconf still serves the whole application.
    assert reverse("clients:portal_home", urlconf="bench.urls_bench") == reverse(
        "clients:portal_home"
    )


def test_python_load_generator_counts_answers_and_failures():
    answered = itertools.count()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                status = 500 if next(answered) % 2 else 200
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok".encode("latin-1")
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    ready = threading.Event()
    state: dict[str, object] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
        state["port"] = server.sockets[0].getsockname()[1]
        state["loop"] = loop
        ready.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(5)
    try:
        result = load.run_python(
            f"http://127.0.0.1:{state['port']}/x", "", target="t", connections=4, seconds=0.5
        )
    finally:
        loop = state["loop"]
        assert isinstance(loop, asyncio.AbstractEventLoop)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    assert result.requests > 10
    # Every second answer was a 500: about half are counted as bad.
    assert result.requests // 2 - 2 <= result.bad <= result.requests // 2 + 2
    assert 0 < result.p50_ms <= result.p99_ms
