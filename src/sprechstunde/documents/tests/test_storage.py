"""Encryption at rest: no plaintext on disk, tampering detected, key rotation."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from sprechstunde.documents import selectors, services, storage_crypto
from sprechstunde.documents.factories import pdf_bytes
from sprechstunde.documents.models import Document

from .conftest import stored_files

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[4]
MARKER = "Kontonummer-DE02120300000000202051"


def make_document(client, tmp_path) -> Document:
    path = tmp_path / "in.pdf"
    path.write_bytes(pdf_bytes(1, text=MARKER))
    document = services.document_create(
        uploader=client.user,
        client=client,
        files=[services.ReceivedFile(path=path, name="in.pdf")],
    )
    document.refresh_from_db()
    return document


def test_ciphertext_on_disk_holds_no_plaintext(portal_client, case_manager, tmp_path, storage_dir):
    document = make_document(portal_client, tmp_path)
    files = stored_files(storage_dir)
    assert len(files) == 3  # original, PDF, one preview
    for path in files:
        raw = path.read_bytes()
        assert MARKER.encode() not in raw
        assert b"%PDF" not in raw
        assert raw.startswith(b"SPD1")
    # The original is kept encrypted for evidence: byte for byte as received.
    content = selectors.document_evidence_copy_for_user(user=case_manager, document=document)
    assert content.data == pdf_bytes(1, text=MARKER)


def test_tampering_is_detected(portal_client, case_manager, tmp_path, storage_dir):
    document = make_document(portal_client, tmp_path)
    path = storage_dir / document.pdf_storage_name
    raw = bytearray(path.read_bytes())
    raw[40] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(storage_crypto.DecryptionError):
        selectors.document_file_for_user(user=portal_client.user, document=document)
    # A blob moved into another document's slot fails too (its name is authenticated).
    original = storage_dir / document.original_storage_name
    original.write_bytes((storage_dir / document.previews.get().storage_name).read_bytes())
    with pytest.raises(storage_crypto.DecryptionError):
        selectors.document_evidence_copy_for_user(user=case_manager, document=document)


def test_rotation_rewraps_and_the_old_key_can_be_removed(
    portal_client, case_manager, tmp_path, settings
):
    old = settings.DOCUMENT_MASTER_KEYS
    document = make_document(portal_client, tmp_path)
    assert document.key_id == "test-1"
    new = storage_crypto.new_master_key_entry("test-2")
    settings.DOCUMENT_MASTER_KEYS = f"{new},{old}"
    # Still readable with the old key listed second.
    assert selectors.document_file_for_user(user=portal_client.user, document=document)
    call_command("documents_rotate_keys")
    document.refresh_from_db()
    assert document.key_id == "test-2"
    settings.DOCUMENT_MASTER_KEYS = new
    content = selectors.document_evidence_copy_for_user(user=case_manager, document=document)
    assert MARKER.encode() in content.data
    # Without the key that wraps it, nothing can be read.
    settings.DOCUMENT_MASTER_KEYS = storage_crypto.new_master_key_entry("test-3")
    with pytest.raises(storage_crypto.DecryptionError):
        selectors.document_file_for_user(user=portal_client.user, document=document)


@pytest.mark.parametrize("value", ["", "k1", "k1:notbase64!", "k1:AAAA", "a b:" + "A" * 44])
def test_bad_master_key_settings_are_refused(value):
    with pytest.raises(ImproperlyConfigured):
        storage_crypto.parse_master_keys(value)


def _start_django(**environment: str) -> subprocess.CompletedProcess[str]:
    """`django.setup()` with the production settings in a fresh process."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DOCUMENT_MASTER_KEYS", "DJANGO_SETTINGS_MODULE", "DEBUG"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "PYTHONPATH": str(REPO / "src"),
            "SECRET_KEY": "startup-test-only",
            **environment,
        }
    )
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_refuse_to_start_without_master_keys(tmp_path):
    refused = _start_django(DEBUG="false", SPRECHSTUNDE_VAR_DIR=str(tmp_path))
    started = _start_django(
        DEBUG="false",
        SPRECHSTUNDE_VAR_DIR=str(tmp_path),
        DOCUMENT_MASTER_KEYS=storage_crypto.new_master_key_entry("k1"),
    )

    assert refused.returncode != 0
    assert "ImproperlyConfigured: DOCUMENT_MASTER_KEYS is not set" in refused.stderr
    assert started.returncode == 0, started.stderr
    assert not (tmp_path / "document-master-keys").exists()


def test_development_settings_start_without_master_keys(tmp_path):
    started = _start_django(DEBUG="true", SPRECHSTUNDE_VAR_DIR=str(tmp_path))

    assert started.returncode == 0, started.stderr


def test_without_debug_no_local_key_file_is_made(settings, tmp_path):
    settings.DEBUG = False
    settings.DOCUMENT_MASTER_KEYS = ""
    settings.VAR_DIR = tmp_path

    with pytest.raises(ImproperlyConfigured, match="DOCUMENT_MASTER_KEYS"):
        storage_crypto.master_keys()
    assert not (tmp_path / "document-master-keys").exists()


def test_with_debug_a_local_key_file_is_made_once(settings, tmp_path):
    settings.DEBUG = True
    settings.DOCUMENT_MASTER_KEYS = ""
    settings.VAR_DIR = tmp_path

    first = storage_crypto.master_keys()
    again = storage_crypto.master_keys()

    key_file = tmp_path / "document-master-keys"
    assert first == again and first.active_id == "local-1"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
