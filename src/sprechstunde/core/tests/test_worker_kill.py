"""Workers of their own, killed mid-job: real `manage.py db_worker` processes on a database
queue (a SQLite file, or a fresh PostgreSQL database when DATABASE_URL names one) and a real
SMTP server on loopback. A worker is stopped at a chosen step of a seal, a mail or a reminder
(`fault_points.py`), killed with SIGKILL, and a fresh worker must finish the job: one sealed
decision with a valid seal, every mail and reminder in the mail server exactly once (ADR 0082).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from sprechstunde.appointments.tests.test_smtp_outage import LocalSMTPServer

REPO = Path(__file__).resolve().parents[4]
LEASE_SECONDS = 3
# Generous: the machine is shared; these bound a hang, they do not measure anything.
WAIT_SECONDS = 120


@dataclass
class Queue:
    """One database with its queue, the mail server the workers send to, and the workers."""

    env: dict[str, str]
    smtp: LocalSMTPServer
    directory: Path
    workers: list[subprocess.Popen] = field(default_factory=list)

    def run(self, code: str) -> dict:
        """Run Python in a Django shell on this database; it prints one JSON line last."""
        result = subprocess.run(
            [sys.executable, str(REPO / "manage.py"), "shell", "-c", code],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=WAIT_SECONDS + 60,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    def start_worker(self, *, stop_at: str = "") -> tuple[subprocess.Popen, Path]:
        """A worker process; with `stop_at` it waits at that fault point (writing a file)."""
        marker = self.directory / f"reached-{uuid.uuid4().hex}"
        env = dict(self.env)
        if stop_at:
            env["SPRECHSTUNDE_FAULT_POINT"] = stop_at
            env["SPRECHSTUNDE_FAULT_POINT_FILE"] = str(marker)
        process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "manage.py"),
                "db_worker",
                "--queue-name=*",
                "--interval=0.2",
                "--no-startup-delay",
                "--no-reload",
                "-v",
                "0",
            ],
            env=env,
        )
        self.workers.append(process)
        return process, marker

    def kill_at(self, stop_at: str) -> None:
        """Start a worker that stops at `stop_at`, wait until it is there, SIGKILL it."""
        process, marker = self.start_worker(stop_at=stop_at)
        deadline = time.monotonic() + WAIT_SECONDS
        while not marker.exists():
            assert process.poll() is None, f"the worker ended before {stop_at}"
            assert time.monotonic() < deadline, f"the worker never reached {stop_at}"
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def received_by(self, address: str) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default)
            for recipients, raw in self.smtp.received
            if address in recipients
        ]


def _database_url(directory: Path) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{directory / 'queue.sqlite3'}"
        return
    import psycopg

    name = f"workers_kill_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def queue(tmp_path_factory, seal_pki_session) -> Iterator[Queue]:
    directory = tmp_path_factory.mktemp("worker-kill")
    smtp = LocalSMTPServer()
    urls = _database_url(directory)
    database_url = next(urls)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "DATABASE_", "EMAIL_", "PYTEST", "SEAL_", "TASK_", "JOBCENTER_")
        )
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}",
            "DEBUG": "false",
            "SECRET_KEY": "worker-kill-test-only",
            "ALLOWED_HOSTS": "127.0.0.1",
            "USE_TLS": "false",
            "SPRECHSTUNDE_VAR_DIR": str(directory),
            "DOCUMENT_MASTER_KEYS": "test-only:dGVzdC1vbmx5LWRvY3VtZW50LW1hc3Rlci1rZXkhISE=",
            "DATABASE_URL": database_url,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_USE_TLS": "false",
            "CACHE_KEY_PREFIX": f"worker-kill-{uuid.uuid4().hex[:8]}",
            "EMBEDDED_TASK_WORKER": "false",
            "LOG_LEVEL": "ERROR",
            "TASK_WORKER_HEARTBEAT_SECONDS": "0.5",
            "TASK_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
            "LANGUAGE_CODE": "en",
            # With a seal key, decisions are enabled and these are required at start.
            "JOBCENTER_ADDRESS": "Musterstraße 1\n88212 Musterstadt",
            "JOBCENTER_PHONE": "0751 123-0",
            "JOBCENTER_OBJECTION_ADDRESS": "Jobcenter Musterstadt\nMusterstraße 1",
        }
    )
    for name, value in seal_pki_session.settings_for_pkcs12().items():
        env[name] = str(value)
    subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "migrate", "--no-input", "-v", "0"],
        env=env,
        check=True,
    )
    queue = Queue(env=env, smtp=smtp, directory=directory)
    try:
        yield queue
    finally:
        for process in queue.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
        smtp.stop()
        next(urls, None)


@pytest.fixture
def fresh_worker(queue) -> Iterator[None]:
    """After the test's kill: one worker without a fault point, stopped at the end."""
    yield
    for process in queue.workers:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


