"""Documents: the time from upload to "ready" for 10 phone photos of 3-4 MB each, through the
real pipeline, beside baselines measured in the same run.

Usage:
    .venv/bin/python bench/documents_upload.py [--photos 10] [--runs 3]

The photos are generated: 4000 x 3000 JPEGs with sensor-like noise (so they are as large as
real camera photos, 3-4 MB), some stored sideways with an EXIF orientation. A real clamd is
started as in the tests (sprechstunde.documents.testing: EICAR-only signature database, so
the scan time is clamd's stream handling, not a full signature set). SQLite in a temporary
folder, tasks run at once (the test settings), so "ready" is the end of one call chain.
DOCUMENT_MAX_BYTES is raised to 64 MB: ten such photos exceed the default 20 MB per document.

What is timed, for the same photos:

* baseline "copy + SHA-256": the bytes written to disk and hashed once, the floor of
  receiving them;
* baseline "clamd alone": every photo sent to clamd with zINSTREAM;
* baseline "conversion alone": the photos turned into one PDF (Pillow, upright, 2000 px),
  in this process;
* "decoding child": the fixed cost of the limited child process (ADR 0043), the upload
  check of one small photo;
* pipeline: each photo sent as a resumable upload in 512 KB chunks
  (`upload_session_create`, `upload_chunk_append`), then `document_upload_complete`, which
  checks, encrypts, stores and runs `document_process` (clamd, PDF, WebP previews,
  encryption) until the document is READY. Stages are timed by wrapping the module
  functions the pipeline calls.

Prints the median of the runs; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

CHUNK = 512 * 1024
MAX_BYTES = 64 * 1024 * 1024
BANDS = [(200, 30, 30), (30, 150, 40), (30, 60, 200), (200, 160, 20), (120, 40, 160)]
ORIENTATIONS = [1, 6, 1, 8, 1, 3, 1, 6, 1, 1]


def make_photos(count: int) -> list[bytes]:
    from sprechstunde.documents.testing import photo_jpeg

    photos = []
    for index in range(count):
        photos.append(
            photo_jpeg(
                size=(3000, 4000),
                band=BANDS[index % len(BANDS)],
                orientation=ORIENTATIONS[index % len(ORIENTATIONS)],
                grain=0.13,
                quality=90,
            )
        )
    return photos


class StageTimes:
    """Seconds spent in the wrapped functions during one run, by stage name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, module: Any, name: str, stage: str) -> Callable[[], None]:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started

        setattr(module, name, timed)
        return lambda: setattr(module, name, original)


@contextmanager
def stages_timed() -> Iterator[StageTimes]:
    from sprechstunde.documents import (
        file_checks,
        isolation,
        services,
        storage_crypto,
        virus_scan,
    )

    times = StageTimes()
    # Since ADR 0043 the decoding runs in a child process: its stages are timed as a whole.
    undo = [
        times.wrap(file_checks, "check_batch", "file checks (child: headers, PDF streams)"),
        times.wrap(virus_scan, "scan_bytes", "clamd scan"),
        times.wrap(isolation, "isolated_convert", "child: photos to PDF + previews"),
        times.wrap(storage_crypto, "blob_write", "encrypt + store"),
        times.wrap(storage_crypto, "blob_read", "read + decrypt"),
        times.wrap(services, "upload_chunk_append", "chunks received (fsync)"),
    ]
    try:
        yield times
    finally:
        for step in reversed(undo):
            step()


def baseline_copy(photos: list[bytes], folder: Path) -> float:
    started = time.perf_counter()
    digest = hashlib.sha256()
    for index, data in enumerate(photos):
        path = folder / f"copy-{index}.jpg"
        with path.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        digest.update(path.read_bytes())
        path.unlink()
    return time.perf_counter() - started


def baseline_clamd(photos: list[bytes]) -> float:
    from sprechstunde.documents import virus_scan

    started = time.perf_counter()
    for data in photos:
        assert virus_scan.scan_bytes(data).is_clean
    return time.perf_counter() - started


def baseline_conversion(photos: list[bytes]) -> float:
    from sprechstunde.documents import conversion

    started = time.perf_counter()
    conversion.images_to_pdf(photos)
    return time.perf_counter() - started


