"""Page weight of the client pages: gzip size of the HTML plus every asset the page loads.

Fetched over HTTP from a real server (bench/server.py). Each response body is counted as a
reverse proxy with gzip on would send it (gzip level 6 for text, CSS, JS, SVG, JSON; other
types, such as PNG, as they are). Assets come from <link>, <script>, <img>, <source>, CSS
url()/@import and JS imports (static, and import() of a literal path); a page without an
icon link is charged /favicon.ico as browsers request it. Budget: 50 KB (1 KB = 1024 bytes)
per page. Baseline from the same run: base.html with an empty content block
(/__bench__/shell/), the shell every page shares.

Run: .venv/bin/python bench/page_weight.py   (or `make bench` for all benchmarks)
"""

from __future__ import annotations

import gzip
import http.cookiejar
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server import BenchServer, machine_info, running_server

BUDGET_BYTES = 50 * 1024
COMPRESSIBLE = ("text/", "javascript", "json", "svg", "xml", "ecmascript")
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")
# Static imports and import("...") with a literal path: a module loaded later still counts.
JS_IMPORT = re.compile(
    r"""(?:^|[;\s])import\s*(?:[\w*{}\s,]+from\s*|\(\s*)?['"]([^'"]+)['"]""", re.M
)


@dataclass
class Resource:
    url: str
    content_type: str
    raw: int
    transferred: int


@dataclass
class PageWeight:
    name: str
    url: str
    status: int
    html: Resource | None = None
    assets: list[Resource] = field(default_factory=list)
    problem: str = ""

    @property
    def total(self) -> int:
        return (self.html.transferred if self.html else 0) + sum(a.transferred for a in self.assets)


