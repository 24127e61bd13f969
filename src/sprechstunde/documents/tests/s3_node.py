"""Another app node for the object-storage tests: a process of its own, started with the
environment an operator sets (DOCUMENT_S3_*, its own local folders), on the same database as
the test. It takes one job as JSON on stdin, answers JSON on stdout, and exits:

- {"action": "chunk", "session": id, "offset": n, "data": base64}: the next chunk;
- {"action": "complete", "user": pk, "client": pk, "sessions": [id, ...]}: the document.

Run: python -m sprechstunde.documents.tests.s3_node (see test_object_storage.py).
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
from pathlib import Path


def _local_files(*folders: str) -> list[str]:
    return sorted(
        str(path)
        for folder in folders
        if Path(folder).exists()
        for path in Path(folder).rglob("*")
        if path.is_file()
    )


def main() -> None:
    job = json.loads(sys.stdin.read())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from sprechstunde.clients.models import Client
    from sprechstunde.documents import services
    from sprechstunde.documents.models import Document, UploadSession

    answer: dict[str, object] = {"backend": settings.STORAGES["documents"]["BACKEND"]}
    if job["action"] == "chunk":
        session = UploadSession.objects.get(pk=job["session"])
        answer["offset"] = services.upload_chunk_append(
            session=session,
            offset=job["offset"],
            stream=io.BytesIO(base64.b64decode(job["data"])),
        )
    elif job["action"] == "complete":
        document = services.document_upload_complete(
            uploader=get_user_model().objects.get(pk=job["user"]),
            client=Client.objects.get(pk=job["client"]),
            session_ids=job["sessions"],
        )
        answer["document"] = document.pk
        answer["status"] = str(Document.objects.get(pk=document.pk).status)
    else:
        raise SystemExit(f"unknown action {job['action']!r}")
    answer["local_files"] = _local_files(
        os.environ["DOCUMENT_UPLOAD_DIR"], os.environ["DOCUMENT_STORAGE_DIR"]
    )
    sys.stdout.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
