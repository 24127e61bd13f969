"""Backups that restore: back up a populated instance, restore it into an empty database and
an empty documents storage in a fresh process (on SQLite a new file, on PostgreSQL a new
database made and dropped here), then audit_verify, every document decrypts and every sealed
decision validates there. Also: the keys never travel with the data, and bad input changes
nothing."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage
from django.core.management import CommandError, call_command
from django.db import connection

from sprechstunde.agreements import services as agreements
from sprechstunde.agreements.factories import DecisionTemplateFactory, portal_client
from sprechstunde.agreements.models import Decision
from sprechstunde.backups.blobs import blob_copy_in, blob_copy_out, blob_names, safe_name
from sprechstunde.backups.checks import instance_check
from sprechstunde.backups.errors import BackupError
from sprechstunde.documents import services as documents
from sprechstunde.documents.factories import pdf_bytes, png_bytes
from sprechstunde.documents.models import Document
from sprechstunde.documents.storage_crypto import new_master_key_entry, storage

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[4]
MARKER = "Kontonummer-DE02120300000000202051"
VALUES = {"antragsdatum": "2026-01-15", "betrag": "1.234,50", "begruendung": "Belegt."}


@pytest.fixture
def instance(documents_configured, seal_pki, settings, case_manager, tmp_path):
    """A populated instance: documents under two master keys (one rotated in), two sealed
    decisions, and the audit entries all that wrote. SECRET_KEY is this test's own."""
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    client = portal_client(case_manager=case_manager, email="kim@example.org")
    first = new_master_key_entry("old-1")
    settings.DOCUMENT_MASTER_KEYS = first
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    uploads = [("a.pdf", pdf_bytes(2, text=MARKER)), ("b.png", png_bytes())]
    for index, (name, data) in enumerate(uploads):
        if index == 1:  # a rotation: new documents under a new key, old ones keep theirs
            settings.DOCUMENT_MASTER_KEYS = f"{new_master_key_entry('new-2')},{first}"
        path = inbox / name
        path.write_bytes(data)
        documents.document_create(
            uploader=client.user,
            client=client,
            files=[documents.ReceivedFile(path=path, name=name)],
        )
    template = DecisionTemplateFactory()
    for _ in range(2):
        decision = agreements.decision_create(
            actor=case_manager, client=client, template=template, values=VALUES
        )
        agreements.decision_issue(actor=case_manager, decision=decision)
    assert Decision.objects.exclude(pdf=None).count() == 2
    assert sorted(Document.objects.values_list("key_id", flat=True)) == ["new-2", "old-1"]
    assert Document.objects.filter(status="ready").count() == 2
    return settings


