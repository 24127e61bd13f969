"""The TSA certificate cache: B-LT seals skip the dummy time stamp, and survive a TSA rollover."""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest
from asn1crypto import keys, pem
from pyhanko.sign.timestamps import DummyTimeStamper

from sprechstunde.signatures import tsa_client
from sprechstunde.signatures.services import pdf_seal, pdf_validate
from sprechstunde.signatures.tsa_client import tsa_cert_cache_stats

from .pdfs import decision_pdf

pytestmark = pytest.mark.django_db


def test_second_b_lt_seal_reuses_the_tsa_certificates_and_is_still_b_lt(seal_pki, settings):
    pdf = decision_pdf(pages=1)
    pdf_seal(pdf=pdf, level="B-LT")
    assert tsa_cert_cache_stats() == {"hits": 0, "misses": 1}
    sealed = pdf_seal(pdf=pdf, level="B-LT")
    assert tsa_cert_cache_stats()["hits"] == 1
    # The TSA chain's revocation data is still in the DSS: validation works offline.
    settings.SIGNATURE_VALIDATION_FETCH = False
    report = pdf_validate(pdf=sealed)
    assert report.is_valid, report.problem_codes
    assert report.signatures[0].level == "B-LT"
    assert report.signatures[0].timestamp_time is not None


def test_tsa_certificate_cache_follows_the_revocation_cache_switch(seal_pki, settings):
    settings.SEAL_REVOCATION_CACHE_SECONDS = 0
    pdf = decision_pdf(pages=1)
    pdf_seal(pdf=pdf, level="B-LT")
    pdf_seal(pdf=pdf, level="B-LT")
    assert tsa_cert_cache_stats()["hits"] == 0


@pytest.mark.parametrize(
    ("remembered", "key_label"),
    [
        # The TSA's previous certificate, still valid: the real token names another signer.
        ("tsa-previous", "tsa"),
        # A certificate whose chain no longer validates (here: an unknown root).
        ("other-signer", "other-signer"),
    ],
)
def test_seal_after_a_tsa_certificate_rollover_learns_the_new_chain(
    seal_pki, settings, remembered, key_label
):
    _kind, _headers, key_der = pem.unarmor(seal_pki.key_pem_path(key_label).read_bytes())
    old_tsa = DummyTimeStamper(
        tsa_cert=seal_pki.cert(remembered), tsa_key=keys.PrivateKeyInfo.load(key_der)
    )
    old_token = asyncio.run(old_tsa.async_timestamp(hashlib.sha256(b"").digest(), "sha256"))
    key = (seal_pki.tsa_url, "sha256")
    tsa_client._responses[key] = (time.monotonic() + 600, old_token.dump())

    pdf = decision_pdf(pages=1)
    sealed = pdf_seal(pdf=pdf, level="B-LT")

    # One attempt used the remembered response, the next learnt the real TSA's certificates.
    assert tsa_cert_cache_stats() == {"hits": 1, "misses": 1}
    assert tsa_client._responses[key][1] != old_token.dump()
    # A full B-LT whose DSS covers the real TSA's chain: validation works offline.
    settings.SIGNATURE_VALIDATION_FETCH = False
    report = pdf_validate(pdf=sealed)
    assert report.is_valid, report.problem_codes
    assert report.signatures[0].level == "B-LT"
