"""Refused accesses: one chained entry per actor, route and minute, plus a counted summary."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connections
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.audit.models import AuditEntry, DenialWindow
from sprechstunde.audit.selectors import audit_chain_verify
from sprechstunde.audit.services import (
    SUMMARY_TARGET_TYPE,
    audit_denial_windows_close,
    audit_record,
)

from .conftest import TABLE, tamper

FAR_FUTURE = datetime.datetime(2999, 1, 1, tzinfo=datetime.UTC)
DENIED = "client.access_denied"


def _request(route: str, *, ip: str = "198.51.100.7", **kwargs: int):
    path = reverse(route, kwargs=kwargs or None)
    request = RequestFactory().get(path, REMOTE_ADDR=ip)
    request.resolver_match = resolve(path)
    return request


def _deny(actor, *, pk: int = 1, route: str = "clients:detail", ip: str = "198.51.100.7"):
    return audit_record(
        actor=actor,
        action=DENIED,
        target_type="clients.client",
        target_id=pk,
        client_id=pk,
        request=_request(route, ip=ip, pk=pk),
    )


def _total_refusals(entries) -> int:
    """What the trail says: each ordinary entry is one refusal, a summary N more."""
    return sum(entry.repeat_count or 1 for entry in entries)


@pytest.mark.django_db
def test_a_thousand_refusals_in_a_minute_leave_a_handful_of_entries_and_their_count():
    actor = CaseManagerFactory()

    for number in range(1000):
        _deny(actor, pk=number % 50 + 1)  # enumerating ids on one route is one route
    audit_denial_windows_close(before=FAR_FUTURE)

    entries = AuditEntry.objects.filter(action=DENIED)
    # One window, or two when the loop ran over a minute boundary: an entry and a summary each.
    assert entries.count() <= 4
    assert _total_refusals(entries) == 1000
    summaries = entries.filter(repeat_count__gt=0)
    assert {s.target_type for s in summaries} == {SUMMARY_TARGET_TYPE}
    firsts = {e.sequence for e in entries.filter(repeat_count=0)}
    assert {int(s.target_id) for s in summaries} <= firsts
    assert all(s.actor_id == actor.pk and s.ip_address == "198.51.100.7" for s in summaries)
    # The ids differed, so the summary names no single client.
    assert all(s.client_id is None for s in summaries)
    assert not DenialWindow.objects.exists()
    report = audit_chain_verify()
    assert report.is_intact, report.problem


@pytest.mark.django_db
def test_repeated_refusals_of_one_client_keep_that_client_on_the_summary():
    actor = CaseManagerFactory()

    first = _deny(actor, pk=7)
    again = [_deny(actor, pk=7) for _ in range(4)]
    audit_denial_windows_close(before=FAR_FUTURE)

    summary = AuditEntry.objects.filter(repeat_count__gt=0).get()
    assert {entry.pk for entry in again} == {first.pk}  # each call names the row it counts in
    assert (summary.client_id, summary.repeat_count, summary.target_id) == (
        7,
        4,
        str(first.sequence),
    )


@pytest.mark.django_db
def test_different_actors_addresses_and_routes_are_not_merged():
    alice, bob = CaseManagerFactory(), CaseManagerFactory()

    for _ in range(3):
        _deny(alice)
        _deny(bob)
        _deny(alice, ip="203.0.113.9")
        _deny(alice, route="clients:update")
        audit_record(actor=None, action=DENIED, target_type="clients.client", target_id=1)
    audit_denial_windows_close(before=FAR_FUTURE)

    entries = list(AuditEntry.objects.filter(action=DENIED).order_by("sequence"))
    ordinary = [e for e in entries if not e.repeat_count]
    summaries = [e for e in entries if e.repeat_count]
    assert len(ordinary) == 5 and len(summaries) == 5  # one window each (if one minute)
    assert {(e.actor_label, e.ip_address) for e in ordinary} == {
        (alice.email, "198.51.100.7"),
        (bob.email, "198.51.100.7"),
        (alice.email, "203.0.113.9"),
        ("system", None),
    }
    assert _total_refusals(entries) == 15
    assert audit_chain_verify().is_intact


@pytest.mark.django_db
def test_a_refusal_in_a_later_minute_writes_its_own_entry_and_the_summary_of_the_last(
    monkeypatch,
):
    actor = CaseManagerFactory()
    start = timezone.now().replace(second=10, microsecond=0)
    clock = {"now": start}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])

    first = _deny(actor)
    _deny(actor)
    _deny(actor)
    clock["now"] = start + datetime.timedelta(minutes=1)
    later = _deny(actor)

    entries = list(AuditEntry.objects.filter(action=DENIED).order_by("sequence"))
    assert [(e.repeat_count, e.target_id) for e in entries] == [
        (0, "1"),
        (2, str(first.sequence)),
        (0, "1"),
    ]
    assert entries[2] == later
    assert entries[1].at == start  # the time of the last refusal it counts
    assert DenialWindow.objects.count() == 1  # the new minute, nothing to summarise yet
    assert audit_chain_verify().is_intact


@pytest.mark.django_db
def test_other_actions_are_never_aggregated(chain):
    assert AuditEntry.objects.filter(action="client.read").count() == 5
    assert not DenialWindow.objects.exists()


@pytest.mark.django_db
def test_a_tampered_count_breaks_the_chain():
    actor = CaseManagerFactory()
    for _ in range(10):
        _deny(actor)
    audit_denial_windows_close(before=FAR_FUTURE)
    summary = AuditEntry.objects.get(repeat_count=9)

    tamper(f"UPDATE {TABLE} SET repeat_count = 1 WHERE id = %s", [summary.pk])  # noqa: S608

    report = audit_chain_verify()
    assert report.problem is not None and report.problem.sequence == summary.sequence


THREADS = 6
PER_THREAD = 40


@pytest.mark.django_db(transaction=True)
def test_concurrent_refusals_are_all_counted_and_the_chain_holds():
    """Threads with their own connections and real transactions: two actors, three threads
    each, refusing at once. No refusal is lost and no window gets two first entries."""
    actors = [CaseManagerFactory(), CaseManagerFactory()]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(PER_THREAD):
                _deny(actors[number % 2], pk=number)
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    audit_denial_windows_close(before=FAR_FUTURE)

    assert errors == []
    entries = AuditEntry.objects.filter(action=DENIED)
    assert _total_refusals(entries) == THREADS * PER_THREAD
    for actor in actors:
        mine = entries.filter(actor_id=actor.pk)
        assert _total_refusals(mine) == THREADS // 2 * PER_THREAD
        assert mine.count() <= 4  # one window, or two over a minute boundary
    report = audit_chain_verify()
    assert report.is_intact, report.problem
