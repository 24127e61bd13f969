"""Documents in S3 object storage, against a real S3 server (SeaweedFS, see
`sprechstunde.documents.object_storage_testing`): blobs, previews and upload parts in the
bucket, an upload that moves between app nodes, keys without personal data, and a storage
that goes down in the middle of an upload."""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from sprechstunde.documents import services
from sprechstunde.documents.choices import DocumentStatus
from sprechstunde.documents.factories import jpeg_bytes, pdf_bytes
from sprechstunde.documents.models import Document, UploadSession
from sprechstunde.documents.object_storage_testing import (
    S3Endpoint,
    SeaweedFS,
    bucket_keys,
)
from sprechstunde.messaging.factories import portal_client_create

from .conftest import browser_for, stored_files
from .test_views import put_chunk, start_session

pytestmark = pytest.mark.django_db(transaction=True)

# kind/xx/<32 hex>.bin (storage_crypto.new_storage_name): random, nothing else in it.
OPAQUE_KEY = re.compile(r"^(incoming|pdf|preview|original|upload)/[0-9a-f]{2}/[0-9a-f]{32}\.bin$")
ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def erika(case_manager):
    """A client whose name must never show up in object storage."""
    return portal_client_create(
        case_manager=case_manager,
        email="erika.mustermann@example.org",
        first_name="Erika",
        last_name="Mustermann",
    )


