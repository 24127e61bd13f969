"""Appends racing from several threads (own connections, real transactions) keep one chain.

SQLite serialises writers with IMMEDIATE transactions; PostgreSQL with an advisory lock.
Without that, two writers would read the same head and one would fail on the unique
sequence, or both would link to the same predecessor.
"""

import threading

import pytest
from django.db import connections

from sprechstunde.audit.models import AuditEntry
from sprechstunde.audit.selectors import audit_chain_verify
from sprechstunde.audit.services import audit_record

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6
PER_THREAD = 15


def test_concurrent_appends_keep_the_chain_gapless_and_valid():
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(number):
        try:
            barrier.wait(timeout=10)
            for _ in range(PER_THREAD):
                audit_record(
                    actor=None,
                    action="client.read",
                    target_type="clients.client",
                    target_id=number,
                    client_id=number,
                )
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(1, THREADS + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    total = THREADS * PER_THREAD
    assert list(AuditEntry.objects.order_by("sequence").values_list("sequence", flat=True)) == list(
        range(1, total + 1)
    )
    report = audit_chain_verify()
    assert report.is_intact, report.problem
    assert report.entry_count == total
    # Every thread's entries made it, interleaved in one chain.
    for number in range(1, THREADS + 1):
        assert AuditEntry.objects.filter(client_id=number).count() == PER_THREAD