BOOK = """
import datetime, json
from django.utils import timezone
from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory
from sprechstunde.appointments import services
from sprechstunde.appointments.choices import Channel
from sprechstunde.clients.factories import ClientFactory
tag = "{tag}"
case_manager = CaseManagerFactory(
    team=TeamFactory(name="Team " + tag), email=tag + "-cm@example.org"
)
client = ClientFactory(
    case_manager=case_manager, email=tag + "@example.org", preferred_language="en"
)
start = (timezone.now() + datetime.timedelta(hours={hours})).replace(second=0, microsecond=0)
day = timezone.localtime(start).date()
if timezone.localtime(start + datetime.timedelta(minutes=30)).date() != day:
    # An appointment ends on the day it starts: take midnight instead (later, not sooner).
    midnight = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time())
    start = timezone.make_aware(midnight)
appointment = services.appointment_book(
    actor=case_manager, client=client, starts_at=start,
    ends_at=start + datetime.timedelta(minutes=30), channel=Channel.PHONE,
)
print(json.dumps({{"appointment": appointment.pk}}))
"""

WAIT_FOR = """
import json, time
from django.db import close_old_connections
deadline = time.monotonic() + {wait}
while True:
    close_old_connections()
    state = ({probe})
    if state["done"] or time.monotonic() > deadline:
        break
    time.sleep(0.3)
print(json.dumps(state, default=str))
"""


def wait_for(queue: Queue, probe: str, *, setup: str = "") -> dict:
    """Poll `probe` (an expression giving a dict with "done") in a Django shell."""
    code = setup + WAIT_FOR.format(wait=WAIT_SECONDS, probe=probe)
    state = queue.run(code)
    assert state["done"], state
    return state


MAIL_STATE = """
from sprechstunde.appointments.models import AppointmentMail
from sprechstunde.core.models import Handover
def mail_state(pk):
    mails = AppointmentMail.objects.filter(appointment_id=pk)
    return {
        "done": mails.exists() and not mails.filter(sent_at__isnull=True).exists(),
        "mails": mails.count(),
        "uncertain": Handover.objects.filter(
            key__startswith="appointment-mail:", handed_over_at__isnull=False, sent_at__isnull=True
        ).count(),
    }
"""


@pytest.mark.parametrize("stop_at", ["handover.claimed", "handover.sent"])
def test_a_mail_whose_worker_is_killed_goes_out_exactly_once(queue, fresh_worker, stop_at):
    """Killed after claiming the mail (not yet handed over): the next worker sends it.
    Killed after the mail server took it (before it was marked sent): never again."""
    tag = f"mail-{stop_at.split('.')[1]}-{uuid.uuid4().hex[:6]}"
    booked = queue.run(BOOK.format(tag=tag, hours=72))
    queue.kill_at(stop_at)
    if stop_at == "handover.sent":
        assert len(queue.smtp.received) >= 1, "the killed worker had handed one mail over"
    queue.start_worker()
    state = wait_for(queue, f"mail_state({booked['appointment']})", setup=MAIL_STATE)
    # After the kill behind the mail server's "250 OK" the app cannot know it went out: it
    # records the hand-over as uncertain (for the operator) rather than risk a second copy.
    assert state["mails"] == 2
    assert state["uncertain"] == (1 if stop_at == "handover.sent" else 0)
    assert len(queue.received_by(f"{tag}@example.org")) == 1
    assert len(queue.received_by(f"{tag}-cm@example.org")) == 1


REMINDER_DUE = """
import datetime, json
from django.utils import timezone
from sprechstunde.appointments.models import Reminder
from sprechstunde.appointments.tasks import reminders_send_due
due = Reminder.objects.filter(appointment_id={pk})
count = due.update(due_at=timezone.now() - datetime.timedelta(minutes=1))
reminders_send_due.enqueue()
print(json.dumps({{"reminders": count}}))
"""

REMINDER_STATE = """
from sprechstunde.appointments.models import AppointmentMail, Reminder
def reminder_state(pk):
    reminders = Reminder.objects.filter(appointment_id=pk)
    mails = AppointmentMail.objects.filter(appointment_id=pk)
    return {
        "done": not reminders.filter(sent_at__isnull=True, skipped_at__isnull=True).exists()
        and not mails.filter(sent_at__isnull=True).exists(),
        "sent": reminders.filter(sent_at__isnull=False).count(),
        "skipped": list(
            reminders.filter(skipped_at__isnull=False).values_list("skip_reason", flat=True)
        ),
    }
"""


@pytest.mark.parametrize("stop_at", ["handover.claimed:reminder", "handover.sent:reminder"])
def test_a_reminder_whose_worker_is_killed_goes_out_exactly_once(queue, fresh_worker, stop_at):
    """The sweep's batch claim of a dead worker is released; a reminder the mail server had
    already taken is never sent again."""
    tag = f"reminder-{stop_at.split('.')[1].split(':')[0]}-{uuid.uuid4().hex[:6]}"
    # Three hours ahead: only the one-hour reminder is scheduled (the 24-hour one has passed).
    booked = queue.run(BOOK.format(tag=tag, hours=3))
    # The booking mails first, so that only the reminder is in flight when the worker dies.
    queue.start_worker()
    wait_for(queue, f"mail_state({booked['appointment']})", setup=MAIL_STATE)
    for process in queue.workers:
        process.terminate()
        process.wait(timeout=30)
    assert queue.run(REMINDER_DUE.format(pk=booked["appointment"])) == {"reminders": 1}
    queue.kill_at(stop_at)
    queue.start_worker()
    state = wait_for(queue, f"reminder_state({booked['appointment']})", setup=REMINDER_STATE)
    if stop_at.startswith("handover.sent"):
        # The mail server had it when the worker died: recorded as uncertain, not sent again.
        assert state == {"done": True, "sent": 0, "skipped": ["uncertain"]}
    else:
        assert state == {"done": True, "sent": 1, "skipped": []}
    to_client = queue.received_by(f"{tag}@example.org")
    assert len(to_client) == 2, [m["Subject"] for m in to_client]  # the booking, one reminder


