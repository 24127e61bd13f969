"""Request ids, JSON log lines, /metrics and the liveness and readiness checks (ADR 0081)."""

from __future__ import annotations

import datetime
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max
from prometheus_client import REGISTRY

from sprechstunde.core import readiness
from sprechstunde.core.heartbeat import (
    worker_heartbeat_age,
    worker_heartbeat_record,
    worker_heartbeat_schedule,
)
from sprechstunde.core.log_format import JsonFormatter
from sprechstunde.core.models import SmsMessage, WorkerHeartbeat
from sprechstunde.core.request_ids import (
    RequestIdFilter,
    request_id_accept,
    request_id_get,
    task_request_id_end,
    task_request_id_start,
)
from sprechstunde.core.websocket_observation import WebsocketObservation

pytestmark = pytest.mark.django_db

METRICS = "/metrics"
SRC = Path(__file__).resolve().parents[3]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client, address: str = "127.0.0.1"):
    return client.get(METRICS, REMOTE_ADDR=address)


def metric_lines(body: str, name: str) -> dict[str, float]:
    """{label part: value} of one metric in the text exposition."""
    found = {}
    for line in body.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            found[key[len(name) :]] = float(value)
    return found


# --- request ids and log lines --------------------------------------------------------------


def test_every_answer_carries_a_fresh_request_id(client):
    first = client.get(reverse("core:liveness"))
    second = client.get(reverse("core:liveness"))
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_the_proxys_well_formed_request_id_is_kept(client):
    response = client.get(reverse("core:liveness"), headers={"X-Request-ID": "nginx-4f2a9c01"})
    assert response["X-Request-ID"] == "nginx-4f2a9c01"


@pytest.mark.parametrize(
    "given", ["short", "has space in it", "x" * 101, "<script>alert(1)</script>", "a\nb-123456"]
)
def test_a_malformed_request_id_is_replaced(client, given):
    response = client.get(reverse("core:liveness"), headers={"X-Request-ID": given})
    assert response["X-Request-ID"] != given
    assert len(response["X-Request-ID"]) == 32
    assert request_id_accept(given.encode()) != given


def test_log_lines_written_during_a_request_name_its_id(client):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("sprechstunde.core.readiness")
    logger.addHandler(handler)
    try:
        # A broken Redis: the readiness check logs a warning.
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(readiness.CHECKS, "redis", _raises)
            response = client.get(
                reverse("core:readiness"), headers={"X-Request-ID": "proxy-id-0001"}
            )
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 503
    assert records
    assert {record.request_id for record in records} == {"proxy-id-0001"}  # type: ignore[attr-defined]


def test_the_access_line_names_the_route_and_the_request_id_never_the_path(client, case_manager):
    client.force_login(case_manager)
    handler = JsonLinesForTest()
    logger = logging.getLogger("sprechstunde.access")
    logger.addHandler(handler)
    try:
        client.get(
            reverse("documents:client_documents", kwargs={"client_pk": 424242}),
            headers={"X-Request-ID": "access-line-01"},
        )
    finally:
        logger.removeHandler(handler)
    (entry,) = [json.loads(line) for line in handler.lines]
    assert entry["message"].startswith("GET documents:client_documents 404 ")
    assert entry["request_id"] == "access-line-01"
    assert "424242" not in json.dumps(entry)