def _node_database_url() -> str:
    """DATABASE_URL of the test database, for a node process of its own."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def run_node(tmp_path: Path, endpoint: S3Endpoint, bucket: str, job: dict) -> dict:
    """One job on another app node: a new process with its own (empty) local folders, the
    S3 settings from the environment as an operator sets them, and the same database."""
    node = tmp_path / f"node-{len(list(tmp_path.glob('node-*')))}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DOCUMENT_", "PYTEST_", "DJANGO_SETTINGS_MODULE"))
    }
    env.update(endpoint.environment(bucket))
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
            "DATABASE_URL": _node_database_url(),
            "SPRECHSTUNDE_VAR_DIR": str(node / "var"),
            "DOCUMENT_UPLOAD_DIR": str(node / "uploads"),
            "DOCUMENT_STORAGE_DIR": str(node / "documents"),
            "DOCUMENT_MASTER_KEYS": django_settings.DOCUMENT_MASTER_KEYS,
            "DOCUMENT_UPLOAD_CHUNK_BYTES": str(django_settings.DOCUMENT_UPLOAD_CHUNK_BYTES),
            "CLAMD_SOCKET": django_settings.CLAMD_SOCKET,
        }
    )
    (node / "var").mkdir(parents=True)
    result = subprocess.run(
        [sys.executable, "-m", "sprechstunde.documents.tests.s3_node"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_resumable_upload_continues_and_completes_on_another_node(
    erika, upload_dir, storage_dir, object_storage, tmp_path, settings
):
    settings.DOCUMENT_UPLOAD_CHUNK_BYTES = 8192
    data = jpeg_bytes(1600, 1200)
    chunks = [data[offset : offset + 8192] for offset in range(0, len(data), 8192)]
    assert len(chunks) >= 4
    # Node A (this process) starts the upload; the chunks then alternate between A and B
    # (a process of its own, on the S3 settings an operator sets in the environment).
    session = services.upload_session_create(
        owner=erika.user, client=erika, original_name="scan.jpg", expected_size=len(data)
    )
    offset = 0
    for index, chunk in enumerate(chunks):
        if index % 2 == 0:
            offset = services.upload_chunk_append(
                session=session, offset=offset, stream=io.BytesIO(chunk)
            )
        else:
            answer = run_node(
                tmp_path,
                object_storage.endpoint,
                object_storage.bucket,
                {
                    "action": "chunk",
                    "session": session.pk,
                    "offset": offset,
                    "data": base64.b64encode(chunk).decode("ascii"),
                },
            )
            assert answer["backend"] == "storages.backends.s3.S3Storage"
            assert answer["local_files"] == []
            offset = answer["offset"]
        # Between two chunks nothing of the upload is on either node: the parts are in the
        # bucket, where the upload stands is in the database.
        assert stored_files(upload_dir) == []
        assert stored_files(storage_dir) == []
        row = UploadSession.objects.get(pk=session.pk)
        assert row.received_size == offset
        assert len(row.parts) == index + 1
    assert [key.split("/")[0] for key in object_storage.object_keys()] == ["upload"] * len(chunks)

    # Node B completes the upload it only partly received, and processes the document.
    answer = run_node(
        tmp_path,
        object_storage.endpoint,
        object_storage.bucket,
        {"action": "complete", "user": erika.user.pk, "client": erika.pk, "sessions": [session.pk]},
    )
    assert answer["status"] == DocumentStatus.READY
    assert answer["local_files"] == []
    document = Document.objects.get(pk=answer["document"])
    assert document.sha256 == hashlib.sha256(data).hexdigest()
    assert not UploadSession.objects.exists()
    # The parts are gone; the PDF and the previews node B made are in the bucket, and node A
    # serves them.
    kinds = sorted({key.split("/")[0] for key in object_storage.object_keys()})
    assert "upload" not in kinds
    assert {"pdf", "preview"} <= set(kinds)
    browser = browser_for(erika.user)
    pdf = browser.get(reverse("documents:download", kwargs={"pk": document.pk}))
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content if pdf.streaming else [pdf.content]).startswith(b"%PDF")
    preview = browser.get(reverse("documents:preview", kwargs={"pk": document.pk, "page": 1}))
    assert preview.status_code == 200
    assert stored_files(upload_dir) == []
    assert stored_files(storage_dir) == []


def test_object_keys_and_objects_carry_no_personal_data(erika, storage_dir, object_storage):
    browser = browser_for(erika.user)
    data = pdf_bytes(pages=2, text="Erika Mustermann Kontoauszug")
    session = start_session(browser, data, name="Erika_Mustermann_Kontoauszug_2026.pdf")
    assert put_chunk(browser, session["url"], 0, data).status_code == 200
    # While the upload waits, its part is in the bucket too.
    waiting = object_storage.object_keys()
    assert len(waiting) == 1
    assert OPAQUE_KEY.match(waiting[0])
    response = browser.post(
        reverse("documents:upload"),
        {"upload_ids": [session["id"]], "title": "Kontoauszug Erika Mustermann"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 201, response.content
    document = Document.objects.get()
    assert document.status == DocumentStatus.READY
    keys = object_storage.object_keys()
    assert {key.split("/")[0] for key in keys} >= {"incoming", "pdf", "preview"}
    forbidden = [
        "erika",
        "mustermann",
        "kontoauszug",
        "example.org",
        session["id"].lower(),
    ]
    # (Row ids are not checked as substrings: the two-hex-digit shard may equal one; the
    # pattern above already allows nothing but the kind and random hex.)
    client = object_storage.endpoint.client()
    for key in keys:
        assert OPAQUE_KEY.match(key), key
        assert not any(word in key.lower() for word in forbidden), key
        head = client.head_object(Bucket=object_storage.bucket, Key=key)
        assert head["Metadata"] == {}
        assert head["ContentType"] == "application/octet-stream"
        # Encrypted: neither the PDF nor the name can be read from the object.
        body = object_storage.read(key)
        assert body.startswith(b"SPD1")
        assert b"%PDF" not in body
        assert b"Mustermann" not in body
    assert stored_files(storage_dir) == []


def test_the_orphan_sweep_keeps_the_parts_of_open_uploads(erika, object_storage):
    browser = browser_for(erika.user)
    data = jpeg_bytes(400, 300)
    session = start_session(browser, data)
    assert put_chunk(browser, session["url"], 0, data[:1000]).status_code == 200
    (part,) = object_storage.object_keys()

    later = timezone.now() + datetime.timedelta(days=30)
    assert services.document_blobs_orphaned(older_than=later) == []
    # Giving the upload up removes its parts from the bucket.
    assert browser.delete(session["url"]).status_code == 204
    assert object_storage.object_keys() == []
    # A part no session names any more is an orphan.
    session_row = services.upload_session_create(
        owner=erika.user, client=erika, original_name="x.jpg", expected_size=len(data)
    )
    services.upload_chunk_append(session=session_row, offset=0, stream=io.BytesIO(data[:10]))
    (left,) = object_storage.object_keys()
    UploadSession.objects.all().delete()
    assert services.document_blobs_orphaned(older_than=later) == [left]
    assert part != left


@pytest.fixture
def own_seaweedfs(tmp_path):
    """A SeaweedFS of this test alone, which the test stops and starts."""
    server = SeaweedFS(tmp_path / "seaweedfs")
    server.start()
    yield server
    server.stop(crash=True)


def test_uploads_are_refused_while_object_storage_is_down_and_nothing_half_stored_remains(
    erika, own_seaweedfs, documents_configured, upload_dir, storage_dir
):
    endpoint = own_seaweedfs.endpoint
    bucket = "down-test"
    endpoint.client().create_bucket(Bucket=bucket)
    documents_configured.STORAGES = {
        **documents_configured.STORAGES,
        "documents": endpoint.storage_settings(bucket),
    }
    documents_configured.DOCUMENT_UPLOAD_PARTS = "storage"
    documents_configured.DOCUMENT_UPLOAD_CHUNK_BYTES = 4096
    browser = browser_for(erika.user)
    data = jpeg_bytes(700, 500)
    session = start_session(browser, data)
    assert put_chunk(browser, session["url"], 0, data[:4096]).status_code == 200

    # The storage goes down: the next chunk is refused with a message, the upload stays
    # where it stood.
    own_seaweedfs.stop(crash=True)
    refused = put_chunk(browser, session["url"], 4096, data[4096:8192])
    assert refused.status_code == 503
    assert "document storage cannot be reached" in refused.json()["error"]
    assert browser.get(session["url"]).json()["offset"] == 4096
    assert stored_files(upload_dir) == []

    # Back up: only the first part is there, and the upload goes on from where it stood.
    own_seaweedfs.start()
    assert [key.split("/")[0] for key in bucket_keys(endpoint, bucket)] == ["upload"]
    offset = 4096
    while offset < len(data):
        response = put_chunk(browser, session["url"], offset, data[offset : offset + 4096])
        assert response.status_code == 200, response.content
        offset = response.json()["offset"]
    parts_before = bucket_keys(endpoint, bucket)

    # Down again as the upload is sent: refused with a message, no document, nothing new in
    # the bucket, and the upload is kept for sending again.
    own_seaweedfs.stop(crash=True)
    response = browser.post(
        reverse("documents:upload"),
        {"upload_ids": [session["id"]], "title": "Bescheinigung"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 503
    assert b"document storage cannot be reached" in response.content
    assert not Document.objects.exists()
    assert UploadSession.objects.filter(pk=session["id"]).exists()
    assert stored_files(upload_dir) == []
    own_seaweedfs.start()
    assert bucket_keys(endpoint, bucket) == parts_before

    # Sent again once the storage is back: the document, and the parts are gone.
    response = browser.post(
        reverse("documents:upload"),
        {"upload_ids": [session["id"]], "title": "Bescheinigung"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 201, response.content
    assert Document.objects.get().status == DocumentStatus.READY
    assert "upload" not in {key.split("/")[0] for key in bucket_keys(endpoint, bucket)}
    assert stored_files(storage_dir) == []
