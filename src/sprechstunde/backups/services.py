"""Make a backup of one instance and restore it into an empty one (ADR 0083).

A backup is a folder: the database snapshot (`database.pgdump` or `database.sqlite3`), the
documents storage's blobs as stored (encrypted) under `blobs/`, their checksums in
`blobs.sha256` (`sha256sum -c` can check them) and `manifest.json`, written last. The key
material goes to a second folder of its own (see keys.py), never into this one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import django
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from sprechstunde.audit.services import audit_record
from sprechstunde.documents.storage_crypto import storage

from .blobs import blob_copy_in, blob_copy_out, blob_names, file_sha256, safe_name
from .database import database_dump, database_is_empty, database_restore, engine_of
from .errors import BackupError
from .keys import configured_fingerprints, keys_check, keys_write

FORMAT = "sprechstunde-backup/1"
MANIFEST = "manifest.json"
BLOB_LIST = "blobs.sha256"
BLOB_DIR = "blobs"


@dataclass
class BackupSummary:
    """What `backup_create` wrote (for the command's report and the tests)."""

    directory: Path
    keys_directory: Path
    manifest: dict[str, Any]


@dataclass
class RestoreSummary:
    """What `backup_restore` restored, and the migrations the code has beyond the backup."""

    manifest: dict[str, Any]
    blob_count: int
    pending_migrations: list[str] = field(default_factory=list)


def app_version() -> str:
    try:
        return metadata.version("sprechstunde")
    except metadata.PackageNotFoundError:
        return "unknown"


def _empty_or_absent(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"The {what} {path} exists and is not an empty folder.")


def backup_create(
    *,
    directory: Path,
    keys_directory: Path,
    allow_missing_blobs: bool = False,
    using: str = "default",
) -> BackupSummary:
    """Back up the database (one snapshot), then every blob of the documents storage, then
    the key material into `keys_directory`. Blobs are copied after the snapshot, so every
    blob a row of the snapshot names exists (rows are written after their blobs); a blob
    deleted in between (retention) is reported and fails the backup unless allowed."""
    directory = directory.absolute()
    keys_directory = keys_directory.absolute()
    _empty_or_absent(directory, "backup folder")
    _empty_or_absent(keys_directory, "keys folder")
    data, keys = directory.resolve(), keys_directory.resolve()
    if data == keys or keys.is_relative_to(data) or data.is_relative_to(keys):
        raise BackupError(
            "The key material must not go into the data backup: choose a --keys folder "
            "outside the backup folder (and store it somewhere else)."
        )
    created = [path for path in (directory, keys_directory) if not path.exists()]
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    try:
        summary = _backup_into(directory, keys_directory, allow_missing_blobs, using)
    except BaseException:
        # Nothing half-written stays behind that could be taken for a backup.
        for folder in (directory, keys_directory):
            if folder in created:
                shutil.rmtree(folder, ignore_errors=True)
            elif folder.exists():
                for child in folder.iterdir():
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    audit_record(actor=None, action="backup.create")
    return summary


def _backup_into(
    directory: Path, keys_directory: Path, allow_missing_blobs: bool, using: str
) -> BackupSummary:
    started_at = timezone.now()
    snapshot = database_dump(directory=directory, using=using)
    store = storage()
    lines: list[str] = []
    copied: set[str] = set()
    total = 0
    for name in blob_names(store):
        try:
            digest, size = blob_copy_out(store, name, directory / BLOB_DIR / safe_name(name))
        except FileNotFoundError:
            continue  # deleted between listing and copying; judged below like any absent one
        lines.append(f"{digest}  {BLOB_DIR}/{name}\n")
        copied.add(name)
        total += size
    (directory / BLOB_LIST).write_text("".join(lines), encoding="utf-8")
    missing = sorted(snapshot.referenced_blobs - copied)
    if missing and not allow_missing_blobs:
        raise BackupError(
            f"{len(missing)} blob(s) named by the database are missing from the documents "
            "storage (deleted while the backup ran, or lost before). Run the backup again; "
            "if this persists, run backup_check on this instance, and back up with "
            "--allow-missing-blobs to keep a backup that records them."
        )
    fingerprints = configured_fingerprints()
    unknown = sorted(snapshot.key_ids - set(fingerprints["document_master_keys"]))
    if unknown:
        raise BackupError(
            f"Documents are wrapped by master key(s) {', '.join(unknown)}, which are not "
            "configured: the backup could not be read. Configure DOCUMENT_MASTER_KEYS first."
        )
    key_settings = keys_write(directory=keys_directory, data_directory=directory)
    database_file = directory / snapshot.file_name
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": started_at.isoformat(),
        "app_version": app_version(),
        "django_version": django.get_version(),
        "database": {
            "engine": snapshot.engine,
            "file": snapshot.file_name,
            "sha256": file_sha256(database_file),
            "size": database_file.stat().st_size,
        },
        "migrations": [f"{app}.{name}" for app, name in snapshot.migrations],
        # Pass to `audit_verify --expect` after a restore: the trail reaches at least here.
        "audit_head": snapshot.audit_head,
        "blobs": {
            "list": BLOB_LIST,
            "list_sha256": file_sha256(directory / BLOB_LIST),
            "count": len(copied),
            "bytes": total,
            "referenced": len(snapshot.referenced_blobs),
            "missing": missing,
        },
        "keys": {
            "settings": key_settings,
            "key_ids_in_use": sorted(snapshot.key_ids),
            "fingerprints": fingerprints,
        },
    }
    manifest_path = directory / MANIFEST
    partial = directory / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    partial.rename(manifest_path)
    return BackupSummary(directory=directory, keys_directory=keys_directory, manifest=manifest)


