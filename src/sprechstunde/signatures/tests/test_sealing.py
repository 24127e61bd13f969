"""Sealing with each key source and level, checked by pyHanko's validator and poppler's pdfsig."""

from __future__ import annotations

import pytest

from sprechstunde.signatures.services import (
    InvalidPdfError,
    SealingUnavailable,
    pdf_seal,
    pdf_validate,
)

from .pdfs import (
    decision_pdf,
    pdfa_declaration,
    pdfsig,
    signature_blocks,
    signature_widget_flags,
)

pytestmark = pytest.mark.django_db

PRINT_FLAG = 4
HIDDEN_FLAGS = 1 | 2 | 32 | 256  # Invisible, Hidden, NoView, ToggleNoView


@pytest.fixture(scope="module")
def decision() -> bytes:
    return decision_pdf(pages=2)


def _assert_sealed(sealed: bytes, original: bytes, level: str, settings, nss_dir, tmp_path) -> None:
    # Incremental update: the original file is untouched, PDF/A still declared.
    assert sealed.startswith(original)
    assert len(sealed) > len(original)
    assert pdfa_declaration(sealed) == ("2", "B")
    for flags in signature_widget_flags(sealed):
        assert flags & PRINT_FLAG and not flags & HIDDEN_FLAGS

    # pyHanko's validator. From B-LT on everything needed is inside the file: validate offline.
    settings.SIGNATURE_VALIDATION_FETCH = True
    report = pdf_validate(pdf=sealed, fetch_revocation=level in ("B-B", "B-T"))
    assert report.is_valid, report.problem_codes
    seal = report.signatures[0]
    assert seal.level == level
    assert seal.signer_name == "Test Jobcenter Seal"
    assert seal.is_intact and seal.is_trusted and not seal.is_revoked
    assert (seal.timestamp_time is None) == (level == "B-B")
    if level == "B-LTA":
        assert [sig.kind for sig in report.signatures] == ["signature", "document_timestamp"]

    # poppler's pdfsig, an independent implementation.
    output = pdfsig(sealed, nss_dir, tmp_path)
    block = signature_blocks(output)[0]
    assert "Signature Validation: Signature is Valid." in block
    # NSS builds the chain to the test root and asks the loopback OCSP responder.
    assert "Certificate Validation: Certificate is Trusted." in block
    assert "Signer Certificate Common Name: Test Jobcenter Seal" in block
    if level in ("B-B", "B-T"):
        assert "- Total document signed" in block
    else:
        # Only the DSS (and for B-LTA the document time stamp) follows the seal.
        assert "- Not total document signed" in block


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_pkcs12_seal_at_each_level_is_valid_and_keeps_pdfa(
    seal_pki, settings, tmp_path, decision, level
):
    sealed = pdf_seal(pdf=decision, level=level, reason="Bescheid", location="Jobcenter")
    _assert_sealed(sealed, decision, level, settings, seal_pki.nss_dir(), tmp_path)


def test_default_level_is_b_lt(seal_pki, settings, decision):
    settings.SIGNATURE_VALIDATION_FETCH = False
    report = pdf_validate(pdf=pdf_seal(pdf=decision))
    assert report.is_valid
    assert report.signatures[0].level == "B-LT"


@pytest.mark.parametrize("level", ["B-B", "B-LT"])
def test_pkcs11_softhsm_seal_is_valid(seal_pki, settings, tmp_path, decision, level):
    for name, value in seal_pki.settings_for_pkcs11().items():
        setattr(settings, name, value)
    sealed = pdf_seal(pdf=decision, level=level)
    _assert_sealed(sealed, decision, level, settings, seal_pki.nss_dir(), tmp_path)


@pytest.mark.parametrize("level", ["B-T", "B-LTA"])
def test_remote_csc_seal_is_valid(seal_pki, settings, tmp_path, decision, level):
    for name, value in seal_pki.settings_for_csc().items():
        setattr(settings, name, value)
    sealed = pdf_seal(pdf=decision, level=level)
    _assert_sealed(sealed, decision, level, settings, seal_pki.nss_dir(), tmp_path)


