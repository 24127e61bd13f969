"""The check page's headline tells the four cases apart, and its rows never contradict it.

Four real files (issue 15, item 6): a PDF sealed by the platform; the same with bytes of its
signed range altered; a PDF signed by a self-made certificate nobody trusts; an unsigned PDF.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sprechstunde.signatures.services import pdf_seal, pdf_validate
from sprechstunde.signatures.testing import homemade_signed_pdf

from .pdfs import decision_pdf, flip_signed_byte

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return decision_pdf(pages=1)


@pytest.fixture
def four_files(seal_pki, unsigned) -> dict[str, bytes]:
    # B-LT carries its revocation data, so the public page (which fetches nothing) can confirm it.
    sealed = pdf_seal(pdf=unsigned, level="B-LT")
    changed = flip_signed_byte(sealed)
    assert changed != sealed and len(changed) == len(sealed)
    foreign = homemade_signed_pdf(unsigned, url="http://127.0.0.1:9/", embed_root=True).pdf
    return {"valid": sealed, "changed": changed, "untrusted": foreign, "unsigned": unsigned}


def _post(client, url_name: str, data: bytes):
    upload = SimpleUploadedFile("bescheid.pdf", data, content_type="application/pdf")
    response = client.post(reverse(url_name), {"document": upload})
    assert response.status_code == 200
    return response


def _headline(html: str) -> str:
    match = re.search(r'data-result="\w+">(.*?)</p>', html, flags=re.DOTALL)
    assert match, html
    return " ".join(match.group(1).split())


def _rows(html: str, row: str) -> list[str]:
    return [value.strip() for value in re.findall(rf'data-row="{row}"[^>]*>([^<]*)<', html)]


PUBLIC_HEADLINES = {
    "valid": "Valid: this document carries our intact seal.",
    "changed": "Not valid: the content of this document was changed after we sealed it.",
    "untrusted": "Not valid: this document is sealed, but not with our seal. "
    "The key that sealed it is not one we trust.",
    "unsigned": "Not valid: this document carries no seal.",
}


@pytest.mark.parametrize("case", list(PUBLIC_HEADLINES))
def test_public_page_headline_names_the_case_and_rows_agree(client, four_files, case):
    response = _post(client, "signatures:public_check", four_files[case])
    html = response.content.decode()
    assert response.context["report"].verdict == case
    assert f'data-verdict="{case}"' in html
    assert _headline(html) == PUBLIC_HEADLINES[case]
    # No other headline sneaks in beside the one that applies.
    for other, text in PUBLIC_HEADLINES.items():
        if other != case:
            assert text not in html
    if case == "valid":
        assert _rows(html, "intact") == ["yes"]
        assert _rows(html, "trusted") == ["yes"]
        assert _rows(html, "our-seal") == ["yes"]
    elif case == "changed":
        assert _rows(html, "intact") == ["no"]
        # Before the fix this row said "only validation data and time stamps added".
        assert _rows(html, "changes") == ["the signed content itself was changed"]
        assert "only validation data" not in html
    elif case == "untrusted":
        assert _rows(html, "intact") == ["yes"]
        assert _rows(html, "trusted") == ["no"]
        assert _rows(html, "our-seal") == ["no"]
        assert "changed" not in _headline(html)
    else:
        assert 'data-row="' not in html  # no signature, so no signature rows


STAFF_HEADLINES = {
    "valid": "Valid: all signatures are intact and trusted.",
    "changed": "Not valid: the content was changed after it was signed.",
    "untrusted": "Not valid: the document is signed, but by a key we do not trust.",
    "unsigned": "Not valid: this document carries no signature.",
}


@pytest.mark.parametrize("case", list(STAFF_HEADLINES))
def test_staff_page_headline_names_the_case(client, case_manager, settings, four_files, case):
    settings.SIGNATURE_VALIDATION_FETCH = True
    client.force_login(case_manager)
    html = _post(client, "signatures:check", four_files[case]).content.decode()
    assert _headline(html) == STAFF_HEADLINES[case]


def test_a_changed_file_is_changed_even_when_its_signer_is_untrusted(seal_pki, unsigned):
    foreign = homemade_signed_pdf(unsigned, url="http://127.0.0.1:9/", embed_root=True).pdf
    report = pdf_validate(pdf=flip_signed_byte(foreign), platform_only=True)
    assert report.verdict == "changed"
    assert report.signatures[0].modification_level == "signed_content_changed"


def test_an_unreadable_file_is_not_called_unsigned(seal_pki):
    assert pdf_validate(pdf=b"%PDF-1.7\n" + bytes(range(256)) * 8).verdict == "unreadable"


@pytest.mark.german_ui
def test_public_headlines_are_german_by_default(seal_pki, four_files):
    from django.test import Client

    browser = Client()
    expected = {
        "valid": "Gültig: Dieses Dokument trägt unser unversehrtes Siegel.",
        "changed": "Nicht gültig: Der Inhalt dieses Dokuments wurde geändert, nachdem wir es "
        "gesiegelt haben.",
        "untrusted": "Nicht gültig: Dieses Dokument ist gesiegelt, aber nicht mit unserem "
        "Siegel. Dem Schlüssel, mit dem es gesiegelt wurde, vertrauen wir nicht.",
        "unsigned": "Nicht gültig: Dieses Dokument trägt kein Siegel.",
    }
    for case, text in expected.items():
        response = _post(browser, "signatures:public_check", four_files[case])
        assert _headline(response.content.decode()) == text