def _load_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _sep, value = line.partition("=")
            (values[name],) = shlex.split(value)
    return values


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    """A new, empty database of the engine under test (dropped afterwards)."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    import psycopg

    name = f"restore_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    params = {
        "host": settings_dict["HOST"] or "127.0.0.1",
        "port": settings_dict["PORT"] or 5432,
        "user": settings_dict["USER"] or "postgres",
        "password": settings_dict["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        auth = params["user"] + (f":{params['password']}" if params["password"] else "")
        yield f"postgres://{auth}@{params['host']}:{params['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_backup_restores_into_an_empty_instance_and_everything_checks_out(
    instance, empty_database_url, tmp_path
):
    backup, keys = tmp_path / "backup", tmp_path / "keys"
    call_command("backup_create", to=str(backup), keys=str(keys))

    # The key material is apart from the data, readable by the operator only, and complete.
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    for path in keys.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    key_env = _load_env_file(keys / "keys.env")
    assert key_env["SECRET_KEY"] == instance.SECRET_KEY
    assert key_env["DOCUMENT_MASTER_KEYS"] == instance.DOCUMENT_MASTER_KEYS
    assert Path(key_env["SEAL_TRUST_ROOTS"]).parent == keys / "files"
    # ... and nowhere in the data backup: neither the keys nor a plaintext document.
    secrets_as_bytes = [
        instance.SECRET_KEY.encode(),
        *(entry.split(":")[1].encode() for entry in key_env["DOCUMENT_MASTER_KEYS"].split(",")),
        MARKER.encode(),
    ]
    data_files = [path for path in backup.rglob("*") if path.is_file()]
    for path in data_files:
        content = path.read_bytes()
        for secret in secrets_as_bytes:
            assert secret not in content, path
    manifest = (backup / "manifest.json").read_text()
    assert '"key_ids_in_use": [\n      "new-2",\n      "old-1"\n    ]' in manifest
    assert '"documents.0001_initial"' in manifest and '"app_version": "0.1.0"' in manifest

    restored_storage = tmp_path / "restored-documents"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SEAL_", "DOCUMENT_")) and key not in {"SECRET_KEY"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "SPRECHSTUNDE_VAR_DIR": str(tmp_path / "restored-var"),
            "DATABASE_URL": empty_database_url,
            "DOCUMENT_STORAGE_DIR": str(restored_storage),
            # The instance's own configuration (not in a backup): with a seal key, decisions
            # are enabled and the Jobcenter's address and phone are required at start.
            "JOBCENTER_ADDRESS": "Musterstraße 1\n88212 Musterstadt",
            "JOBCENTER_PHONE": "0751 123-0",
            **key_env,
        }
    )
    restored = _manage(env, "backup_restore", "--from", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "Restored the backup" in restored.stdout
    assert "migrate" not in restored.stdout  # same code: nothing pending

    head = json.loads(manifest)["audit_head"]
    assert f"audit_verify --expect {head}" in restored.stdout
    verified = _manage(env, "audit_verify", "--expect", head)
    assert verified.returncode == 0, verified.stderr
    assert "chain intact" in verified.stdout

    checked = _manage(env, "backup_check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # 2 documents: PDF (original, PDF, 2 previews) and PNG (original, PDF, 1 preview).
    assert "Documents: 2 (7 blobs decrypted)" in checked.stdout
    assert "Seals: 2." in checked.stdout
    assert sorted(p.name for p in restored_storage.rglob("*.bin")) == sorted(
        p.name for p in (backup / "blobs").rglob("*.bin")
    )

    # A second restore into the now populated instance is refused and changes nothing.
    again = _manage(env, "backup_restore", "--from", str(backup))
    assert again.returncode == 1
    assert "The target database is not empty" in again.stderr
    # Without the backup's keys the restore stops before it touches anything.
    wrong = {**env, "DOCUMENT_MASTER_KEYS": new_master_key_entry("old-1")}
    refused = _manage(wrong, "backup_restore", "--from", str(backup), "--force")
    assert refused.returncode == 1
    assert "document master key 'old-1' differs" in refused.stderr
    assert "'new-2' is not configured" in refused.stderr
    # With --force it replaces what is there, and the result checks out again.
    forced = _manage(env, "backup_restore", "--from", str(backup), "--force")
    assert forced.returncode == 0, forced.stderr
    rechecked = _manage(env, "backup_check")
    assert rechecked.returncode == 0, rechecked.stdout + rechecked.stderr
    assert "Documents: 2 (7 blobs decrypted)" in rechecked.stdout


def test_a_changed_backup_is_refused_before_anything_changes(instance, tmp_path):
    backup, keys = tmp_path / "backup", tmp_path / "keys"
    call_command("backup_create", to=str(backup), keys=str(keys))
    blob = next((backup / "blobs").rglob("*.bin"))
    blob.write_bytes(blob.read_bytes()[:-1] + b"\x00")
    before = sorted(storage().listdir("pdf")[0])
    with pytest.raises(CommandError, match="does not match its checksum"):
        call_command("backup_restore", source=str(backup), force=True)
    assert sorted(storage().listdir("pdf")[0]) == before
    assert Document.objects.count() == 2


def test_restore_refuses_a_non_empty_database_unless_forced(instance, tmp_path):
    backup, keys = tmp_path / "backup", tmp_path / "keys"
    call_command("backup_create", to=str(backup), keys=str(keys))
    with pytest.raises(CommandError, match="The target database is not empty"):
        call_command("backup_restore", source=str(backup))
    manifest_path = backup / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    other = "sqlite" if manifest["database"]["engine"] == "postgresql" else "postgresql"
    manifest["database"]["engine"] = other
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match=f"holds a {other} database, but this instance"):
        call_command("backup_restore", source=str(backup), force=True)
    assert Document.objects.count() == 2
    manifest_path.unlink()
    with pytest.raises(CommandError, match="not a backup, or one that did not finish"):
        call_command("backup_restore", source=str(backup))


def test_keys_never_go_into_the_backup_folder(instance, tmp_path):
    backup = tmp_path / "backup"
    with pytest.raises(CommandError, match="must not go into the data backup"):
        call_command("backup_create", to=str(backup), keys=str(backup / "keys"))
    assert not backup.exists()
    (backup / "old").mkdir(parents=True)
    with pytest.raises(CommandError, match="exists and is not an empty folder"):
        call_command("backup_create", to=str(backup), keys=str(tmp_path / "keys"))


def test_the_check_finds_a_damaged_blob_and_a_broken_seal(instance):
    assert instance_check().is_ok
    document = Document.objects.order_by("pk").first()
    assert document is not None
    name = document.pdf_storage_name
    with storage().open(name, "rb") as handle:
        blob = bytearray(handle.read())
    blob[-1] ^= 0x01
    storage().delete(name)
    storage().save(name, ContentFile(bytes(blob)))
    decision = Decision.objects.exclude(pdf=None).order_by("pk").first()
    assert decision is not None
    pdf = bytes(decision.pdf)
    # One byte of the binary comment on the second line: still a readable PDF, but signed.
    at = pdf.index(b"\n%") + 2
    changed = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]
    Decision.objects.filter(pk=decision.pk).update(pdf=changed)

    check = instance_check()
    assert f"document {document.pk}: blob {name} does not decrypt" in " ".join(check.problems)
    assert any(problem.startswith(f"decision {decision.pk}: seal") for problem in check.problems)
    with pytest.raises(CommandError, match="2 problem"):
        call_command("backup_check")


def test_a_blob_missing_from_the_storage_fails_the_backup_unless_allowed(instance, tmp_path):
    document = Document.objects.order_by("pk").first()
    assert document is not None
    lost = document.previews.order_by("page_number").first()
    assert lost is not None
    storage().delete(lost.storage_name)
    backup, keys = tmp_path / "backup", tmp_path / "keys"
    with pytest.raises(CommandError, match="1 blob\\(s\\) named by the database are missing"):
        call_command("backup_create", to=str(backup), keys=str(keys))
    assert not backup.exists() and not keys.exists()  # nothing half-written is left

    call_command("backup_create", to=str(backup), keys=str(keys), allow_missing_blobs=True)
    assert lost.storage_name in (backup / "manifest.json").read_text()
    check = instance_check()
    assert check.problems == [f"document {document.pk}: blob {lost.storage_name} is missing"]


def test_blobs_are_copied_through_the_storage_api_alone(tmp_path):
    """No file-system paths on the storage side: an in-memory storage works like a bucket."""
    source, target = InMemoryStorage(), InMemoryStorage()
    names = ["pdf/ab/ab12.bin", "preview/cd/cd34.bin", "top.bin"]
    for name in names:
        source.save(name, ContentFile(name.encode() * 3))
    assert sorted(blob_names(source)) == sorted(names)
    for name in names:
        blob_copy_out(source, name, tmp_path / name)
        blob_copy_in(target, name, tmp_path / name, replace=False)
    assert sorted(blob_names(target)) == sorted(names)
    assert target.open("pdf/ab/ab12.bin").read() == b"pdf/ab/ab12.bin" * 3
    with pytest.raises(BackupError, match="already holds"):
        blob_copy_in(target, names[0], tmp_path / names[0], replace=False)
    with pytest.raises(BackupError, match="unsafe"):
        safe_name("../etc/passwd")
