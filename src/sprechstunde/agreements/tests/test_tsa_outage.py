"""The time-stamp service down (fault suite, issue 16). The seal's TSA is reached through a
relay process of its own (socat in front of the test PKI's TSA), which the test stops and
starts: the revocation services stay up, so only the time stamp fails. The decision waits
for its seal, its staff page says that it waits for the time-stamp service, and once the
service is back the retry (`manage.py agreements_dispatch`) seals it at PAdES B-LT."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import call_command
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import timezone

from sprechstunde.agreements import services
from sprechstunde.agreements.choices import DecisionStatus
from sprechstunde.agreements.models import Decision, DeliveryEvent
from sprechstunde.signatures import services as signing

from .conftest import DECISION_VALUES

SOCAT = shutil.which("socat") or "/usr/bin/socat"


class TcpRelay:
    """A socat process that forwards a loopback port to `target` (host, port): stop() ends
    the process, so the port refuses connections; start() runs a new one on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        host, port = self.target
        self.process = subprocess.Popen(
            [
                SOCAT,
                f"TCP-LISTEN:{self.port},bind=127.0.0.1,reuseaddr,fork",
                f"TCP:{host}:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("socat did not start listening") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def is_refusing(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        return False


@pytest.fixture
def tsa_relay(seal_pki, settings) -> Iterator[TcpRelay]:
    """The seal's TSA URL goes through a relay process of this test."""
    tsa = urlsplit(seal_pki.tsa_url)
    relay = TcpRelay((tsa.hostname or "127.0.0.1", tsa.port or 80))
    relay.start()
    settings.SEAL_TSA_URL = f"http://127.0.0.1:{relay.port}{tsa.path}"
    yield relay
    relay.stop()


def staff_browser(user) -> WebClient:
    Authenticator.objects.get_or_create(
        user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "A" * 32}}
    )
    user.preferred_language = "de"
    user.save(update_fields=["preferred_language"])
    browser = WebClient(headers={"accept-language": "de"})
    browser.force_login(user)
    return browser


def test_tsa_down_the_decision_waits_says_so_and_is_sealed_b_lt_when_it_returns(
    tsa_relay,
    seal_pki,
    case_manager,
    client_record,
    decision_template,
    django_capture_on_commit_callbacks,
):
    decision = services.decision_create(
        actor=case_manager, client=client_record, template=decision_template, values=DECISION_VALUES
    )
    tsa_relay.stop()
    assert tsa_relay.is_refusing()

    with django_capture_on_commit_callbacks(execute=True):
        services.decision_issue(actor=case_manager, decision=decision)

    decision.refresh_from_db()
    assert decision.status == DecisionStatus.WAITING_FOR_SEAL
    assert decision.seal_waiting_for == signing.SealingUnavailable.TSA
    assert decision.seal_attempts == 1
    assert decision.next_seal_at > timezone.now()
    assert not decision.pdf and not DeliveryEvent.objects.filter(decision=decision).exists()
    page = staff_browser(case_manager).get(
        reverse("agreements:decision", kwargs={"pk": decision.pk})
    )
    text = page.content.decode()
    assert 'data-seal-waiting-for="tsa"' in text
    assert "Das Siegel wartet auf den Zeitstempeldienst" in text
    assert "(1 Versuch)" in text

    # Still down at the next due attempt: it keeps waiting, and counts.
    Decision.objects.filter(pk=decision.pk).update(next_seal_at=timezone.now())
    call_command("agreements_dispatch")
    decision.refresh_from_db()
    assert (decision.status, decision.seal_attempts) == (DecisionStatus.WAITING_FOR_SEAL, 2)

    # The time-stamp service is back; the retry comes due and seals.
    tsa_relay.start()
    Decision.objects.filter(pk=decision.pk).update(next_seal_at=timezone.now())
    call_command("agreements_dispatch")

    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_POSTBOX
    assert decision.seal_waiting_for == ""
    assert decision.next_seal_at is None
    report = signing.pdf_validate(pdf=bytes(decision.pdf))
    assert report.is_valid, report.problem_codes
    (seal,) = report.signatures
    assert seal.level == "B-LT"
    text = (
        staff_browser(case_manager)
        .get(reverse("agreements:decision", kwargs={"pk": decision.pk}))
        .content.decode()
    )
    assert "Zeitstempeldienst" not in text
    assert "data-seal-waiting-for" not in text


def test_another_sealing_outage_is_not_blamed_on_the_time_stamp_service(
    tsa_relay, seal_pki, case_manager, client_record, decision_template, settings
):
    """The seal key unusable (here: a wrong passphrase) while the TSA answers: the decision
    waits, and its page speaks of the sealing service, not of the time stamp."""
    settings.SEAL_PKCS12_PASSPHRASE = "wrong"
    decision = services.decision_create(
        actor=case_manager, client=client_record, template=decision_template, values=DECISION_VALUES
    )
    services.decision_issue(actor=case_manager, decision=decision)
    assert services.decision_seal_attempt(decision_id=decision.pk) == "waiting"
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.WAITING_FOR_SEAL
    assert decision.seal_waiting_for == ""
    text = (
        staff_browser(case_manager)
        .get(reverse("agreements:decision", kwargs={"pk": decision.pk}))
        .content.decode()
    )
    assert "Der Siegeldienst war nicht erreichbar" in text
    assert "Zeitstempeldienst" not in text
