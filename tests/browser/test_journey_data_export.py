"""A client takes her data on a phone (360 x 740, German UI): from "Datenschutz" to "Meine
Daten", asks for a copy, follows its progress and downloads the ZIP, whose index page lists
her documents. And the accessibility statement: reachable from the footer, axe-clean, with a
feedback form that works without a login.

Every page passes axe, the keyboard walk and (for the client) the touch-target check.
"""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest
from django.urls import reverse

from sprechstunde.accessibility.models import AccessibilityFeedback
from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.agreements.factories import decision_in_postbox_for, portal_client
from sprechstunde.documents import storage_crypto
from sprechstunde.documents.models import Document
from sprechstunde.subject_access.models import DataExport
from sprechstunde.subject_access.services import data_export_build

from .support.checks import page_problems

pytestmark = pytest.mark.browser


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


def test_a_client_downloads_her_data_on_a_phone(new_context, screenshots, tmp_path):
    case_manager = CaseManagerFactory(first_name="Frauke", last_name="Maier")
    kim = portal_client(case_manager=case_manager, email="kim@example.org")
    kim.preferred_language = "de"
    kim.save()
    kim.user.preferred_language = "de"
    kim.user.save()
    payslip = _stored_document(kim, b"%PDF-1.4 Lohnabrechnung", "Lohnabrechnung")
    decision_in_postbox_for(kim)

    phone = new_context("phone", user=kim.user).new_page()
    phone.goto(reverse("clients:privacy"))
    phone.locator("#privacy-my-data").click()
    phone.wait_for_url(f"**{reverse('subject_access:portal')}")
    screenshots.take(phone, "my-data-360", full_page=False)
    problems = page_problems(phone, touch_targets=True)

    # Asking: the copy is made (at once here: tests run jobs immediately), then offered.
    phone.locator("#export-request").click()
    phone.locator("#export-download").wait_for()
    export = DataExport.objects.get(client=kim)
    assert phone.url.endswith(reverse("subject_access:detail", args=[export.pk]))
    screenshots.take(phone, "my-data-ready-360", full_page=False)
    problems += page_problems(phone, touch_targets=True)

    with phone.expect_download() as info:
        phone.locator("#export-download").click()
    path = tmp_path / "copy.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        content = json.loads(archive.read("data.json"))
        index = archive.read("index.html").decode()
        row = next(r for r in content["documents"] if r["id"] == payslip.pk)
        assert hashlib.sha256(archive.read(row["file"])).hexdigest() == payslip.sha256
    assert f'href="{row["file"]}"' in index
    assert "Wer Ihre Daten gelesen oder geändert hat" in index

    # A copy still being made: the page follows its progress and offers it once ready.
    pending = DataExport.objects.create(client=kim, requested_by=kim.user, channel="portal")
    phone.goto(reverse("subject_access:detail", args=[pending.pk]))
    assert phone.locator("#export-progress").is_visible()
    screenshots.take(phone, "my-data-progress-360", full_page=False)
    problems += page_problems(phone, touch_targets=True)
    assert data_export_build(export_id=pending.pk) == "ready"
    phone.locator("#export-download").wait_for()

    assert not problems, "\n".join(problems)


def test_the_accessibility_statement_from_the_footer(new_context, screenshots):
    phone = new_context("phone").new_page()
    phone.goto(reverse("account_login"))
    phone.locator("#footer-accessibility").click()
    phone.wait_for_url(f"**{reverse('accessibility:statement')}")
    assert phone.locator("#enforcement-body").is_visible()
    screenshots.take(phone, "accessibility-statement-360", full_page=False)
    problems = page_problems(phone, touch_targets=True)

    # Bad input: a clear message, nothing stored.
    phone.locator("#id_message").fill("kurz")
    phone.locator("#feedback-send").click()
    phone.locator("#id_message-error").wait_for()
    assert AccessibilityFeedback.objects.count() == 0
    problems += page_problems(phone, touch_targets=True)

    phone.locator("#id_message").fill(
        "Das Datumsfeld lässt sich mit dem Screenreader nicht bedienen."
    )
    phone.locator("#feedback-send").click()
    phone.locator(".message--success").wait_for()
    assert AccessibilityFeedback.objects.count() == 1

    assert not problems, "\n".join(problems)
