"""The key material of a backup, kept apart from the data (ADR 0083).

Written to its own folder (0700, files 0600): `keys.env`, the settings a restored instance
needs to read what the backup holds (SECRET_KEY, DOCUMENT_MASTER_KEYS and the seal's
settings), and `files/`, copies of the seal files those settings name (PKCS#12, trust roots,
chain). The data backup holds only fingerprints, so a restore can tell whether the instance
it runs in has the right keys before it changes anything.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shlex
from pathlib import Path
from typing import TypedDict

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sprechstunde.documents.storage_crypto import master_keys

from .errors import BackupError

KEYS_ENV = "keys.env"
# Settings holding secrets a restored instance needs, and settings naming files to copy.
_SECRET_SETTINGS = ("SECRET_KEY", "DOCUMENT_MASTER_KEYS", "SEAL_PKCS12_PASSPHRASE")
_PLAIN_SETTINGS = ("SEAL_KEY_SOURCE", "SEAL_DEFAULT_LEVEL")
_FILE_SETTINGS = ("SEAL_PKCS12_PATH", "SEAL_TRUST_ROOTS", "SEAL_CERT_CHAIN")


def fingerprint(secret: bytes | str) -> str:
    """A short, one-way name for a secret: tells two keys apart, reveals nothing of them."""
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hashlib.sha256(b"sprechstunde-backup-fingerprint\x00" + raw).hexdigest()[:32]


class Fingerprints(TypedDict):
    """As stored in the manifest: SECRET_KEY's, and each document master key's by id."""

    secret_key: str
    document_master_keys: dict[str, str]


def configured_fingerprints() -> Fingerprints:
    """Fingerprints of this instance's SECRET_KEY and of each document master key, by id."""
    try:
        keys = master_keys()
    except ImproperlyConfigured as error:
        raise BackupError(str(error)) from error
    return {
        "secret_key": fingerprint(settings.SECRET_KEY),
        "document_master_keys": {key_id: fingerprint(key) for key_id, key in keys.keys.items()},
    }


def _document_master_keys_value() -> str:
    keys = master_keys()
    ordered = [keys.active_id] + [key_id for key_id in keys.keys if key_id != keys.active_id]
    return ",".join(
        f"{key_id}:{base64.b64encode(keys.keys[key_id]).decode('ascii')}" for key_id in ordered
    )


def _private_file(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def keys_write(*, directory: Path, data_directory: Path) -> list[str]:
    """Write the key material into `directory` (new or empty, outside the data backup).
    Returns the names of the settings written."""
    directory = directory.resolve()
    data_directory = data_directory.resolve()
    if directory == data_directory or directory.is_relative_to(data_directory):
        raise BackupError(
            "The key material must not go into the data backup: choose a --keys folder "
            "outside the backup folder (and store it somewhere else)."
        )
    if data_directory.is_relative_to(directory):
        raise BackupError("The backup folder must not lie inside the --keys folder.")
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"The keys folder {directory} is not empty.")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    lines = [
        "# Sprechstunde key material of one backup. Keep it apart from the data backup,",
        "# readable only by the operator; without it the backup's documents are lost.",
        "# Load it into the environment of the restored instance (e.g. systemd",
        "# EnvironmentFile, or: set -a; . ./keys.env; set +a). Paths below point at copies",
        "# in files/ next to this file: move them where the instance expects them.",
    ]
    written: list[str] = []
    values: dict[str, str] = {
        "SECRET_KEY": str(settings.SECRET_KEY),
        "DOCUMENT_MASTER_KEYS": _document_master_keys_value(),
    }
    for name in (*_SECRET_SETTINGS, *_PLAIN_SETTINGS):
        values.setdefault(name, str(getattr(settings, name, "") or ""))
    files_dir = directory / "files"
    for name in _FILE_SETTINGS:
        paths = [item.strip() for item in str(getattr(settings, name, "") or "").split(",")]
        copies: list[str] = []
        for index, item in enumerate(path for path in paths if path):
            source = Path(item)
            if not source.is_file():
                raise BackupError(f"{name} names {item}, which is not a readable file.")
            files_dir.mkdir(mode=0o700, exist_ok=True)
            copy = files_dir / f"{name.lower()}-{index + 1}{source.suffix}"
            _private_file(copy, source.read_bytes())
            copies.append(str(copy))
        if copies:
            values[name] = ",".join(copies)
    for name, value in values.items():
        if value:
            lines.append(f"{name}={shlex.quote(value)}")
            written.append(name)
    _private_file(directory / KEYS_ENV, ("\n".join(lines) + "\n").encode("utf-8"))
    return written


def keys_check(*, expected: dict[str, object], key_ids_in_use: list[str]) -> None:
    """Refuse a restore into an instance without the backup's keys: every master key that
    wraps a data key in the backup must be configured with the same value, and SECRET_KEY
    must be the same (it keys the client-number search and confirmation links)."""
    configured = configured_fingerprints()
    problems: list[str] = []
    wanted = expected.get("document_master_keys")
    wanted_keys = wanted if isinstance(wanted, dict) else {}
    have_keys = configured["document_master_keys"]
    for key_id in key_ids_in_use:
        if key_id not in have_keys:
            problems.append(f"the document master key {key_id!r} is not configured")
        elif wanted_keys.get(key_id) != have_keys[key_id]:
            problems.append(f"the document master key {key_id!r} differs from the backup's")
    if expected.get("secret_key") != configured["secret_key"]:
        problems.append("SECRET_KEY differs from the backup's")
    if problems:
        raise BackupError(
            "This instance does not have the backup's keys: "
            + "; ".join(problems)
            + ". Load the backup's keys.env into the environment and run the restore again."
        )