def child_round_trip(runs: int = 5) -> float:
    """The fixed cost of the decoding child: the upload check of one small photo (start the
    interpreter, import Pillow and pikepdf lazily, answer), median seconds."""
    from sprechstunde.documents import isolation
    from sprechstunde.documents.factories import jpeg_bytes

    photo = jpeg_bytes(400, 300)
    limits = isolation.DecodeLimits.for_document()
    seconds = []
    for _run in range(runs):
        started = time.perf_counter()
        isolation.isolated_check([("image/jpeg", photo)], limits=limits)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def pipeline(photos: list[bytes], client: Any) -> tuple[float, dict[str, float], Any]:
    from sprechstunde.documents import services
    from sprechstunde.documents.choices import DocumentStatus

    user = client.user
    with stages_timed() as times:
        started = time.perf_counter()
        ids = []
        for position, data in enumerate(photos):
            session = services.upload_session_create(
                owner=user,
                client=client,
                original_name=f"foto-{position + 1}.jpg",
                expected_size=len(data),
                batch="bench",
                position=position,
            )
            for offset in range(0, len(data), CHUNK):
                services.upload_chunk_append(
                    session=session,
                    offset=offset,
                    stream=io.BytesIO(data[offset : offset + CHUNK]),
                )
            ids.append(session.pk)
        document = services.document_upload_complete(
            uploader=user, client=client, session_ids=ids, title="Bench"
        )
        elapsed = time.perf_counter() - started
    document.refresh_from_db()
    if document.status != DocumentStatus.READY:
        raise RuntimeError(f"the document ended as {document.status}, not ready")
    return elapsed, dict(times.seconds), document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    logging.getLogger("django_tasks").setLevel(logging.WARNING)
    logging.getLogger("pikepdf").setLevel(logging.WARNING)
    from django.conf import settings
    from django.db import connection
    from django.test.utils import (
        override_settings,
        setup_test_environment,
        teardown_test_environment,
    )

    from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory
    from sprechstunde.documents.models import Document
    from sprechstunde.documents.storage_crypto import new_master_key_entry
    from sprechstunde.documents.testing import Clamd
    from sprechstunde.messaging.factories import portal_client_create

    folder = Path(tempfile.mkdtemp(prefix="sprechstunde-documents-bench-"))
    python = platform.python_version()
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {python}")
    print(f"Generating {args.photos} photos (4000 x 3000, JPEG q90 with noise) ...", flush=True)
    photos = make_photos(args.photos)
    sizes = [len(photo) / 1e6 for photo in photos]
    total_mb = sum(sizes)
    print(f"Photo sizes: {min(sizes):.1f}-{max(sizes):.1f} MB, {total_mb:.1f} MB in all")

    clamd = Clamd(folder / "clamd")
    clamd.folder.mkdir()
    clamd.start()
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with override_settings(
            CLAMD_SOCKET=clamd.socket,
            CLAMD_HOST="",
            DOCUMENT_MASTER_KEYS=new_master_key_entry("bench-1"),
            DOCUMENT_UPLOAD_DIR=folder / "uploads",
            DOCUMENT_UPLOAD_CHUNK_BYTES=CHUNK,
            # 10 photos of 3-4 MB exceed the default 20 MB per document (see docs/benchmarks.md).
            DOCUMENT_MAX_BYTES=MAX_BYTES,
            STORAGES={
                **settings.STORAGES,
                "documents": {
                    "BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(folder / "documents")},
                },
            },
        ):
            client = portal_client_create(
                case_manager=CaseManagerFactory(team=TeamFactory(name="Bench")),
                email="bench@example.org",
                first_name="Bench",
            )
            runs: dict[str, list[float]] = defaultdict(list)
            stage_runs: dict[str, list[float]] = defaultdict(list)
            page_counts = []
            for _run in range(args.runs):
                runs["copy + SHA-256"].append(baseline_copy(photos, folder))
                runs["clamd alone"].append(baseline_clamd(photos))
                runs["conversion alone"].append(baseline_conversion(photos))
                runs["decoding child: start + check of one small photo"].append(child_round_trip())
                elapsed, stages, document = pipeline(photos, client)
                runs["pipeline: upload to ready"].append(elapsed)
                for name, seconds in stages.items():
                    stage_runs[name].append(seconds)
                page_counts.append(document.previews.count())
                Document.objects.all().delete()
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
        clamd.stop()

    print(f"\nMedian of {args.runs} runs, {args.photos} photos ({total_mb:.1f} MB):\n")
    print("| what | seconds | MB/s |")
    print("|---|---:|---:|")
    for name, values in runs.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {total_mb / median:.1f} |")
    print("\nPipeline stages (median seconds; nested calls counted where they run):\n")
    print("| stage | seconds |")
    print("|---|---:|")
    for name, values in sorted(stage_runs.items(), key=lambda item: -statistics.median(item[1])):
        print(f"| {name} | {statistics.median(values):.2f} |")
    print(f"\nPages per document: {page_counts[0]}")


if __name__ == "__main__":
    main()
