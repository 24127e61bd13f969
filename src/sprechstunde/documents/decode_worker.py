"""The child process that decodes untrusted files: `python -m sprechstunde.documents.decode_worker`.

It limits itself first (address space and CPU time, before any decoder is imported), then
reads one job from stdin: a JSON line, then the files' bytes. It answers on stdout with a
JSON line, then the bytes of what it made. It needs no Django project and sees no secrets:
the parent passes the few numeric settings the conversion reads.

Jobs:
* "check": the upload check. Every PDF is opened and all its streams unpacked under the
  budget (decoding.inspect_pdf); every photo's header is read. Answers the page counts.
* "convert": the conversion step. The same check, then the PDF everyone reads
  (CONVERT_PDF / CONVERT_IMAGES) and its page previews (RENDER_PAGES).
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from typing import Any, BinaryIO

_MEGABYTE = 1024 * 1024


def _limit_self(limits: dict[str, Any]) -> None:
    memory = int(limits["memory_mb"]) * _MEGABYTE
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(limits["cpu_seconds"])
    # The soft limit sends SIGXCPU (the end); the hard one is a second later SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _read_job(stdin: BinaryIO) -> tuple[dict[str, Any], list[bytes]]:
    header = json.loads(stdin.readline())
    parts = [stdin.read(int(part["size"])) for part in header["parts"]]
    return header, parts


def _budget(limits: dict[str, Any], size: int, started: float) -> Any:
    from .decoding import Budget

    return Budget(
        max_bytes=int(limits["max_bytes"]),
        max_unpacked=max(int(limits["unpacked_floor"]), size * int(limits["unpacked_factor"])),
        max_pixels=int(limits["max_pixels"]),
        deadline=started + float(limits["seconds"]),
    )


def _check(header: dict[str, Any], parts: list[bytes], started: float) -> list[int]:
    """Pages per file; raises decoding.Refused."""
    from . import decoding

    limits = header["limits"]
    pages = []
    for part, data in zip(header["parts"], parts, strict=True):
        if part["type"] == "application/pdf":
            budget = _budget(limits, len(data), started)
            pages.append(decoding.inspect_pdf(data, budget=budget))
        else:
            found = decoding.inspect_image(data, max_pixels=int(limits["max_pixels"]))
            # Some phones write JPEGs with a second picture (MPO): still a JPEG.
            found = "JPEG" if found == "MPO" else found
            if f"image/{found.lower()}" != part["type"]:
                raise decoding.Refused(decoding.UNREADABLE)
            pages.append(1)
    return pages


def _convert(
    header: dict[str, Any], parts: list[bytes], started: float
) -> tuple[dict[str, Any], list[bytes]]:
    """The PDF and its previews; raises decoding.Refused."""
    from django.conf import settings

    from . import decoding

    settings.configure(USE_I18N=False, **header["settings"])
    _check(header, parts, started)
    from . import conversion, pdf_rebuild, previews
    from .file_checks import FileRefused

    # The conversion step, one line each, so that it can be swapped in one place.
    convert_pdf = pdf_rebuild.rebuild_pdf
    convert_images = conversion.images_to_pdf
    render_pages = previews.render_pages

    try:
        if header["parts"][0]["type"] == "application/pdf":
            converted = convert_pdf(parts[0])
        else:
            converted = convert_images(parts)
    except (FileRefused, OSError, ValueError, SyntaxError) as error:
        raise decoding.Refused(decoding.UNREADABLE) from error
    del parts[:]
    answer: dict[str, Any] = {
        "pdf": {
            "size": len(converted.data),
            "pages": converted.pages,
            "removed": list(converted.removed),
            "metadata": dict(converted.metadata),
        },
        "previews": [],
    }
    blobs = [converted.data]
    if converted.pages > int(header["limits"]["max_pages"]):
        return answer, blobs
    try:
        rendered = render_pages(converted.data)
    except (OSError, ValueError) as error:
        raise decoding.Refused(decoding.UNREADABLE) from error
    for page in rendered:
        answer["previews"].append(
            {
                "page_number": page.page_number,
                "width": page.width,
                "height": page.height,
                "content_type": page.content_type,
                "size": len(page.data),
            }
        )
        blobs.append(page.data)
    return answer, blobs


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    started = time.monotonic()
    header, parts = _read_job(stdin)
    _limit_self(header["limits"])
    from . import decoding

    blobs: list[bytes] = []
    try:
        if header["job"] == "check":
            answer: dict[str, Any] = {"pages": _check(header, parts, started)}
        elif header["job"] == "convert":
            answer, blobs = _convert(header, parts, started)
        else:
            answer = {"refused": decoding.UNREADABLE}
    except decoding.Refused as refusal:
        answer, blobs = {"refused": refusal.reason}, []
    except MemoryError:
        # Out of address space: qpdf's bad_alloc and Pillow's failed allocations end here.
        answer, blobs = {"refused": decoding.TOO_LARGE}, []
    except Exception:
        # The child's boundary: any other failure means a damaged file, not a crash report.
        traceback.print_exc(limit=5)
        answer, blobs = {"refused": decoding.UNREADABLE}, []
    stdout.write(json.dumps(answer).encode() + b"\n")
    for blob in blobs:
        stdout.write(blob)
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