def manifest_read(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise BackupError(
            f"{directory} holds no {MANIFEST}: not a backup, or one that did not finish."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackupError(f"{path} is damaged: {error}.") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a backup manifest of the format {FORMAT}.")
    return manifest


def backup_verify(directory: Path, manifest: dict[str, Any]) -> list[tuple[str, Path]]:
    """Check the database file and every blob against the manifest's checksums; returns
    (storage name, file) of each blob. Raises BackupError at the first mismatch."""
    database = manifest["database"]
    database_file = directory / safe_name(str(database["file"]))
    if not database_file.is_file() or file_sha256(database_file) != database["sha256"]:
        raise BackupError(f"{database_file} is missing or does not match the manifest.")
    list_file = directory / BLOB_LIST
    if not list_file.is_file() or file_sha256(list_file) != manifest["blobs"]["list_sha256"]:
        raise BackupError(f"{list_file} is missing or does not match the manifest.")
    blobs: list[tuple[str, Path]] = []
    for line in list_file.read_text(encoding="utf-8").splitlines():
        digest, _sep, relative = line.partition("  ")
        prefix = f"{BLOB_DIR}/"
        if not relative.startswith(prefix):
            raise BackupError(f"{list_file} has a malformed line: {line[:80]!r}.")
        name = safe_name(relative[len(prefix) :])
        path = directory / BLOB_DIR / name
        if not path.is_file() or file_sha256(path) != digest:
            raise BackupError(f"The blob {relative} is missing or does not match its checksum.")
        blobs.append((name, path))
    if len(blobs) != manifest["blobs"]["count"]:
        raise BackupError(f"{list_file} does not list the {manifest['blobs']['count']} blobs.")
    return blobs


def _migration_gap(manifest: dict[str, Any], using: str) -> list[str]:
    """Migrations this code has that the backup lacks. Raises when the backup has ones the
    code does not know (a backup of a newer version)."""
    loader = MigrationLoader(connections[using], ignore_no_migrations=True, load=True)
    known = {f"{app}.{name}" for app, name in loader.disk_migrations}
    in_backup = set(manifest["migrations"])
    unknown = sorted(in_backup - known)
    if unknown:
        raise BackupError(
            f"The backup was made by a newer version ({manifest.get('app_version')}); this "
            f"code does not know its migrations {', '.join(unknown[:5])}. Install that "
            "version (or a later one) and restore again."
        )
    return sorted(known - in_backup)


def backup_restore(
    *, directory: Path, force: bool = False, using: str = "default"
) -> RestoreSummary:
    """Restore a backup into this instance's database and documents storage. Checks the
    backup's checksums, the code version, the keys and that the targets are empty before it
    changes anything; `force` replaces what a non-empty database or storage holds."""
    directory = directory.absolute()
    manifest = manifest_read(directory)
    blobs = backup_verify(directory, manifest)
    engine = engine_of(using)
    if manifest["database"]["engine"] != engine:
        raise BackupError(
            f"The backup holds a {manifest['database']['engine']} database, but this instance "
            f"is configured for {engine}. Restore into the same kind of database."
        )
    pending = _migration_gap(manifest, using)
    keys_check(
        expected=manifest["keys"]["fingerprints"],
        key_ids_in_use=list(manifest["keys"]["key_ids_in_use"]),
    )
    store = storage()
    if not force:
        if not database_is_empty(using=using):
            raise BackupError(
                "The target database is not empty. Restore into a new, empty database, or "
                "pass --force to replace everything in it."
            )
        if next(blob_names(store), None) is not None:
            raise BackupError(
                "The documents storage is not empty. Restore into an empty folder or bucket, "
                "or pass --force to overwrite the blobs of the same name."
            )
    database = manifest["database"]
    database_restore(
        path=directory / database["file"], engine=database["engine"], using=using, force=force
    )
    try:
        for name, path in blobs:
            blob_copy_in(store, name, path, replace=force)
    except (BackupError, OSError) as error:
        raise BackupError(
            f"The database was restored, but copying the blobs stopped: {error}. Fix the "
            "cause and run the restore again with --force."
        ) from error
    if not pending:
        audit_record(actor=None, action="backup.restore")
    return RestoreSummary(manifest=manifest, blob_count=len(blobs), pending_migrations=pending)
