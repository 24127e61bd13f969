"""Encryption at rest: AES-256-GCM with a random data key per document, wrapped by a
master key from the environment (`DOCUMENT_MASTER_KEYS`), stored through Django's storage
API (the "documents" alias): a local folder, or an S3 bucket (DOCUMENT_S3_BUCKET, ADR 0080).
An unreachable or failing object store surfaces as StorageUnavailable (an OSError).

Blob layout: b"SPD1" + 12-byte nonce + ciphertext-with-tag. The storage name is bound into
the tag (associated data), so a blob copied over another one fails to decrypt as well.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

logger = logging.getLogger(__name__)

STORAGE_ALIAS = "documents"
_MAGIC = b"SPD1"
_NONCE_BYTES = 12
_KEY_BYTES = 32
_KEY_FILE_NAME = "document-master-keys"
_key_file_lock = threading.Lock()


class DecryptionError(Exception):
    """A blob or a wrapped key could not be authenticated: tampered, truncated or wrong key."""


class StorageUnavailable(OSError):
    """The object storage did not answer or refused the request (down, full, wrong keys)."""


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn the errors of an object store (boto3) into StorageUnavailable; a missing object
    into FileNotFoundError, as the local folder raises it."""
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in {"NoSuchKey", "404", "NotFound"} or status == 404:
            raise FileNotFoundError("The stored object does not exist.") from error
        raise StorageUnavailable(f"The object storage refused the request ({code}).") from error
    except BotoCoreError as error:
        raise StorageUnavailable("The object storage is not reachable.") from error


@dataclass(frozen=True)
class MasterKeys:
    """The active key id (wraps new data keys) and every known key by id (for unwrapping)."""

    active_id: str
    keys: dict[str, bytes]


def parse_master_keys(value: str) -> MasterKeys:
    """Parse "id:base64,id2:base64" (the first is active). Raises ImproperlyConfigured."""
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id or len(key_id) > 40 or not key_id.replace("-", "").isalnum():
            raise ImproperlyConfigured(
                "DOCUMENT_MASTER_KEYS: each entry must be 'key-id:base64-key' "
                "(key ids: letters, digits and '-')."
            )
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as error:
            raise ImproperlyConfigured(
                f"DOCUMENT_MASTER_KEYS: the key '{key_id}' is not valid base64."
            ) from error
        if len(raw) != _KEY_BYTES:
            raise ImproperlyConfigured(
                f"DOCUMENT_MASTER_KEYS: the key '{key_id}' must be 32 bytes (AES-256)."
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"DOCUMENT_MASTER_KEYS: the key id '{key_id}' is repeated.")
        keys[key_id] = raw
        order.append(key_id)
    if not order:
        raise ImproperlyConfigured("DOCUMENT_MASTER_KEYS holds no key.")
    return MasterKeys(active_id=order[0], keys=keys)


def new_master_key_entry(key_id: str) -> str:
    """A fresh "id:base64" entry for DOCUMENT_MASTER_KEYS (used by the rotation docs/tests)."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode('ascii')}"


def _embedded_key_file_value() -> str:
    """Development (DEBUG) without DOCUMENT_MASTER_KEYS: one key kept in a 0600 file in
    VAR_DIR, made on first use, so that `make run` works and restarts can still read old
    documents. Without DEBUG the settings refuse to start; this is the second lock."""
    if not settings.DEBUG:
        raise ImproperlyConfigured(
            "DOCUMENT_MASTER_KEYS is not set; a local key file is only made with DEBUG=true."
        )
    path = Path(settings.VAR_DIR) / _KEY_FILE_NAME
    with _key_file_lock:
        if not path.exists():
            entry = new_master_key_entry("local-1")
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(entry + "\n")
            logger.warning(
                "DOCUMENT_MASTER_KEYS is not set: made a local master key in %s. "
                "Set DOCUMENT_MASTER_KEYS in production (see docs/operations.md).",
                path,
            )
        return path.read_text(encoding="ascii").strip()


def master_keys() -> MasterKeys:
    """The configured master keys (read on each call, so tests can override settings)."""
    value = getattr(settings, "DOCUMENT_MASTER_KEYS", "") or _embedded_key_file_value()
    return parse_master_keys(value)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_key(data_key: bytes, *, keys: MasterKeys | None = None) -> tuple[bytes, str]:
    """Wrap a data key with the active master key; returns (wrapped, key id)."""
    keys = keys or master_keys()
    nonce = secrets.token_bytes(_NONCE_BYTES)
    aad = b"sprechstunde-data-key:" + keys.active_id.encode("ascii")
    wrapped = nonce + AESGCM(keys.keys[keys.active_id]).encrypt(nonce, data_key, aad)
    return wrapped, keys.active_id


def unwrap_key(wrapped: bytes, key_id: str, *, keys: MasterKeys | None = None) -> bytes:
    """The data key from its wrapped form. Raises DecryptionError (also for an unknown id)."""
    keys = keys or master_keys()
    master = keys.keys.get(key_id)
    if master is None or len(wrapped) <= _NONCE_BYTES:
        raise DecryptionError(f"No master key with id {key_id!r} is configured.")
    aad = b"sprechstunde-data-key:" + key_id.encode("ascii")
    try:
        return AESGCM(master).decrypt(wrapped[:_NONCE_BYTES], bytes(wrapped[_NONCE_BYTES:]), aad)
    except InvalidTag as error:
        raise DecryptionError("The data key could not be unwrapped.") from error


def storage() -> Storage:
    return storages[STORAGE_ALIAS]


def new_storage_name(kind: str) -> str:
    """A random storage name that says nothing about the client or the file."""
    token = secrets.token_hex(16)
    return f"{kind}/{token[:2]}/{token}.bin"


def encrypt_bytes(plaintext: bytes, *, data_key: bytes, name: str) -> bytes:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return _MAGIC + nonce + AESGCM(data_key).encrypt(nonce, plaintext, name.encode("utf-8"))


def decrypt_bytes(blob: bytes, *, data_key: bytes, name: str) -> bytes:
    head = len(_MAGIC) + _NONCE_BYTES
    if len(blob) <= head or not blob.startswith(_MAGIC):
        raise DecryptionError("Not an encrypted document blob.")
    try:
        return AESGCM(data_key).decrypt(blob[len(_MAGIC) : head], blob[head:], name.encode("utf-8"))
    except InvalidTag as error:
        raise DecryptionError("The blob was changed or belongs elsewhere.") from error


def blob_write(plaintext: bytes, *, data_key: bytes, kind: str) -> str:
    """Encrypt and store; returns the storage name."""
    name = new_storage_name(kind)
    try:
        with storage_errors():
            saved = storage().save(
                name, ContentFile(encrypt_bytes(plaintext, data_key=data_key, name=name))
            )
            if saved != name:  # pragma: no cover - random names do not collide
                storage().delete(saved)
                raise RuntimeError("Storage renamed a document blob.")
    except StorageUnavailable:
        raise
    except OSError:
        # A local disk that filled up mid-write leaves the part written so far: remove it.
        with suppress(OSError):
            storage().delete(name)
        raise
    return name


def blob_read(name: str, *, data_key: bytes) -> bytes:
    """Read and decrypt a stored blob. Raises DecryptionError when it was tampered with."""
    with storage_errors(), storage().open(name, "rb") as handle:
        blob = handle.read()
    return decrypt_bytes(blob, data_key=data_key, name=name)


def blob_delete(name: str) -> None:
    if name:
        with storage_errors():
            storage().delete(name)