def test_sealing_twice_adds_a_second_seal(seal_pki, settings, decision):
    settings.SIGNATURE_VALIDATION_FETCH = True
    twice = pdf_seal(pdf=pdf_seal(pdf=decision, level="B-B"), level="B-B")
    report = pdf_validate(pdf=twice, fetch_revocation=True)
    assert [sig.field_name for sig in report.signatures] == ["Seal1", "Seal2"]
    assert report.is_valid, report.problem_codes


def test_demo_pki_seal_is_trusted_by_pdfsig(settings, tmp_path, decision):
    """The self-signed demo PKI (make run) seals at B-LT with no network at all, and pdfsig
    accepts the whole chain once the demo root is in its trust store."""
    import subprocess

    settings.SEAL_KEY_SOURCE = "demo"
    settings.SEAL_DEMO_DIR = tmp_path / "demo"
    settings.SEAL_TSA_URL = ""
    settings.SEAL_TRUST_ROOTS = ""
    settings.SIGNATURE_VALIDATION_FETCH = False
    sealed = pdf_seal(pdf=decision)
    report = pdf_validate(pdf=sealed)
    assert report.is_valid, report.problem_codes
    assert report.signatures[0].level == "B-LT"
    assert "DEMO" in report.signatures[0].signer_organisation

    nss = tmp_path / "nss"
    nss.mkdir()
    for args in (
        ["-N", "--empty-password"],
        ["-A", "-n", "demo", "-t", "CT,C,C", "-a", "-i", str(tmp_path / "demo/demo-root.pem")],
    ):
        subprocess.run(
            ["certutil", "-d", f"sql:{nss}", *args],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
    block = signature_blocks(pdfsig(sealed, nss, tmp_path))[0]
    assert "Signature Validation: Signature is Valid." in block
    assert "Certificate Validation: Certificate is Trusted." in block


# --- outages and bad configuration: SealingUnavailable, nothing sealed


def test_tsa_down_raises_sealing_unavailable(seal_pki, decision):
    seal_pki.animator.stop()
    with pytest.raises(SealingUnavailable):
        pdf_seal(pdf=decision, level="B-T")


def test_ocsp_down_refuses_b_lt_but_b_b_still_works(seal_pki, decision):
    seal_pki.animator.stop()
    with pytest.raises(SealingUnavailable):
        pdf_seal(pdf=decision, level="B-LT")
    assert pdf_seal(pdf=decision, level="B-B").startswith(decision)


def test_csc_service_down_raises_sealing_unavailable(seal_pki, settings, decision):
    for name, value in seal_pki.settings_for_csc().items():
        setattr(settings, name, value)
    seal_pki.csc.stop()
    with pytest.raises(SealingUnavailable):
        pdf_seal(pdf=decision, level="B-B")


def test_csc_unknown_credential_raises_sealing_unavailable(seal_pki, settings, decision):
    for name, value in seal_pki.settings_for_csc().items():
        setattr(settings, name, value)
    settings.SEAL_CSC_CREDENTIAL_ID = "sprechstunde-test/no-such-key"
    with pytest.raises(SealingUnavailable):
        pdf_seal(pdf=decision, level="B-B")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SEAL_PKCS12_PASSPHRASE", "wrong"),
        ("SEAL_PKCS12_PATH", "/nonexistent/seal.p12"),
        ("SEAL_KEY_SOURCE", ""),
        ("SEAL_KEY_SOURCE", "carrier-pigeon"),
    ],
)
def test_bad_key_configuration_raises_sealing_unavailable(
    seal_pki, settings, decision, name, value
):
    setattr(settings, name, value)
    with pytest.raises(SealingUnavailable):
        pdf_seal(pdf=decision, level="B-B")


def test_wrong_token_pin_raises_sealing_unavailable(seal_pki, settings, decision):
    for name, value in seal_pki.settings_for_pkcs11().items():
        setattr(settings, name, value)
    settings.SEAL_PKCS11_PIN = "00000000"
    with pytest.raises(SealingUnavailable):
        pdf_seal(pdf=decision, level="B-B")


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\n garbage without structure"])
def test_sealing_bad_input_raises_invalid_pdf(seal_pki, data):
    with pytest.raises(InvalidPdfError):
        pdf_seal(pdf=data, level="B-B")


def test_unknown_level_is_a_programming_error(seal_pki, decision):
    with pytest.raises(ValueError, match="level"):
        pdf_seal(pdf=decision, level="B-XL")
