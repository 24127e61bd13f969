"""Validating PDFs: good seals pass; every kind of bad input is reported as not valid, with why."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sprechstunde.signatures.models import TrustRoot
from sprechstunde.signatures.services import pdf_seal, pdf_validate, public_check
from sprechstunde.signatures.testing import SealPKI
from sprechstunde.signatures.trust_roots import trust_root_parse

from .pdfs import (
    decision_pdf,
    flip_signed_byte,
    hidden_content_change,
    strip_signature_value,
    swap_signature_timestamp,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def decision() -> bytes:
    return decision_pdf(pages=2)


def _seal_with(pki: SealPKI, settings, pdf: bytes, label: str, level: str = "B-B") -> bytes:
    """Seal with another certificate of the test PKI, then switch back to the real seal."""
    for name, value in pki.settings_for_pkcs12(label).items():
        setattr(settings, name, value)
    sealed = pdf_seal(pdf=pdf, level=level)
    for name, value in pki.settings_for_pkcs12().items():
        setattr(settings, name, value)
    return sealed


def _truncated(pki: SealPKI, settings, pdf: bytes) -> bytes:
    sealed = pdf_seal(pdf=pdf, level="B-B")
    return sealed[: len(sealed) // 2]


BAD_CASES: dict[str, tuple[Callable[[SealPKI, object, bytes], bytes], str]] = {
    "not a pdf": (lambda pki, settings, pdf: b"GIF89a not a pdf", "not_pdf"),
    "garbage with a pdf header": (
        lambda pki, settings, pdf: b"%PDF-1.7\n" + bytes(range(256)) * 8,
        "unreadable",
    ),
    "truncated signed pdf": (_truncated, "unreadable"),
    "unsigned pdf": (lambda pki, settings, pdf: pdf, "no_signatures"),
    "content changed inside the signed range": (
        lambda pki, settings, pdf: flip_signed_byte(pdf_seal(pdf=pdf, level="B-B")),
        "altered",
    ),
    "signature value stripped": (
        lambda pki, settings, pdf: strip_signature_value(pdf_seal(pdf=pdf, level="B-B")),
        "signature_unreadable",
    ),
    "expired certificate": (
        lambda pki, settings, pdf: _seal_with(pki, settings, pdf, "seal-expired"),
        "expired",
    ),
    "revoked certificate": (
        lambda pki, settings, pdf: _seal_with(pki, settings, pdf, "seal-revoked"),
        "revoked",
    ),
    "signer from an unknown CA": (
        lambda pki, settings, pdf: _seal_with(pki, settings, pdf, "other-signer"),
        "untrusted",
    ),
    "time stamp for other data": (
        lambda pki, settings, pdf: swap_signature_timestamp(
            pdf_seal(pdf=pdf, level="B-T"), pki.tsa_url
        ),
        "timestamp_invalid",
    ),
    "incremental update hides a content change": (
        lambda pki, settings, pdf: hidden_content_change(pdf_seal(pdf=pdf, level="B-B")),
        "modified",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_pdfs_are_reported_not_valid_with_the_reason(seal_pki, settings, decision, case):
    settings.SIGNATURE_VALIDATION_FETCH = True
    make, expected = BAD_CASES[case]
    report = pdf_validate(fetch_revocation=True, pdf=make(seal_pki, settings, decision))
    assert not report.is_valid
    assert expected in report.problem_codes, report.problem_codes


def test_hidden_change_is_reported_as_content_change(seal_pki, settings, decision):
    settings.SIGNATURE_VALIDATION_FETCH = True
    tampered = hidden_content_change(pdf_seal(pdf=decision, level="B-B"))
    report = pdf_validate(fetch_revocation=True, pdf=tampered)
    seal = report.signatures[0]
    assert seal.is_intact  # the signed bytes themselves are untouched ...
    assert seal.modification_level == "other"  # ... but what a reader sees has changed
    assert "modified" in seal.problem_codes


def test_good_seal_has_no_problems_and_a_readable_summary(seal_pki, settings, decision):
    settings.SIGNATURE_VALIDATION_FETCH = True
    report = pdf_validate(fetch_revocation=True, pdf=pdf_seal(pdf=decision, level="B-T"))
    assert report.is_valid
    seal = report.signatures[0]
    assert seal.problems == ()
    assert seal.issuer_name == "Test Seal CA"
    assert seal.modification_level == "none"
    assert seal.claimed_signing_time is not None and seal.timestamp_time is not None


def test_admin_trust_root_makes_a_foreign_signer_trusted(seal_pki, settings, decision):
    settings.SIGNATURE_VALIDATION_FETCH = True
    foreign = _seal_with(seal_pki, settings, decision, "other-signer")
    assert "untrusted" in pdf_validate(fetch_revocation=True, pdf=foreign).problem_codes

    fields = trust_root_parse(pem_or_der=seal_pki.cert_pem("other-root"))
    TrustRoot.objects.create(name="Other CA", **fields)
    assert pdf_validate(fetch_revocation=True, pdf=foreign).is_valid

    TrustRoot.objects.update(is_active=False)
    assert not pdf_validate(fetch_revocation=True, pdf=foreign).is_valid


def test_public_check_accepts_only_the_platform_seal(seal_pki, settings, decision):
    settings.SIGNATURE_VALIDATION_FETCH = True
    # The public check fetches nothing: a B-LT seal carries its revocation data (the default).
    ours = public_check(pdf=pdf_seal(pdf=decision, level="B-LT"))
    assert ours.is_valid, ours.problem_codes
    assert ours.signatures[0].is_platform_seal

    foreign = _seal_with(seal_pki, settings, decision, "other-signer")
    fields = trust_root_parse(pem_or_der=seal_pki.cert_pem("other-root"))
    TrustRoot.objects.create(name="Other CA", **fields)
    theirs = public_check(pdf=foreign)
    assert not theirs.is_valid
    assert "not_platform_seal" in theirs.problem_codes


def test_public_check_says_revocation_was_not_checked_for_a_seal_without_revocation_data(
    seal_pki, settings, decision
):
    settings.SIGNATURE_VALIDATION_FETCH = True
    sealed = pdf_seal(pdf=decision, level="B-B")
    report = public_check(pdf=sealed)
    assert not report.is_valid
    assert report.signatures[0].is_platform_seal and report.signatures[0].is_intact
    assert report.signatures[0].problem_codes == ["revocation_unknown"]
    # A staff check of the same file may fetch from the (configured, in-house) test CA.
    assert pdf_validate(fetch_revocation=True, pdf=sealed).is_valid


def test_public_check_is_audited_with_the_hash_only(seal_pki, settings, decision):
    from sprechstunde.audit.models import AuditEntry

    settings.SIGNATURE_VALIDATION_FETCH = True
    report = public_check(pdf=decision)
    entry = AuditEntry.objects.get(action="signature.public_check")
    assert entry.target_id == report.sha256