ISSUE_DECISION = """
import json
from django.db import transaction
from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory
from sprechstunde.agreements import services
from sprechstunde.agreements.factories import DecisionTemplateFactory, portal_client
tag = "{tag}"
case_manager = CaseManagerFactory(
    team=TeamFactory(name="Team " + tag), email=tag + "-cm@example.org"
)
client = portal_client(case_manager=case_manager, email=tag + "@example.org")
decision = services.decision_create(
    actor=case_manager, client=client, template=DecisionTemplateFactory(key="decision-" + tag),
    values={{"antragsdatum": "2026-01-15", "betrag": "1.234,50", "begruendung": "Belegt."}},
)
services.decision_issue(actor=case_manager, decision=decision)
print(json.dumps({{"decision": decision.pk}}))
"""

DECISION_STATE = """
from sprechstunde.agreements import services
from sprechstunde.agreements.models import Decision, DeliveryEvent
def decision_state(pk, path):
    decision = Decision.objects.get(pk=pk)
    kinds = list(
        DeliveryEvent.objects.filter(decision=decision)
        .order_by("pk")
        .values_list("kind", flat=True)
    )
    done = "notified" in kinds
    if done:
        with open(path, "wb") as handle:
            handle.write(bytes(decision.pdf))
    return {
        "done": done,
        "status": decision.status,
        "events": kinds,
        "log_valid": services.delivery_log_verify(decision=decision),
    }
"""


@pytest.mark.parametrize(
    "stop_at",
    ["decision_seal.before_commit", "handover.claimed:decision", "handover.sent:decision"],
)
def test_a_seal_whose_worker_is_killed_is_made_once_and_announced_once(
    queue, fresh_worker, stop_at
):
    """Killed inside the sealing transaction: nothing of it stays, the next worker seals.
    Killed while the postbox notice is handed over: the decision stays sealed once, and the
    notice goes out once."""
    tag = f"seal-{uuid.uuid4().hex[:6]}"
    issued = queue.run(ISSUE_DECISION.format(tag=tag))
    queue.kill_at(stop_at)
    queue.start_worker()
    pdf = queue.directory / f"{tag}.pdf"
    state = wait_for(
        queue, f"decision_state({issued['decision']}, {str(pdf)!r})", setup=DECISION_STATE
    )
    assert state["status"] == "in_postbox", state
    assert state["events"] == ["sealed", "provided", "notified"]
    assert state["log_valid"] is True
    assert len(queue.received_by(f"{tag}@example.org")) == 1
    pdfsig = shutil.which("pdfsig")
    assert pdfsig, "poppler-utils (pdfsig) must be installed"
    result = subprocess.run([pdfsig, str(pdf)], capture_output=True, text=True, check=False)
    assert result.stdout.count("Signature #") == 1, result.stdout
    assert "Signature is Valid" in result.stdout, result.stdout


def test_several_workers_share_the_queue_and_send_each_mail_once(queue, fresh_worker):
    """Three worker processes on one queue (SQLite: one file, many writers) and twenty
    bookings: forty mails, each in the mail server exactly once."""
    tags = [f"many-{uuid.uuid4().hex[:6]}" for _ in range(20)]
    setup = "".join(
        BOOK.format(tag=tag, hours=96 + index).replace("print(", "_ = (")
        for index, tag in enumerate(tags)
    )
    for _ in range(3):
        queue.start_worker()
    queue.run(setup + "print(json.dumps({}))")
    probe = (
        "{'done': not AppointmentMail.objects.filter(sent_at__isnull=True).exists(),"
        " 'pending': AppointmentMail.objects.filter(sent_at__isnull=True).count()}"
    )
    wait_for(queue, probe, setup=MAIL_STATE)
    for tag in tags:
        assert len(queue.received_by(f"{tag}@example.org")) == 1, tag
        assert len(queue.received_by(f"{tag}-cm@example.org")) == 1, tag
    workers = queue.run(
        "import json\nfrom django_tasks_db.models import DBTaskResult\n"
        "ids = set()\n"
        "for row in DBTaskResult.objects.filter(task_path__endswith='appointment_mail_send'):\n"
        "    ids.update(row.worker_ids)\n"
        "print(json.dumps({'workers': len(ids)}))"
    )
    assert workers["workers"] >= 2, "the jobs were shared between the processes"
