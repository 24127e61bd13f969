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