class JsonLinesForTest(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_a_log_record_is_one_json_line_with_the_request_id():
    formatter = JsonFormatter()
    record = logging.LogRecord("sprechstunde.x", logging.WARNING, __file__, 1, "a %s", ("b",), None)
    record.request_id = "abc-12345"
    record.secret_extra = "must not appear"
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "a b"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "sprechstunde.x"
    assert entry["request_id"] == "abc-12345"
    assert "must not appear" not in line


def test_an_exception_is_kept_inside_its_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert line.count("\n") == 0
    assert json.loads(line)["exception"] == "ValueError"
    assert "boom" in json.loads(line)["traceback"]


def test_a_job_logs_under_its_own_id_and_gives_the_request_its_own_back():
    from sprechstunde.core.request_ids import request_id_set

    request_id_set("request-00000001")
    job = type("Result", (), {"id": uuid.UUID(int=7)})()
    task_request_id_start(sender=None, task_result=job)
    assert request_id_get() == str(uuid.UUID(int=7))
    task_request_id_end(sender=None, task_result=job)
    assert request_id_get() == "request-00000001"


def test_a_websocket_has_a_request_id_and_is_counted_while_open():
    seen = {}

    async def consumer(scope, receive, send):
        seen["id"] = request_id_get()
        seen["open"] = sample("sprechstunde_websockets_open", kind="chat")

    before = sample("sprechstunde_websockets_open", kind="chat")
    scope = {
        "type": "websocket",
        "path": "/ws/nachrichten/12/",
        "headers": [(b"x-request-id", b"edge-id-123456")],
    }
    async_to_sync(WebsocketObservation(consumer))(scope, None, None)
    assert seen == {"id": "edge-id-123456", "open": before + 1}
    assert sample("sprechstunde_websockets_open", kind="chat") == before


# --- /metrics ---------------------------------------------------------------------------------


def test_metrics_are_refused_to_everyone_by_default(client, settings):
    settings.METRICS_ALLOWED_IPS = []
    response = scrape(client, "127.0.0.1")
    assert response.status_code == 404
    assert b"sprechstunde_" not in response.content


def test_metrics_are_refused_to_an_address_outside_the_allowed_networks(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.5.0/24", "127.0.0.1"]
    assert scrape(client, "10.0.6.1").status_code == 404
    assert scrape(client, "not-an-address").status_code == 404
    assert scrape(client, "10.0.5.77").status_code == 200
    assert scrape(client, "::ffff:127.0.0.1").status_code == 200


def test_request_latency_is_labelled_by_the_route_name_never_the_path(
    client, settings, case_manager
):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    client.force_login(case_manager)
    client.get(reverse("documents:client_documents", kwargs={"client_pk": 987654}))
    body = scrape(client).content.decode()
    assert (
        'sprechstunde_http_request_duration_seconds_count{view="documents:client_documents"}'
        in (body)
    )
    assert "987654" not in body
    assert scrape(client)["Content-Type"].startswith("text/plain")


def test_levels_come_from_the_database_at_scrape_time(client, settings, case_manager):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    now = timezone.now()
    for queue in ("default", "default"):
        DBTaskResult.objects.create(
            args_kwargs={"args": [], "kwargs": {}},
            task_path="sprechstunde.core.tasks.sms_send",
            backend_name="default",
            queue_name=queue,
            run_after=get_date_max(),
        )
    DBTaskResult.objects.update(enqueued_at=now - datetime.timedelta(minutes=5))
    # A deferred job not yet due is not in the depth.
    DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="sprechstunde.core.tasks.sms_send",
        backend_name="default",
        run_after=now + datetime.timedelta(hours=1),
    )
    DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="sprechstunde.appointments.tasks.appointment_mail_send",
        backend_name="default",
        run_after=get_date_max(),
        status="FAILED",
        finished_at=now - datetime.timedelta(hours=1),
    )
    SmsMessage.objects.create(kind="login_code", to="+4915112345678", text="x", state="failed")
    worker_heartbeat_record(worker_id="node-a:1", now=now - datetime.timedelta(seconds=42))

    body = scrape(client).content.decode()

    assert metric_lines(body, "sprechstunde_task_queue_depth") == {'{queue="default"}': 2.0}
    (age,) = metric_lines(body, "sprechstunde_task_queue_oldest_age_seconds").values()
    assert 299 <= age < 400
    failures = metric_lines(body, "sprechstunde_delivery_failures_last_24h")
    assert failures == {'{channel="mail"}': 1.0, '{channel="sms"}': 1.0}
    (heartbeat,) = metric_lines(body, "sprechstunde_worker_heartbeat_age_seconds").values()
    assert 42 <= heartbeat < 120
    assert metric_lines(body, "sprechstunde_calls_in_progress") == {"": 0.0}
    assert metric_lines(body, "sprechstunde_documents_by_virus_check")['{result="pending"}'] == 0


