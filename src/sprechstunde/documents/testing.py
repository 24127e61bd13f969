"""A real clamd for the documents tests, the browser journeys and `bench/documents_upload.py`.

`Clamd` runs the Debian `clamd` binary in the foreground with its own config and socket in a
temporary folder. Its only signature is EICAR (an .ndb body signature written here), so it
starts in well under a second and needs no freshclam and no internet.

Loaded as a pytest plugin by the root conftest: the session fixture `clamd_daemon` starts one
clamd per test run, and `documents_configured` points the settings of one test (clamd socket,
storage and upload folders, a fresh master key) at it. The browser tests' live server runs in
the test process, so these settings reach it as well.

Test and bench code only: never imported by the running application.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sprechstunde.documents.factories import EICAR
from sprechstunde.documents.storage_crypto import new_master_key_entry

CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"


class Clamd:
    """A running clamd: its socket path, and stop/start for the "scanner down" tests."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = str(folder / "clamd.sock")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        database = self.folder / "db"
        database.mkdir(exist_ok=True)
        (database / "sprechstunde-test.ndb").write_text(
            f"Sprechstunde-Test-EICAR:0:*:{EICAR.hex()}\n", encoding="ascii"
        )
        config = self.folder / "clamd.conf"
        config.write_text(
            "\n".join(
                [
                    "Foreground yes",
                    f"LocalSocket {self.socket}",
                    f"DatabaseDirectory {database}",
                    f"TemporaryDirectory {self.folder}",
                    f"PidFile {self.folder / 'clamd.pid'}",
                    f"LogFile {self.folder / 'clamd.log'}",
                    "User root",
                    "StreamMaxLength 100M",
                    "",
                ]
            ),
            encoding="ascii",
        )
        Path(self.socket).unlink(missing_ok=True)
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary with our own config
            [CLAMD, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while not Path(self.socket).exists():
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"clamd did not start: {error}")
            if time.monotonic() > deadline:
                raise RuntimeError("clamd did not open its socket within 60 s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None
        Path(self.socket).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def clamd_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    """One clamd for the whole test run (started on first use)."""
    daemon = Clamd(tmp_path_factory.mktemp("clamd"))
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def documents_configured(settings: Any, tmp_path: Path, clamd_daemon: Clamd) -> Any:
    """This test's own storage and upload folders, a fresh master key and the running clamd
    (restarted if a test stopped it). Returns pytest-django's `settings`."""
    settings.DOCUMENT_MASTER_KEYS = new_master_key_entry("test-1")
    settings.DOCUMENT_UPLOAD_DIR = tmp_path / "uploads"
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    if clamd_daemon.process is None:
        clamd_daemon.start()
    settings.CLAMD_SOCKET = clamd_daemon.socket
    settings.CLAMD_HOST = ""
    return settings


# --- phone photos ------------------------------------------------------------------------------

EXIF_ORIENTATION_TAG = 0x0112
# How to store an upright picture so that a viewer applying the EXIF orientation shows it
# upright again (the inverse of what Pillow's ImageOps.exif_transpose does for each value).
_STORE_FOR_ORIENTATION = {
    1: None,
    3: "ROTATE_180",
    6: "ROTATE_90",
    8: "ROTATE_270",
}
PAPER = (235, 235, 230)


def photo_jpeg(
    *,
    size: tuple[int, int],
    band: tuple[int, int, int],
    orientation: int = 1,
    grain: float = 0.0,
    quality: int = 90,
) -> bytes:
    """A phone photo of a page: upright it is `size` (width, height), paper-coloured, with a
    band of colour `band` across its top third. The pixels are stored turned the way a camera
    held sideways or upside down stores them, with the EXIF orientation tag that turns them
    back. `grain` (0 to 1: how much random noise is blended in) makes JPEGs as large as real
    camera photos, whose sensor noise JPEG cannot compress away."""
    from PIL import Image, ImageDraw

    if orientation not in _STORE_FOR_ORIENTATION:
        raise ValueError(f"unsupported EXIF orientation {orientation}")
    width, height = size
    upright = Image.new("RGB", size, PAPER)
    ImageDraw.Draw(upright).rectangle((0, 0, width, height // 3), fill=band)
    if grain:
        noise = Image.frombytes("RGB", size, os.urandom(width * height * 3))
        upright = Image.blend(upright, noise, grain)
    turn = _STORE_FOR_ORIENTATION[orientation]
    stored = upright.transpose(getattr(Image.Transpose, turn)) if turn else upright
    exif = Image.Exif()
    exif[EXIF_ORIENTATION_TAG] = orientation
    out = io.BytesIO()
    stored.save(out, format="JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()
