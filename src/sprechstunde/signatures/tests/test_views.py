"""The check pages through the test client: upload limits, the report, access and audit."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from sprechstunde.audit.models import AuditEntry
from sprechstunde.signatures.services import pdf_seal

from .pdfs import decision_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def decision() -> bytes:
    return decision_pdf(pages=1)


def _upload(data: bytes, name: str = "bescheid.pdf") -> dict[str, SimpleUploadedFile]:
    return {"document": SimpleUploadedFile(name, data, content_type="application/pdf")}


def test_check_page_needs_login(client):
    response = client.get(reverse("signatures:check"))
    assert response.status_code == 302


def test_staff_check_shows_a_valid_report_and_audits_the_hash(
    client, case_manager, seal_pki, settings, decision
):
    settings.SIGNATURE_VALIDATION_FETCH = True
    client.force_login(case_manager)
    sealed = pdf_seal(pdf=decision, level="B-T")
    response = client.post(reverse("signatures:check"), _upload(sealed))
    assert response.status_code == 200
    report = response.context["report"]
    assert report.is_valid
    assert b'data-result="valid"' in response.content
    assert b"Test Jobcenter Seal" in response.content
    entry = AuditEntry.objects.get(action="signature.validate")
    assert entry.actor_id == case_manager.pk
    assert entry.target_id == report.sha256


def test_tampered_pdf_report_names_the_reason(client, case_manager, seal_pki, settings, decision):
    from .pdfs import hidden_content_change

    settings.SIGNATURE_VALIDATION_FETCH = True
    client.force_login(case_manager)
    tampered = hidden_content_change(pdf_seal(pdf=decision, level="B-B"))
    response = client.post(reverse("signatures:check"), _upload(tampered))
    assert response.status_code == 200
    assert b'data-result="invalid"' in response.content
    assert b'data-problem="modified"' in response.content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n not a pdf", b"This file is not a PDF."),
        (b"%PDF-1.7\n" + b"x" * 2048, b"The file is too large."),
    ],
)
def test_bad_uploads_get_a_clear_message_and_no_audit(
    client, case_manager, settings, data, message
):
    settings.SIGNATURE_VALIDATION_MAX_BYTES = 1024
    client.force_login(case_manager)
    response = client.post(reverse("signatures:check"), _upload(data))
    assert response.status_code == 400
    assert message in response.content
    assert not AuditEntry.objects.filter(action="signature.validate").exists()


def test_missing_file_is_a_form_error(client, case_manager):
    client.force_login(case_manager)
    response = client.post(reverse("signatures:check"), {})
    assert response.status_code == 400
    assert response.context["form"].errors["document"]


def test_public_page_works_without_login(client, seal_pki, settings, decision):
    settings.SIGNATURE_VALIDATION_FETCH = True
    assert client.get(reverse("signatures:public_check")).status_code == 200
    sealed = pdf_seal(pdf=decision, level="B-B")
    response = client.post(reverse("signatures:public_check"), _upload(sealed))
    assert response.status_code == 200
    assert response.context["report"].signatures[0].is_platform_seal
    entry = AuditEntry.objects.get(action="signature.public_check")
    assert entry.actor_id is None


def test_public_page_rejects_an_unsigned_pdf(client, seal_pki, decision):
    response = client.post(reverse("signatures:public_check"), _upload(decision))
    assert response.status_code == 200
    assert b'data-problem="no_signatures"' in response.content


@pytest.mark.german_ui
def test_report_is_in_german_by_default(client, seal_pki, decision):
    response = client.post(reverse("signatures:public_check"), _upload(b"%PDF-1.7 broken"))
    assert response.status_code == 200
    assert 'lang="de"' in response.content.decode()


def test_demo_pki_command_creates_a_marked_demo_pki(settings, tmp_path):
    settings.SEAL_DEMO_DIR = tmp_path / "seal-demo"
    call_command("signatures_demo_pki")
    root = (tmp_path / "seal-demo" / "demo-root.pem").read_text()
    assert "BEGIN CERTIFICATE" in root
    assert "never use it in production" in (tmp_path / "seal-demo" / "README.txt").read_text()
    assert oct((tmp_path / "seal-demo" / "demo-seal.p12").stat().st_mode & 0o777) == "0o600"


@pytest.fixture
def one_minute(monkeypatch):
    """Hold the clock of the public check's counters inside one minute.

    The counters are per wall-clock minute; a slow run (each check validates a seal) can
    otherwise cross into the next minute half-way through a test and start fresh counters.
    """
    from types import SimpleNamespace

    from sprechstunde.signatures import services

    frozen = (int(services.time.time()) // 60) * 60 + 30.0
    # Only the wall clock stands still; durations (the seal's latency metric) still run.
    clock = services.time
    monkeypatch.setattr(
        services,
        "time",
        SimpleNamespace(
            time=lambda: frozen, monotonic=clock.monotonic, perf_counter=clock.perf_counter
        ),
    )


def _public_post(client, data: bytes, address: str = "203.0.113.7"):
    return client.post(reverse("signatures:public_check"), _upload(data), REMOTE_ADDR=address)


def test_public_page_is_limited_per_address_and_then_checks_nothing(
    client, seal_pki, settings, decision, one_minute
):
    settings.SIGNATURE_PUBLIC_CHECK_PER_ADDRESS = 2
    sealed = pdf_seal(pdf=decision, level="B-LT")
    for _attempt in range(2):
        assert _public_post(client, sealed).status_code == 200

    refused = _public_post(client, sealed)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) in range(1, 61)
    assert b"Too many documents were checked in a short time." in refused.content
    assert b'data-refusal="rate-limited"' in refused.content
    assert refused.context.get("report") is None
    assert AuditEntry.objects.filter(action="signature.public_check").count() == 2
    # Another address still gets its checks; the same /64 of an IPv6 client does not.
    assert _public_post(client, sealed, address="198.51.100.9").status_code == 200
    assert _public_post(client, sealed, address="2001:db8:1:2::1").status_code == 200
    assert _public_post(client, sealed, address="2001:db8:1:2::2").status_code == 200
    assert _public_post(client, sealed, address="2001:db8:1:2:ffff::3").status_code == 429


def test_public_page_has_a_cap_for_all_addresses_together(
    client, seal_pki, settings, decision, one_minute
):
    settings.SIGNATURE_PUBLIC_CHECK_PER_ADDRESS = 10
    settings.SIGNATURE_PUBLIC_CHECK_TOTAL = 3
    for number in range(3):
        assert _public_post(client, decision, address=f"198.51.100.{number}").status_code == 200
    assert _public_post(client, decision, address="198.51.100.200").status_code == 429
    assert AuditEntry.objects.filter(action="signature.public_check").count() == 3


@pytest.mark.german_ui
def test_rate_limit_message_is_german_by_default(seal_pki, settings, decision):
    from django.test import Client

    settings.SIGNATURE_PUBLIC_CHECK_PER_ADDRESS = 0
    response = _public_post(Client(), decision)
    assert response.status_code == 429
    assert "Zu viele Dokumente" in response.content.decode()


def test_staff_check_page_is_not_rate_limited_by_the_public_budget(
    client, case_manager, seal_pki, settings, decision
):
    settings.SIGNATURE_PUBLIC_CHECK_PER_ADDRESS = 0
    client.force_login(case_manager)
    response = client.post(reverse("signatures:check"), _upload(decision))
    assert response.status_code == 200


@pytest.mark.parametrize("url_name", ["signatures:public_check", "signatures:check"])
@pytest.mark.parametrize("bomb", ["objstm", "hex_flate"])
def test_a_decompression_bomb_is_refused_before_pyhanko_reads_it(
    client, case_manager, monkeypatch, url_name, bomb
):
    """pyHanko unpacks object streams in the web process: the upload check's budget, in its
    limited child, must refuse a bomb first (issue 11). The bomb unpacks to 1 GB."""
    from sprechstunde.documents.tests import pdf_bombs
    from sprechstunde.signatures import services

    def must_not_run(**kwargs):
        raise AssertionError("pdf_validate ran on a bomb")

    monkeypatch.setattr(services, "pdf_validate", must_not_run)
    if url_name == "signatures:check":
        client.force_login(case_manager)
    data = pdf_bombs.objstm_bomb() if bomb == "objstm" else pdf_bombs.hex_flate_bomb()
    response = client.post(reverse(url_name), _upload(data))
    assert response.status_code == 400
    assert "unpacks to an unreasonable size" in response.content.decode()
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()