def test_an_empty_queue_is_reported_as_zero_not_left_out(client, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    body = scrape(client).content.decode()
    assert metric_lines(body, "sprechstunde_task_queue_depth") == {'{queue="default"}': 0.0}
    assert 'sprechstunde_websockets_open{kind="video"}' in body


def test_a_call_with_people_in_it_and_documents_waiting_are_counted(client, settings, case_manager):
    from sprechstunde.clients.factories import ClientFactory
    from sprechstunde.documents.models import Document
    from sprechstunde.video_calls.factories import CallFactory

    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    CallFactory(started_at=timezone.now())
    CallFactory(started_at=timezone.now(), ended_at=timezone.now())
    owner = ClientFactory(case_manager=case_manager)
    for scan_status in ("pending", "infected"):
        Document.objects.create(
            client=owner, uploaded_by_side="client", title="t", scan_status=scan_status
        )
    body = scrape(client).content.decode()
    assert metric_lines(body, "sprechstunde_calls_in_progress") == {"": 1.0}
    checks = metric_lines(body, "sprechstunde_documents_by_virus_check")
    assert checks['{result="pending"}'] == 1
    assert checks['{result="infected"}'] == 1


def test_a_scrape_costs_a_fixed_handful_of_queries(client, settings, django_assert_max_num_queries):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    with django_assert_max_num_queries(8):
        assert scrape(client).status_code == 200


def test_a_seal_attempt_is_timed_by_level_and_outcome():
    from sprechstunde.signatures.services import InvalidPdfError, pdf_seal

    labels = {"level": "B-B", "outcome": "refused"}
    before = sample("sprechstunde_seal_duration_seconds_count", **labels)
    with pytest.raises(InvalidPdfError):
        pdf_seal(pdf=b"%PDF-1.7\nnot really a PDF", level="B-B")
    assert sample("sprechstunde_seal_duration_seconds_count", **labels) == before + 1


def test_a_made_seal_is_timed_as_sealed(seal_pki):
    from sprechstunde.signatures.services import pdf_seal
    from sprechstunde.signatures.tests.pdfs import decision_pdf

    labels = {"level": "B-B", "outcome": "sealed"}
    before = sample("sprechstunde_seal_duration_seconds_count", **labels)
    sum_before = sample("sprechstunde_seal_duration_seconds_sum", **labels)
    pdf_seal(pdf=decision_pdf(pages=1), level="B-B")
    assert sample("sprechstunde_seal_duration_seconds_count", **labels) == before + 1
    assert sample("sprechstunde_seal_duration_seconds_sum", **labels) > sum_before


def test_a_virus_check_without_clamd_counts_as_unavailable(settings):
    from sprechstunde.documents import virus_scan

    settings.CLAMD_SOCKET = str(Path("/nonexistent") / "clamd.sock")
    settings.CLAMD_HOST = ""
    before = sample("sprechstunde_virus_scans_total", result="unavailable")
    with pytest.raises(virus_scan.ScannerUnavailable):
        virus_scan.scan_bytes(b"hello")
    assert sample("sprechstunde_virus_scans_total", result="unavailable") == before + 1


def test_virus_checks_by_the_real_clamd_are_counted_by_result(documents_configured):
    from sprechstunde.documents import virus_scan
    from sprechstunde.documents.factories import EICAR

    clean = sample("sprechstunde_virus_scans_total", result="clean")
    infected = sample("sprechstunde_virus_scans_total", result="infected")
    assert virus_scan.scan_bytes(b"an ordinary letter").is_clean
    assert not virus_scan.scan_bytes(EICAR).is_clean
    assert sample("sprechstunde_virus_scans_total", result="clean") == clean + 1
    assert sample("sprechstunde_virus_scans_total", result="infected") == infected + 1


def test_counters_of_several_processes_add_up_in_multiprocess_mode(tmp_path):
    """Two processes (as two uvicorn workers) count answers into one folder; a third one
    scrapes them as /metrics does."""
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PYTHONPATH": f"{SRC}:{SRC.parent}",
    }
    count = (
        "import django; django.setup();"
        "from sprechstunde.core.metrics import RESPONSES, REQUEST_SECONDS;"
        "RESPONSES.labels(status='2xx').inc(3);"
        "REQUEST_SECONDS.labels(view='core:home').observe(0.2)"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=120)
    show = (
        "import django; django.setup();"
        "from sprechstunde.core.metrics import process_exposition;"
        "print(process_exposition().decode())"
    )
    body = subprocess.run(
        [sys.executable, "-c", show], env=env, check=True, timeout=120, capture_output=True
    ).stdout.decode()
    assert metric_lines(body, "sprechstunde_http_responses_total") == {'{status="2xx"}': 6.0}
    counts = metric_lines(body, "sprechstunde_http_request_duration_seconds_count")
    assert counts == {'{view="core:home"}': 2.0}


# --- liveness and readiness -------------------------------------------------------------------