class AssetParser(HTMLParser):
    """Collects the URLs a browser loads right away for an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.has_icon = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "link":
            rel = set(a.get("rel", "").lower().split())
            if rel & {"icon", "apple-touch-icon", "shortcut"}:
                self.has_icon = True
            if rel & {
                "stylesheet",
                "icon",
                "apple-touch-icon",
                "manifest",
                "preload",
                "modulepreload",
            }:
                self._add(a.get("href"))
        elif tag == "script":
            self._add(a.get("src"))
        elif tag in {"img", "source", "input"}:
            self._add(a.get("src"))
            srcset = a.get("srcset", "")
            if srcset and tag == "img" and not a.get("src"):
                self._add(srcset.split(",")[0].split()[0])
        elif tag == "video":
            self._add(a.get("poster"))
        # A module the page loads on first use by the address it names (the call chat's file
        # sending, ADR 0057): it counts as well.
        self._add(a.get("data-module"))

    def _add(self, url: str | None) -> None:
        if url and not url.startswith(("data:", "blob:", "#")):
            self.urls.append(url)


def transferred_size(body: bytes, content_type: str) -> int:
    if any(marker in content_type for marker in COMPRESSIBLE):
        return len(gzip.compress(body, compresslevel=6, mtime=0))
    return len(body)


def new_opener(cookie: str | None = None) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    headers = [("Accept-Language", "de"), ("Accept-Encoding", "identity")]
    if cookie:
        headers.append(("Cookie", cookie))
    opener.addheaders = headers
    return opener


def fetch(
    opener: urllib.request.OpenerDirector, url: str, data: bytes | None = None
) -> tuple[int, str, str, bytes]:
    """(status, final URL, content type, body); errors are answers too."""
    try:
        with opener.open(url, data=data, timeout=30) as response:
            return (
                response.status,
                response.geturl(),
                response.headers.get("Content-Type", ""),
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return error.code, url, error.headers.get("Content-Type", ""), error.read()


def same_origin(base: str, url: str) -> bool:
    a, b = urllib.parse.urlsplit(base), urllib.parse.urlsplit(url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def weigh(
    opener: urllib.request.OpenerDirector, server: BenchServer, name: str, path: str
) -> PageWeight:
    return weigh_response(opener, server, name, *fetch(opener, server.url(path)))


def weigh_response(
    opener: urllib.request.OpenerDirector,
    server: BenchServer,
    name: str,
    status: int,
    url: str,
    content_type: str,
    body: bytes,
) -> PageWeight:
    page = PageWeight(name=name, url=url, status=status)
    if "html" not in content_type:
        page.problem = f"not HTML ({content_type or 'no content type'})"
        return page
    page.html = Resource(url, content_type, len(body), transferred_size(body, content_type))
    parser = AssetParser()
    parser.feed(body.decode("utf-8", "replace"))
    queue = [urllib.parse.urljoin(url, u) for u in parser.urls]
    if not parser.has_icon:
        queue.append(server.url("/favicon.ico"))
    seen: set[str] = set()
    while queue:
        asset_url = urllib.parse.urldefrag(queue.pop(0))[0]
        if asset_url in seen:
            continue
        seen.add(asset_url)
        if not same_origin(server.base_url, asset_url):
            page.problem = f"third-party request: {asset_url}"
            continue
        a_status, _, a_type, a_body = fetch(opener, asset_url)
        if a_status != 200:
            if not asset_url.endswith("/favicon.ico"):
                page.problem = f"{asset_url} answered {a_status}"
            continue
        page.assets.append(
            Resource(asset_url, a_type, len(a_body), transferred_size(a_body, a_type))
        )
        text = a_body.decode("utf-8", "replace")
        if "css" in a_type:
            for match in CSS_URL.finditer(text):
                ref = match.group(2) or match.group(4)
                if ref and not ref.startswith("data:"):
                    queue.append(urllib.parse.urljoin(asset_url, ref))
        elif "javascript" in a_type:
            queue.extend(
                urllib.parse.urljoin(asset_url, ref)
                for ref in JS_IMPORT.findall(text)
                if ref.startswith((".", "/"))
            )
    return page


def csrf_token(body: bytes) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    return match.group(1).decode() if match else ""


def measure(server: BenchServer) -> list[PageWeight]:
    paths = server.fixtures["paths"]
    pages: list[PageWeight] = []
    anonymous = new_opener()
    pages.append(weigh(anonymous, server, "base.html shell (baseline)", paths["shell"]))
    pages.append(weigh(anonymous, server, "Login", paths["login"]))

    code_opener = new_opener()
    pages.append(weigh(code_opener, server, "Login by code: request", paths["request_code"]))
    *_, body = fetch(code_opener, server.url(paths["request_code"]))
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": csrf_token(body), "email": server.fixtures["client_email"]}
    ).encode()
    confirm = weigh_response(
        code_opener,
        server,
        "Login by code: enter code",
        *fetch(code_opener, server.url(paths["request_code"]), data=form),
    )
    if urllib.parse.urlsplit(confirm.url).path != paths["confirm_code"]:
        confirm.problem = f"expected {paths['confirm_code']}, ended at {confirm.url}"
    pages.append(confirm)

    if paths.get("invitation"):
        pages.append(weigh(new_opener(), server, "Invitation acceptance", paths["invitation"]))
    else:
        pages.append(PageWeight("Invitation acceptance", "", 0, problem="no invitation link"))

    client = new_opener(server.client_cookie)
    for name, key in (("Portal home", "portal_home"), ("Privacy (Datenschutz)", "privacy")):
        page = weigh(client, server, name, paths[key])
        if urllib.parse.urlsplit(page.url).path != paths[key]:
            page.problem = f"redirected to {page.url}"
        pages.append(page)
    return pages


def kb(n: int) -> str:
    return f"{n / 1024:.1f}"


ROW = "{:<30} {:>6} {:>5} {:>8} {:>9} {:>8}  {}"


def report(pages: list[PageWeight]) -> str:
    head = ROW.format("page", "status", "files", "HTML gz", "assets gz", "total KB", "budget")
    lines = [head, "-" * len(head)]
    for p in pages:
        html = p.html.transferred if p.html else 0
        assets = sum(a.transferred for a in p.assets)
        files = (1 if p.html else 0) + len(p.assets)
        verdict = "ok" if p.total <= BUDGET_BYTES else "OVER"
        if p.problem:
            verdict = f"{verdict if p.html else 'n/a'} ({p.problem})"
        lines.append(
            ROW.format(p.name, p.status, files, kb(html), kb(assets), kb(p.total), verdict)
        )
    lines.append(
        f"budget: {kb(BUDGET_BYTES)} KB per page, gzip -6 of each text body; KB = 1024 bytes"
    )
    base = next((p for p in pages if p.name.endswith("(baseline)")), None)
    if base and base.total:
        lines.append(
            f"baseline shell = {kb(base.total)} KB; each page's excess over it is its own content"
        )
    assets = sorted({(a.url, a.transferred) for p in pages for a in p.assets})
    if assets:
        lines.append(
            "assets (gzip bytes): "
            + ", ".join(f"{urllib.parse.urlsplit(u).path} {n}" for u, n in assets)
        )
    return "\n".join(lines)


def run(server: BenchServer) -> str:
    return report(measure(server))


def main() -> None:
    print(f"# Page weight, {machine_info()}", flush=True)
    with running_server() as server:
        print(run(server))


if __name__ == "__main__":
    main()
