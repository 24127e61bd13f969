"""Prometheus metrics (ADR 0081, docs/operations.md "Metrics").

Two kinds, kept apart on purpose:

- Things that happen in one process (a request served, a seal made, a file checked, a
  websocket open) are counters, histograms and a gauge of prometheus_client, kept per
  process. With PROMETHEUS_MULTIPROC_DIR set (several uvicorn workers, db_worker processes
  on the same machine) every process writes them to that folder and a scrape adds them up.
- Levels of the shared state (the task queue, calls in progress, documents waiting for the
  virus check, failed deliveries, the workers' heartbeat) are read from the database at
  scrape time, so every node reports the same truth and nothing is counted twice. An app
  adds its own by giving its AppConfig a `metrics_levels()` method that yields metric
  families (video_calls, documents).

Labels never carry an id or anything about a person: requests are labelled with the
resolved route's name (`appointments:detail`), never the path.
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterator
from functools import cache

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REQUEST_SECONDS = Histogram(
    "sprechstunde_http_request_duration_seconds",
    "Time from the request reaching Django to its answer, by the resolved route's name.",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RESPONSES = Counter(
    "sprechstunde_http_responses",
    "Answers Django gave, by status class (2xx, 3xx, 4xx, 5xx).",
    ["status"],
)
WEBSOCKETS_OPEN = Gauge(
    "sprechstunde_websockets_open",
    "Websocket connections open now, by kind (chat, video).",
    ["kind"],
    multiprocess_mode="livesum",
)
for _kind in ("chat", "video"):
    WEBSOCKETS_OPEN.labels(kind=_kind)  # reported as 0 before the first socket opens
SEAL_SECONDS = Histogram(
    "sprechstunde_seal_duration_seconds",
    "Time to seal one PDF (PAdES), by level and outcome (sealed, unavailable, refused).",
    ["level", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
)
VIRUS_SCANS = Counter(
    "sprechstunde_virus_scans",
    "Files checked by ClamAV, by result (clean, infected, unavailable).",
    ["result"],
)

# Jobs whose failure means a mail or a text message did not go out (each failed attempt is
# one FAILED row in the queue table; the job queues its own retry).
MAIL_TASKS = (
    "sprechstunde.appointments.tasks.appointment_mail_send",
    "sprechstunde.appointments.tasks.reminder_send",
    "sprechstunde.messaging.tasks.message_notice_send",
    "sprechstunde.agreements.tasks.decision_notice_send",
    "sprechstunde.documents.tasks.document_request_notice_task",
    "sprechstunde.documents.tasks.document_request_remind_task",
)
SMS_TASKS = ("sprechstunde.core.tasks.sms_send",)
FAILURE_WINDOW = datetime.timedelta(hours=24)


def view_label(view_name: str | None) -> str:
    """The route's name as the request label; unresolved paths share one label."""
    return view_name or "unresolved"


def status_label(status_code: int) -> str:
    return f"{status_code // 100}xx"


# --- who may read them ------------------------------------------------------------------


@cache
def _allowed_networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def metrics_address_allowed(address: str | None) -> bool:
    """Whether `address` (the request's REMOTE_ADDR) is in METRICS_ALLOWED_IPS (addresses or
    networks). Nobody is allowed while the setting is empty."""
    entries = tuple(getattr(settings, "METRICS_ALLOWED_IPS", ()))
    if not entries or not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _allowed_networks(entries))


# --- levels from the database -------------------------------------------------------------


class DatabaseLevelsCollector(Collector):
    """Gauges computed from the database when scraped: a handful of indexed COUNT queries."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from _task_queue(now)
        yield _delivery_failures(now)
        yield _heartbeat_age(now)
        # Each app reports its own levels through its AppConfig (core imports no app above it).
        for app_config in apps.get_app_configs():
            levels = getattr(app_config, "metrics_levels", None)
            if levels is not None:
                yield from levels()

    def describe(self) -> Iterator[Metric]:
        return iter(())


def _task_queue(now: datetime.datetime) -> Iterator[Metric]:
    from django_tasks_db.models import DBTaskResult, get_date_max

    depth = GaugeMetricFamily(
        "sprechstunde_task_queue_depth",
        "Jobs due to run now and not yet taken by a worker, by queue.",
        labels=["queue"],
    )
    age = GaugeMetricFamily(
        "sprechstunde_task_queue_oldest_age_seconds",
        "How long the oldest due job has been waiting, by queue (0 when none waits).",
        labels=["queue"],
    )
    # A job without run_after waits since it was queued; a deferred one since its run_after.
    rows = list(
        DBTaskResult.objects.ready()
        .values("queue_name")
        .annotate(
            count=Count("id"),
            oldest_queued=Min("enqueued_at", filter=Q(run_after=get_date_max())),
            oldest_due=Min("run_after", filter=~Q(run_after=get_date_max())),
        )
        .order_by("queue_name")
    )
    if not rows:
        # An empty queue is reported as 0, not as a missing series (alerts on absent data).
        depth.add_metric(["default"], 0)
        age.add_metric(["default"], 0.0)
    for row in rows:
        starts = [when for when in (row["oldest_queued"], row["oldest_due"]) if when]
        waited = (now - min(starts)).total_seconds() if starts else 0.0
        depth.add_metric([row["queue_name"]], row["count"])
        age.add_metric([row["queue_name"]], max(0.0, waited))
    yield depth
    yield age
    running = DBTaskResult.objects.running().count()
    yield GaugeMetricFamily(
        "sprechstunde_tasks_running", "Jobs a worker is running now.", value=running
    )


def _delivery_failures(now: datetime.datetime) -> Metric:
    from django_tasks_db.models import DBTaskResult

    from .models import SmsMessage

    since = now - FAILURE_WINDOW
    failed_jobs = dict(
        DBTaskResult.objects.failed()
        .filter(finished_at__gte=since, task_path__in=(*MAIL_TASKS, *SMS_TASKS))
        .values_list("task_path")
        .annotate(n=Count("id"))
        .order_by()
    )
    sms_refused = SmsMessage.objects.filter(
        state=SmsMessage.State.FAILED, created_at__gte=since
    ).count()
    family = GaugeMetricFamily(
        "sprechstunde_delivery_failures_last_24h",
        "Failed attempts to send a mail or a text message in the last 24 hours (sms includes "
        "messages the gateway reported as undeliverable).",
        labels=["channel"],
    )
    family.add_metric(["mail"], sum(failed_jobs.get(path, 0) for path in MAIL_TASKS))
    family.add_metric(["sms"], sum(failed_jobs.get(path, 0) for path in SMS_TASKS) + sms_refused)
    return family


def _heartbeat_age(now: datetime.datetime) -> Metric:
    from .heartbeat import worker_heartbeat_age

    age = worker_heartbeat_age(now=now)
    return GaugeMetricFamily(
        "sprechstunde_worker_heartbeat_age_seconds",
        "Seconds since a task worker last took the heartbeat job (+Inf: never).",
        value=float("inf") if age is None else age,
    )


# --- the scrape -----------------------------------------------------------------------------


def metrics_exposition() -> tuple[bytes, str]:
    """The text exposition of every metric and its content type."""
    levels = CollectorRegistry(auto_describe=False)
    levels.register(DatabaseLevelsCollector())
    return process_exposition() + generate_latest(levels), CONTENT_TYPE_LATEST


def process_exposition() -> bytes:
    """The per-process metrics: of this process alone, or with PROMETHEUS_MULTIPROC_DIR of
    every process that writes to that folder (this node's uvicorn workers and task workers)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
        return generate_latest(processes)
    return generate_latest(REGISTRY)
