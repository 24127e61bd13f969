"""Documents: the cost of decoding in a limited child process (ADR 0043), beside the same
work in this process.

Usage:
    .venv/bin/python bench/documents_isolation.py [--runs 7]

Times, median of the runs: the upload check of one small photo and of a 3-page PDF (each a
child: interpreter start, imports, the check), and the conversion of a 3-page PDF with its
WebP previews, once in a child (`isolation.isolated_convert`) and once in this process
(`pdf_rebuild.rebuild_pdf` + `previews.render_pages`). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def median_seconds(work: Callable[[], Any], runs: int) -> float:
    seconds = []
    for _run in range(runs):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from sprechstunde.documents import isolation, pdf_rebuild, previews
    from sprechstunde.documents.factories import jpeg_bytes, pdf_bytes

    limits = isolation.DecodeLimits.for_document(pages=3)
    photo = jpeg_bytes(400, 300)
    pdf = pdf_bytes(3)

    def in_process() -> None:
        converted = pdf_rebuild.rebuild_pdf(pdf)
        previews.render_pages(converted.data)

    rows = [
        (
            "child: check of one photo",
            lambda: isolation.isolated_check([("image/jpeg", photo)], limits=limits),
        ),
        (
            "child: check of a 3-page PDF",
            lambda: isolation.isolated_check([("application/pdf", pdf)], limits=limits),
        ),
        (
            "child: 3-page PDF converted + previews",
            lambda: isolation.isolated_convert("pdf", [pdf], limits=limits),
        ),
        ("in process: 3-page PDF converted + previews", in_process),
    ]
    print(f"Median of {args.runs} runs:\n")
    print("| what | seconds |")
    print("|---|---:|")
    for name, work in rows:
        print(f"| {name} | {median_seconds(work, args.runs):.3f} |")


if __name__ == "__main__":
    main()
