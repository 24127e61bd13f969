"""The OCSP/CRL cache: B-LT seals reuse revocation data, embed it, and never past nextUpdate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sprechstunde.signatures.revinfo_cache import (
    SAFETY_MARGIN,
    _expiry,
    revinfo_cache_stats,
)
from sprechstunde.signatures.services import pdf_seal, pdf_validate

from .pdfs import decision_pdf

pytestmark = pytest.mark.django_db


def test_second_b_lt_seal_reuses_revocation_data_and_still_embeds_it(seal_pki, settings):
    pdf = decision_pdf(pages=1)
    pdf_seal(pdf=pdf, level="B-LT")
    assert revinfo_cache_stats()["hits"] == 0
    sealed = pdf_seal(pdf=pdf, level="B-LT")
    assert revinfo_cache_stats()["hits"] > 0
    # The cached OCSP responses and CRLs are in the second file's DSS: validation works offline.
    settings.SIGNATURE_VALIDATION_FETCH = False
    report = pdf_validate(pdf=sealed)
    assert report.is_valid, report.problem_codes
    assert report.signatures[0].level == "B-LT"


def test_cache_can_be_switched_off(seal_pki, settings):
    settings.SEAL_REVOCATION_CACHE_SECONDS = 0
    pdf = decision_pdf(pages=1)
    pdf_seal(pdf=pdf, level="B-LT")
    pdf_seal(pdf=pdf, level="B-LT")
    assert revinfo_cache_stats()["hits"] == 0


def test_expiry_never_reaches_next_update():
    now = datetime.now(UTC)
    assert _expiry([None], 3600) is None  # no nextUpdate: do not cache
    assert _expiry([], 3600) is None
    assert _expiry([now + timedelta(hours=1)], 0) is None  # switched off
    assert _expiry([now + SAFETY_MARGIN / 2], 3600) is None  # too close to nextUpdate
    assert _expiry([now - timedelta(seconds=1)], 3600) is None  # already stale
    assert _expiry([now + timedelta(hours=1), None], 3600) is None


def test_expiry_is_the_earliest_next_update_minus_margin_or_the_cap(monkeypatch):
    import sprechstunde.signatures.revinfo_cache as cache

    monkeypatch.setattr(cache.time, "monotonic", lambda: 1000.0)
    now = datetime.now(UTC)
    deadline = _expiry([now + timedelta(minutes=10), now + timedelta(days=30)], 3600)
    assert deadline is not None
    remaining = deadline - 1000.0
    expected = (timedelta(minutes=10) - SAFETY_MARGIN).total_seconds()
    assert expected - 5 < remaining <= expected
    capped = _expiry([now + timedelta(days=30)], 120)
    assert capped is not None and 115 < capped - 1000.0 <= 120
