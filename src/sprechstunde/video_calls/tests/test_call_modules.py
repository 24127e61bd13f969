"""The call page's ES modules (docs/decisions/0053): the page preloads every module it imports
statically (no waterfall of imports before the first offer), and only those: chat and
verification come by import() once the call has started (ADR 0055). Every import names a
module that exists, the imports form no cycle (the manifest storage could not hash them), and
production's static storage rewrites both kinds of import to the hashed names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from .conftest import browser_for
from .test_views import call_url

MODULES = Path(__file__).resolve().parents[1] / "static" / "video_calls" / "call"
# The page's scripts: main.js on every call page, host.js on the host's page only.
ENTRIES = ("host.js", "main.js")
# Loaded on first use only (dynamic import() of the hashed address the page names, ADR
# 0057): not preloaded, and importing nothing (an unhashed import would load a second copy).
LAZY = {"opening.js", "photo.js"}
IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^;]*?\bfrom\s*["']\./([\w-]+\.js)["']""", re.M | re.S
)
LATER = re.compile(r"""\bimport\(\s*["']\./([\w-]+\.js)["']\s*\)""")
# Not needed before the first offer: loaded in the call (ADR 0055).
LATE = {"chat.js", "verification.js"}


def imports(pattern: re.Pattern[str] = IMPORT) -> dict[str, set[str]]:
    return {
        path.name: set(pattern.findall(path.read_text("utf-8"))) for path in MODULES.glob("*.js")
    }


def static_closure(entries: list[str]) -> set[str]:
    graph, seen, todo = imports(), set(), list(entries)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def test_every_import_exists_and_the_graph_has_no_cycle() -> None:
    later = imports(LATER)
    graph = {name: names | later[name] for name, names in imports().items()}
    assert "main.js" in graph and len(graph) >= 7
    for module, names in graph.items():
        assert names <= graph.keys(), (module, names - graph.keys())
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for name in graph[module]:
            visit(name, (*path, module))
        done.add(module)

    for entry in ENTRIES:
        visit(entry, ())
    assert done == graph.keys() - LAZY, f"modules no page loads: {graph.keys() - done - LAZY}"
    assert all(not graph[module] for module in LAZY)


@pytest.mark.django_db
def test_the_call_page_preloads_every_module_and_runs_main_as_a_module(
    appointment, portal_client, case_manager
) -> None:
    for user, entries in (
        (portal_client.user, ["main.js"]),
        (case_manager, ["host.js", "main.js"]),
    ):
        html = browser_for(user).get(call_url(appointment)).content.decode()
        preloaded = set(
            re.findall(r'<link rel="modulepreload" href="[^"]*/call/([\w-]+\.js)"', html)
        )
        assert preloaded == static_closure(entries), user
        # What waits for the call is loaded by import() and not preloaded; what waits for
        # first use (LAZY) is loaded by its hashed address.
        assert not preloaded & (LATE | LAZY), user
        assert set().union(*imports(LATER).values()) >= LATE
        assert imports().keys() == static_closure(["host.js", "main.js"]) | LATE | LAZY
        scripts = re.findall(r'<script type="module" src="[^"]*/call/([\w-]+\.js)"></script>', html)
        assert scripts == entries, user  # host.js before main.js: it listens from the start
        assert "<script>" not in html  # no inline script (the CSP allows none)


def test_production_storage_rewrites_imports_to_hashed_names(tmp_path) -> None:
    from sprechstunde.core.staticfiles import ModuleAwareStaticFilesStorage

    # collectstatic's post-processing, on the call's modules alone (the whole tree is slow).
    storage = ModuleAwareStaticFilesStorage(location=tmp_path, base_url="/static/")
    found = {}
    for path in MODULES.glob("*.js"):
        name = f"video_calls/call/{path.name}"
        storage.save(name, ContentFile(path.read_bytes()))
        found[name] = (storage, name)
    problems = [
        result for _o, _h, result in storage.post_process(found) if isinstance(result, Exception)
    ]
    assert not problems, problems
    hashed = Path(storage.path(storage.stored_name("video_calls/call/main.js")))
    text = hashed.read_text("utf-8")
    named = set(re.findall(r"""from\s*["']\./([\w.-]+\.js)["']""", text))
    later = set(re.findall(r"""import\(["']\./([\w.-]+\.js)["']\)""", text))
    assert named and all(re.fullmatch(r"[\w-]+\.[0-9a-f]{12}\.js", n) for n in named), named
    assert later and all(re.fullmatch(r"[\w-]+\.[0-9a-f]{12}\.js", n) for n in later), later
    named |= later
    for name in named:
        assert (hashed.parent / name).is_file()
