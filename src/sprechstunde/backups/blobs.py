"""The documents storage part of a backup, written against Django's storage API only
(listdir, open, save, delete), so the same code copies a local folder or an S3 bucket."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from django.core.files import File
from django.core.files.storage import Storage

from .errors import BackupError

_CHUNK = 1024 * 1024


def blob_names(store: Storage, prefix: str = "") -> Iterator[str]:
    """Every file name in `store`, depth first (an absent local folder counts as empty)."""
    try:
        folders, files = store.listdir(prefix)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{prefix}/{name}" if prefix else name
    for folder in sorted(folders):
        yield from blob_names(store, f"{prefix}/{folder}" if prefix else folder)


def safe_name(name: str) -> str:
    """A relative storage name without '..', as read back from a backup's checksum list."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise BackupError(f"The backup names an unsafe file: {name!r}.")
    return name


def blob_copy_out(store: Storage, name: str, target: Path) -> tuple[str, int]:
    """Copy one blob to a local file; returns its SHA-256 and size."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with store.open(name, "rb") as source, target.open("wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def blob_copy_in(store: Storage, name: str, source: Path, *, replace: bool) -> None:
    """Store a local file under exactly `name` (an existing blob is replaced only if asked)."""
    if store.exists(name):
        if not replace:
            raise BackupError(f"The documents storage already holds {name}.")
        store.delete(name)
    with source.open("rb") as handle:
        saved = store.save(name, File(handle, name=name))
    if saved != name:
        store.delete(saved)
        raise BackupError(f"The documents storage renamed {name} to {saved}.")
