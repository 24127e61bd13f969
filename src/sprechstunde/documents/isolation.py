"""Decoding untrusted files in a separate, limited process, so that a bomb costs a child
process and never the web process (which also runs the task worker under `make run`).

The child (`python -m sprechstunde.documents.decode_worker`) limits its own address space
(DOCUMENT_DECODE_MEMORY_MB) and CPU time; this side kills it after the wall-clock limit and
reads at most as much output as the child could hold. Files go in and results come out
through pipes, so no decrypted document touches the disk; the child gets no environment
(no secrets, no database) and no pickles come back: a JSON line and raw bytes. Whatever goes
wrong in the child (the budget, MemoryError, killed by a signal, timeout) ends as a
`DecodeRefused` with a message for the sender.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

import sprechstunde

from . import decoding
from .conversion import ConvertedPdf
from .file_checks import PDF, FileRefused
from .previews import RenderedPage

logger = logging.getLogger(__name__)

WORKER_MODULE = "sprechstunde.documents.decode_worker"
_MEGABYTE = 1024 * 1024
# What the stream filters of one PDF may unpack: 20 times the file, at least 64 MB.
UNPACKED_FACTOR = 20
UNPACKED_FLOOR = 64 * _MEGABYTE
# Time for the interpreter to start before the decoding budget starts counting.
_START_SECONDS = 5
# Settings the conversion step reads in the child: only numbers, never a key or a path.
_CHILD_SETTINGS = (
    "DOCUMENT_IMAGE_MAX_EDGE",
    "DOCUMENT_JPEG_QUALITY",
    "DOCUMENT_MAX_IMAGE_PIXELS",
    "DOCUMENT_MAX_PAGES",
    "DOCUMENT_PREVIEW_WIDTH",
)


class DecodeRefused(FileRefused):
    """The child refused the file or failed at it; `reason` is a code of `decoding`, stored
    on a refused document (Document.refusal_reason), `message` says why in the sender's
    language."""

    def __init__(self, reason: str, *, is_pdf: bool) -> None:
        super().__init__(refusal_message(reason, is_pdf=is_pdf))
        # Stored on the document, e.g. "pdf-too-large"; read back by stored_refusal_message.
        self.reason = f"{'pdf' if is_pdf else 'image'}-{reason}"


_KNOWN_REASONS = {decoding.TOO_LARGE, decoding.PIXELS, decoding.ENCRYPTED, decoding.UNREADABLE}


def stored_refusal_message(stored: str) -> str:
    """The message for a reason stored by DecodeRefused, or "" for any other reason."""
    kind, _dash, reason = stored.partition("-")
    if kind not in {"pdf", "image"} or reason not in _KNOWN_REASONS:
        return ""
    return refusal_message(reason, is_pdf=kind == "pdf")


def refusal_message(reason: str, *, is_pdf: bool) -> str:
    """The sender's reading of a reason code (the upload check's own messages)."""
    if reason == decoding.ENCRYPTED:
        return _("This PDF is protected by a password. Please send it without password protection.")
    if reason in {decoding.PIXELS, decoding.TOO_LARGE} and not is_pdf:
        return _("This image is far too large (too many pixels).")
    if reason in {decoding.PIXELS, decoding.TOO_LARGE}:
        # An image inside a PDF with too many pixels is the same bomb to the sender.
        return _("This PDF contains data that unpacks to an unreasonable size and is not accepted.")
    if is_pdf:
        return _("This PDF could not be read. It may be damaged.")
    return _("This image could not be read. It may be damaged.")


@dataclass(frozen=True)
class DecodeLimits:
    """The limits of one child: address space, CPU and wall seconds, decoded bytes in all,
    pixels per image, and pages."""

    memory_mb: int
    seconds: float
    max_bytes: int
    max_pixels: int
    max_pages: int

    @classmethod
    def for_document(cls, *, pages: int = 1) -> DecodeLimits:
        """From the settings: DOCUMENT_DECODE_SECONDS, and as much again per page for the
        conversion and previews (photos take seconds each)."""
        seconds = float(settings.DOCUMENT_DECODE_SECONDS) + float(
            settings.DOCUMENT_DECODE_SECONDS_PER_PAGE
        ) * max(1, pages)
        return cls(
            memory_mb=int(settings.DOCUMENT_DECODE_MEMORY_MB),
            seconds=seconds,
            max_bytes=int(settings.DOCUMENT_DECODE_MAX_BYTES),
            max_pixels=int(settings.DOCUMENT_MAX_IMAGE_PIXELS),
            max_pages=int(settings.DOCUMENT_MAX_PAGES),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "memory_mb": self.memory_mb,
            "seconds": self.seconds,
            "cpu_seconds": max(1, int(self.seconds + 0.999)),
            "max_bytes": self.max_bytes,
            "unpacked_factor": UNPACKED_FACTOR,
            "unpacked_floor": UNPACKED_FLOOR,
            "max_pixels": self.max_pixels,
            "max_pages": self.max_pages,
        }


def isolated_check(parts: list[tuple[str, bytes]], *, limits: DecodeLimits) -> list[int]:
    """The upload check of one document's files, (content type, bytes) each: every PDF
    stream unpacked under the budget, photo headers read. Returns the pages per file;
    raises DecodeRefused."""
    is_pdf = any(content_type == PDF for content_type, _data in parts)
    answer, _blobs = _run("check", parts, limits=limits, is_pdf=is_pdf)
    pages = answer.get("pages")
    if not isinstance(pages, list) or len(pages) != len(parts):
        raise DecodeRefused(decoding.UNREADABLE, is_pdf=is_pdf)
    return [int(count) for count in pages]


def isolated_convert(
    kind: str, parts: list[bytes], *, limits: DecodeLimits
) -> tuple[ConvertedPdf, list[RenderedPage]]:
    """The conversion step in the child: for `kind` "pdf" the received PDF rewritten, for
    "images" the photos as one PDF; then the page previews (none when the PDF has more pages
    than allowed). Raises DecodeRefused."""
    is_pdf = kind == "pdf"
    content_types = [PDF] if is_pdf else [_image_type(data) for data in parts]
    answer, blobs = _run(
        "convert", list(zip(content_types, parts, strict=True)), limits=limits, is_pdf=is_pdf
    )
    try:
        pdf = answer["pdf"]
        converted = ConvertedPdf(
            data=blobs[0],
            pages=int(pdf["pages"]),
            removed=[str(item) for item in pdf["removed"]],
            metadata={str(key): str(value) for key, value in pdf["metadata"].items()},
        )
        rendered = [
            RenderedPage(
                page_number=int(page["page_number"]),
                data=blob,
                width=int(page["width"]),
                height=int(page["height"]),
                content_type=str(page["content_type"]),
            )
            for page, blob in zip(answer["previews"], blobs[1:], strict=True)
        ]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise DecodeRefused(decoding.UNREADABLE, is_pdf=is_pdf) from error
    return converted, rendered


def _image_type(data: bytes) -> str:
    from .file_checks import sniff

    return sniff(data[:64])


def _child_command() -> list[str]:
    # -P: not the working folder on sys.path; -s: no user site-packages.
    return [sys.executable, "-P", "-s", "-m", WORKER_MODULE]


def _child_environment() -> dict[str, str]:
    """Only what Python needs to find this code: no secrets, no DJANGO_SETTINGS_MODULE."""
    source = str(Path(sprechstunde.__file__).resolve().parent.parent)
    return {"PATH": os.defpath, "PYTHONPATH": source, "LC_ALL": "C.UTF-8"}


def _run(
    job: str, parts: list[tuple[str, bytes]], *, limits: DecodeLimits, is_pdf: bool
) -> tuple[dict[str, Any], list[bytes]]:
    header = {
        "job": job,
        "limits": limits.as_json(),
        "settings": {name: int(getattr(settings, name)) for name in _CHILD_SETTINGS},
        "parts": [{"type": content_type, "size": len(data)} for content_type, data in parts],
    }
    output_cap = limits.memory_mb * _MEGABYTE
    process = subprocess.Popen(  # noqa: S603 - our own module, no shell, no outside input
        _child_command(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_environment(),
        cwd="/",
        close_fds=True,
    )
    stdout: list[bytes] = []
    stderr: list[bytes] = []
    overflow = threading.Event()
    readers = [
        threading.Thread(
            target=_collect, args=(process.stdout, output_cap, stdout, overflow, process)
        ),
        threading.Thread(target=_collect, args=(process.stderr, 64 * 1024, stderr, None, None)),
    ]
    for reader in readers:
        reader.daemon = True
        reader.start()
    timed_out = False
    try:
        _feed(process, json.dumps(header).encode() + b"\n", [data for _type, data in parts])
        process.wait(timeout=limits.seconds + _START_SECONDS)
    except subprocess.TimeoutExpired:
        timed_out = True
        process.kill()
        process.wait()
    except BaseException:
        # Interrupted here (a shutdown, a bug): the child must not outlive the request.
        process.kill()
        process.wait()
        raise
    finally:
        for reader in readers:
            reader.join()
    output = b"".join(stdout)
    stdout.clear()
    problem = ""
    if timed_out:
        problem = "timeout"
    elif overflow.is_set():
        problem = "too much output"
    elif process.returncode != 0:
        problem = f"exit {process.returncode}"
    if problem:
        errors = b"".join(stderr)[-2000:].decode(errors="replace")
        logger.info("Decoding child ended abnormally (%s): %s", problem, errors[-500:])
        # A signal (memory: SIGABRT/SIGSEGV from a failed allocation, SIGXCPU/SIGKILL for
        # time), a timeout or no memory left even to start: more than the budget. Anything
        # else that ended the interpreter says the file could not be read.
        if process.returncode > 0 and "MemoryError" not in errors:
            raise DecodeRefused(decoding.UNREADABLE, is_pdf=is_pdf)
        raise DecodeRefused(decoding.TOO_LARGE, is_pdf=is_pdf)
    line, _newline, rest = output.partition(b"\n")
    try:
        answer = json.loads(line)
    except ValueError as error:
        raise DecodeRefused(decoding.UNREADABLE, is_pdf=is_pdf) from error
    if not isinstance(answer, dict):
        raise DecodeRefused(decoding.UNREADABLE, is_pdf=is_pdf)
    if "refused" in answer:
        raise DecodeRefused(str(answer["refused"]), is_pdf=is_pdf)
    return answer, _split_blobs(answer, rest, is_pdf=is_pdf)


def _feed(process: subprocess.Popen[bytes], header: bytes, blobs: list[bytes]) -> None:
    """Write the job; a child that died early (a limit) closes the pipe, which is fine."""
    assert process.stdin is not None
    try:
        process.stdin.write(header)
        for blob in blobs:
            process.stdin.write(blob)
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass


def _collect(
    stream: IO[bytes] | None,
    cap: int,
    sink: list[bytes],
    overflow: threading.Event | None,
    process: subprocess.Popen[bytes] | None,
) -> None:
    """Read a pipe to its end, keeping at most `cap` bytes; a child that sends more than it
    could have made is killed (the rest is drained)."""
    assert stream is not None
    kept = 0
    while piece := stream.read1(1024 * 1024):  # type: ignore[attr-defined]
        if kept + len(piece) > cap:
            if overflow is not None and not overflow.is_set():
                overflow.set()
                if process is not None:
                    process.kill()
            sink.clear()
            continue
        if overflow is None or not overflow.is_set():
            sink.append(piece)
            kept += len(piece)
    stream.close()


def _split_blobs(answer: dict[str, Any], rest: bytes, *, is_pdf: bool) -> list[bytes]:
    sizes: list[int] = []
    if "pdf" in answer:
        sizes.append(int(answer["pdf"]["size"]))
        sizes += [int(page["size"]) for page in answer.get("previews", [])]
    if sum(sizes) != len(rest):
        raise DecodeRefused(decoding.UNREADABLE, is_pdf=is_pdf)
    blobs = []
    offset = 0
    for size in sizes:
        blobs.append(rest[offset : offset + size])
        offset += size
    return blobs