def test_liveness_answers_without_touching_the_database(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("core:liveness"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(queries) == 0


def test_readiness_is_ok_with_database_storage_and_a_recent_heartbeat(client, tmp_path, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    worker_heartbeat_record(worker_id="host:1")
    response = client.get(reverse("core:readiness"))
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert checks["database"] == checks["object_storage"] == checks["worker"] == "ok"
    assert checks["redis"] == ("ok" if settings.REDIS_URL else "not configured")
    # The probe object is gone again.
    assert [p for p in (tmp_path / "documents").rglob("*") if p.is_file()] == []


def test_readiness_fails_without_a_worker_heartbeat(client):
    response = client.get(reverse("core:readiness"))
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "no heartbeat yet"


def test_readiness_fails_with_a_stale_heartbeat_and_can_leave_workers_out(client, settings):
    worker_heartbeat_record(
        worker_id="host:1", now=timezone.now() - datetime.timedelta(seconds=600)
    )
    response = client.get(reverse("core:readiness"))
    assert response.status_code == 503
    assert response.json()["checks"]["worker"].startswith("last heartbeat 6")
    settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS = 0
    assert client.get(reverse("core:readiness")).status_code == 200


def _raises():
    raise OSError("connect to secret-host.internal:6379 as user admin:hunter2 failed")


@pytest.mark.parametrize("part", ["database", "redis", "object_storage"])
def test_readiness_names_the_failed_part_and_no_detail(client, monkeypatch, part):
    worker_heartbeat_record(worker_id="host:1")
    monkeypatch.setitem(readiness.CHECKS, part, _raises)
    response = client.get(reverse("core:readiness"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"][part] == "unavailable"
    assert "secret-host" not in response.content.decode()
    assert "hunter2" not in response.content.decode()


def test_readiness_finds_an_unwritable_document_storage(client, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker / "documents")},
        },
    }
    worker_heartbeat_record(worker_id="host:1")
    response = client.get(reverse("core:readiness"))
    assert response.status_code == 503
    assert response.json()["checks"]["object_storage"] == "unavailable"


def test_readiness_finds_redis_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    worker_heartbeat_record(worker_id="host:1")
    response = client.get(reverse("core:readiness"))
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "unavailable"


# --- the heartbeat --------------------------------------------------------------------------


def test_the_heartbeat_job_beats_and_keeps_one_next_beat_queued(settings):
    from sprechstunde.core.tasks import worker_heartbeat_task

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert worker_heartbeat_age() is None
    assert worker_heartbeat_schedule() is True
    assert worker_heartbeat_schedule() is False  # one waits already: no second chain
    (job,) = DBTaskResult.objects.filter(task_path=worker_heartbeat_task.module_path)
    assert job.run_after > timezone.now() + datetime.timedelta(seconds=20)

    # A worker takes it: it beats under the worker's id and queues the next one.
    job.claim("node-b:77")
    from django_tasks import TaskContext

    worker_heartbeat_task.call(TaskContext(task_result=job.task_result))
    assert WorkerHeartbeat.objects.get().worker_id == "node-b:77"
    assert worker_heartbeat_age() < 5
    assert (
        DBTaskResult.objects.filter(
            task_path=worker_heartbeat_task.module_path, status="READY"
        ).count()
        == 1
    )


def test_a_starting_worker_beats_at_once(settings):
    from django.apps import apps

    apps.get_app_config("core").task_worker_started()
    assert worker_heartbeat_age() is not None
    assert worker_heartbeat_age() < 5


def test_old_heartbeats_of_gone_workers_are_forgotten():
    worker_heartbeat_record(worker_id="gone:1", now=timezone.now() - datetime.timedelta(days=2))
    worker_heartbeat_record(worker_id="here:1")
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["here:1"]


# --- readiness against the real S3 server (SeaweedFS) --------------------------------------


@pytest.mark.django_db(transaction=True)
def test_readiness_checks_the_s3_document_storage_and_leaves_no_probe(client, object_storage):
    worker_heartbeat_record(worker_id="host:1")
    response = client.get(reverse("core:readiness"))
    assert response.json()["checks"]["object_storage"] == "ok"
    assert object_storage.object_keys() == []


@pytest.mark.django_db(transaction=True)
def test_readiness_finds_the_s3_storage_unreachable(client, object_storage, settings):
    unreachable = dict(settings.STORAGES["documents"])
    unreachable["OPTIONS"] = {**unreachable["OPTIONS"], "endpoint_url": "http://127.0.0.1:1"}
    settings.STORAGES = {**settings.STORAGES, "documents": unreachable}
    worker_heartbeat_record(worker_id="host:1")
    response = client.get(reverse("core:readiness"))
    assert response.status_code == 503
    assert response.json()["checks"]["object_storage"] == "unavailable"
    assert "127.0.0.1:1" not in response.content.decode()
