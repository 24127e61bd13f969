"""A case manager hands a client's records to the e-file (German UI, desktop): the xdomea
button beside the ZIP export downloads the 0401 message, which is valid against the official
schema; the hand-over page then lists the hand-over and nothing new. Both pages pass axe and
the keyboard walk."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse
from lxml import etree

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.agreements.factories import portal_client
from sprechstunde.documents import storage_crypto
from sprechstunde.documents.models import Document
from sprechstunde.efile.models import Handover

from .support.checks import page_problems

pytestmark = pytest.mark.browser

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "xdomea-3.0.0" / "xdomea.xsd"


def _stored_document(client, data: bytes, title: str) -> Document:
    key = storage_crypto.new_data_key()
    wrapped, key_id = storage_crypto.wrap_key(key)
    return Document.objects.create(
        client=client,
        uploaded_by_side="client",
        title=title,
        original_name=f"{title}.pdf",
        content_type="application/pdf",
        original_content_type="application/pdf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        status="ready",
        scan_status="clean",
        original_storage_name=storage_crypto.blob_write(data, data_key=key, kind="originals"),
        wrapped_key=wrapped,
        key_id=key_id,
    )


def test_a_case_manager_hands_the_records_to_the_efile(new_context, screenshots, tmp_path):
    case_manager = CaseManagerFactory(first_name="Frauke", last_name="Maier")
    kim = portal_client(case_manager=case_manager, email="kim@example.org")
    payslip = b"%PDF-1.4 Lohnabrechnung"
    _stored_document(kim, payslip, "Lohnabrechnung")

    page = new_context("desktop", user=case_manager).new_page()
    page.goto(reverse("documents:client_documents", kwargs={"client_pk": kim.pk}))
    button = page.locator("[data-xdomea]")
    assert "E-Akte übergeben (xdomea)" in button.inner_text()
    problems = page_problems(page, touch_targets=False)

    with page.expect_download() as info:
        button.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    handover = Handover.objects.get(client=kim)
    assert path.name == f"{handover.process_id}_Abgabe.Abgabe.0401.zip"
    with zipfile.ZipFile(path) as archive:
        xml = etree.fromstring(archive.read(f"{handover.process_id}_Abgabe.Abgabe.0401.xml"))
        files = [name for name in archive.namelist() if not name.endswith(".xml")]
        assert [archive.read(name) for name in files] == [payslip]
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(xml)

    page.locator("a", has_text="bisherige Übergaben").click()
    page.wait_for_url(f"**{reverse('efile:client', kwargs={'client_pk': kim.pk})}")
    assert page.locator("[data-nothing-pending]").is_visible()
    assert str(handover.process_id) in page.locator("#handover-table").inner_text()
    screenshots.take(page, "efile-hand-over")
    problems += page_problems(page, touch_targets=False)

    assert problems == [], "\n".join(problems)
