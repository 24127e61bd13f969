"""A plain-text report of one crawl: test-artifacts/crawl/<role>.txt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .screenshots import ARTIFACTS_DIR


def write_report(*, role: str, plan: Any, result: Any) -> Path:
    lines = [f"# Crawl as {role}", ""]
    lines.append(f"## Pages checked ({len(result.checked)})")
    for page, problems in result.checked.items():
        lines.append(f"{'FAIL' if problems else 'ok  '} {page}")
        lines += [f"       - {problem}" for problem in problems]
    lines += ["", "## Answers by path"]
    lines += [
        f"{path}: {status} ({result.seconds.get(path, 0):.2f} s)"
        for path, status in sorted(result.statuses.items())
    ]
    lines += ["", "## Not HTML (not checked)"]
    lines += [f"{path}: {kind}" for path, kind in sorted(result.not_html.items())]
    lines += ["", "## Only fetched: checked in the browser as another role (see test_every_page)"]
    lines += sorted(set(result.shared))
    lines += ["", "## POST only (405 on GET)"]
    lines += sorted(result.post_only)
    lines += ["", "## Routes left out on purpose"]
    lines += [f"{label}: {reason}" for label, reason in sorted(plan.skipped.items())]
    lines += ["", "## BROKEN rules (the sample object could not be made)"]
    lines += [f"{label}: {error}" for label, error in sorted(plan.broken.items())]
    lines += ["", "## UNKNOWN routes with parameters (add a rule in support/crawler.py)"]
    lines += [f"{route.label}  {route.pattern}  {route.params}" for route in plan.unknown]
    directory = ARTIFACTS_DIR / "crawl"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{role}.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
