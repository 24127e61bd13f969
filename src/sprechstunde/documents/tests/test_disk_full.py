"""A full disk under uploads and documents (fault suite, issue 16): a real, small tmpfs that
the test mounts and fills. The upload is refused with a clear message in the user's language
(507), its offset does not move, nothing half-stored remains, and once there is room again
the same upload goes on and becomes a document."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse

from sprechstunde.documents.choices import DocumentStatus
from sprechstunde.documents.models import Document, UploadSession
from sprechstunde.documents.testing import photo_jpeg

from .conftest import browser_for, stored_files
from .test_views import put_chunk, start_session

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 64 * 1024
# What "no room" reads like in the languages of these tests (locale/<lang>/django.po).
NO_ROOM = {
    "uk": "Зараз немає місця, щоб зберегти ваш файл",
    "ru": "Сейчас нет места, чтобы сохранить ваш файл",
}


class SmallDisk:
    """A tmpfs of `size` bytes mounted on `mount_point`; `fill()` leaves only `leave` bytes
    free (a filler file outside the folders the app uses), `make_room()` removes it."""

    def __init__(self, mount_point: Path, size: int) -> None:
        self.mount_point = mount_point
        mount_point.mkdir(parents=True)
        # Real mount: the test process runs as root in CI (and in the dev container).
        subprocess.run(
            ["/usr/bin/mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", mount_point],
            check=True,
            capture_output=True,
        )
        self.filler = mount_point / "filler"

    def free_bytes(self) -> int:
        stats = os.statvfs(self.mount_point)
        return stats.f_bavail * stats.f_frsize

    def fill(self, *, leave: int) -> None:
        with self.filler.open("ab") as handle:
            handle.write(b"\0" * (self.free_bytes() - leave))
        assert self.free_bytes() <= leave

    def make_room(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        subprocess.run(
            ["/usr/bin/umount", "--lazy", self.mount_point], check=True, capture_output=True
        )


@pytest.fixture
def small_disk(tmp_path) -> Iterator[SmallDisk]:
    disk = SmallDisk(tmp_path / "small-disk", size=2 * 1024 * 1024)
    try:
        yield disk
    finally:
        disk.unmount()


def client_speaking(portal_client, language: str):
    portal_client.user.preferred_language = language
    portal_client.user.save(update_fields=["preferred_language"])
    return browser_for(portal_client.user)


def test_a_chunk_refused_for_a_full_upload_disk_leaves_the_upload_where_it_stood(
    portal_client, documents_configured, small_disk
):
    uploads = small_disk.mount_point / "uploads"
    documents_configured.DOCUMENT_UPLOAD_DIR = uploads
    documents_configured.DOCUMENT_UPLOAD_PARTS = "local"
    documents_configured.DOCUMENT_UPLOAD_CHUNK_BYTES = CHUNK
    browser = client_speaking(portal_client, "uk")
    data = photo_jpeg(size=(900, 700), band=(20, 60, 160), grain=0.4)
    assert len(data) > 3 * CHUNK
    session = start_session(browser, data)
    assert put_chunk(browser, session["url"], 0, data[:CHUNK]).status_code == 200

    # The disk fills up: less room than a chunk is left, so the write stops part-way.
    small_disk.fill(leave=16 * 1024)
    refused = put_chunk(browser, session["url"], CHUNK, data[CHUNK : 2 * CHUNK])

    assert refused.status_code == 507
    assert NO_ROOM["uk"] in refused.json()["error"]
    assert browser.get(session["url"]).json()["offset"] == CHUNK
    assert UploadSession.objects.get(pk=session["id"]).received_size == CHUNK
    # What the failed write had put on the disk is gone again: only the stored chunk is there.
    assert (uploads / f"{session['id']}.part").read_bytes() == data[:CHUNK]

    # Room again: the same chunk is taken, the upload completes and becomes a document.
    small_disk.make_room()
    offset = CHUNK
    while offset < len(data):
        response = put_chunk(browser, session["url"], offset, data[offset : offset + CHUNK])
        assert response.status_code == 200, response.content
        offset = response.json()["offset"]
    response = browser.post(
        reverse("documents:upload"),
        {"upload_ids": [session["id"]], "title": "Mietvertrag"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 201, response.content
    assert Document.objects.get().status == DocumentStatus.READY


def test_a_document_refused_for_a_full_document_disk_leaves_nothing_behind(
    portal_client, documents_configured, small_disk, upload_dir
):
    storage = small_disk.mount_point / "documents"
    documents_configured.STORAGES = {
        **documents_configured.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(storage)},
        },
    }
    browser = client_speaking(portal_client, "ru")
    data = photo_jpeg(size=(900, 700), band=(160, 60, 20), grain=0.4)

    # Room for part of the encrypted file only: the write breaks off mid-way.
    small_disk.fill(leave=32 * 1024)
    response = browser.post(
        reverse("documents:upload"),
        {"title": "Lohnabrechnung", "files": [_named("lohn.jpg", data)]},
    )

    assert response.status_code == 507
    assert NO_ROOM["ru"] in response.content.decode()
    assert not Document.objects.exists()
    assert stored_files(storage) == []
    assert stored_files(upload_dir) == []

    small_disk.make_room()
    response = browser.post(
        reverse("documents:upload"),
        {"title": "Lohnabrechnung", "files": [_named("lohn.jpg", data)]},
    )
    assert response.status_code == 302, response.content
    assert Document.objects.get().status == DocumentStatus.READY
    assert stored_files(storage)


def _named(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")
