"""Issue 13, point 4: the consent receipt in Arabic and Ukrainian carries the translated text,
runs right to left where the language does, and embeds every font it uses (pdffonts).
The browser pages name only fonts the system has: no web fonts, no font CDN."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.utils import translation

from sprechstunde.clients import receipts

from .conftest import accept, invite

pytestmark = pytest.mark.django_db

WITHDRAW = (
    "You can withdraw any consent at any time: on the page “Data protection” in the portal, "
    "or by post, by phone or in person."
)
APPS = Path(__file__).resolve().parents[2]


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The text as poppler's pdftotext reads it (logical order, shaping undone)."""
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    # pdftotext marks embedded runs with bidi controls (U+202A-U+202E, U+2066-U+2069).
    text = re.sub("[\u202a-\u202e\u2066-\u2069\u200e\u200f]", "", out.stdout.decode("utf-8"))
    return " ".join(text.split())


def pdf_fonts(pdf: bytes, tmp_path: Path) -> list[dict[str, str]]:
    """pdffonts' table, one dict per font: name, type, emb."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True)
    lines = out.stdout.splitlines()
    header = lines[0]
    # Columns are fixed-width under the dashes line; find "emb" by its position in the header.
    emb_at = header.index("emb")
    fonts = []
    for line in lines[2:]:
        if line.strip():
            fonts.append(
                {
                    "name": line.split()[0],
                    "emb": line[emb_at : emb_at + 3].strip(),
                }
            )
    return fonts


def receipt_in(language: str, client_record, case_manager, capture) -> bytes:
    issued = invite(client_record, case_manager, capture)
    client = accept(issued.token, language=language)
    consents = list(client.consents.select_related("text").order_by("given_at", "pk"))
    with translation.override(language):
        return receipts.consent_receipt_pdf(client=client, consents=consents)


@pytest.mark.parametrize("language", ["ar", "uk"])
def test_receipt_has_the_translated_text_and_embeds_every_font(
    language, client_record, case_manager, django_capture_on_commit_callbacks, tmp_path
):
    pdf = receipt_in(language, client_record, case_manager, django_capture_on_commit_callbacks)
    with translation.override(language):
        sentence = translation.gettext(WITHDRAW)
        title = translation.gettext("Receipt of your consents")
    assert sentence != WITHDRAW  # the catalogue has it, so the test looks for real text
    text = pdf_text(pdf, tmp_path)
    # Compared without spaces: pdftotext's bidi pass moves the space around neutral
    # punctuation in right-to-left runs ("وقت: في" comes out as "وقت :في").
    assert "".join(sentence.split()) in "".join(text.split())
    assert title in text
    assert "Klara Klient" in text
    fonts = pdf_fonts(pdf, tmp_path)
    assert fonts, "the receipt uses no font at all?"
    assert all(font["emb"] == "yes" for font in fonts), fonts


def test_arabic_receipt_runs_right_to_left_and_ukrainian_left_to_right(
    client_record, case_manager, django_capture_on_commit_callbacks
):
    from django.template.loader import render_to_string

    for language, direction in (("ar", "rtl"), ("fa", "rtl"), ("uk", "ltr")):
        with translation.override(language):
            html = render_to_string(
                "clients/receipt.html",
                {"client": client_record, "consents": [], "texts": [], "created_at": None},
            )
        assert re.search(rf'<html lang="{language}" dir="{direction}">', html), language


def test_pdf_font_covers_arabic_persian_and_cyrillic():
    """The receipt's first font (receipt.css) covers the scripts; fontconfig says so."""
    css = (
        Path(__file__).resolve().parents[1] / "templates" / "clients" / "pdf" / "receipt.css"
    ).read_text()
    first = re.search(r'font-family:\s*"([^"]+)"', css).group(1)
    for lang in ("ar", "fa", "uk", "ru"):
        out = subprocess.run(
            ["fc-list", f":lang={lang}", "family"], capture_output=True, check=True, text=True
        )
        families = {name.strip() for line in out.stdout.splitlines() for name in line.split(",")}
        assert first in families, (lang, first)


def test_browser_css_uses_system_fonts_only_and_names_arabic_script_fonts():
    css = "\n".join(path.read_text() for path in sorted(APPS.glob("**/static/**/*.css")))
    assert "@font-face" not in css
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css)
    for template in APPS.glob("**/templates/**/*.html"):
        text = template.read_text()
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, template
    rtl = re.search(r":lang\(ar\)[^{]*:lang\(fa\)[^{]*\{[^}]*font-family:([^;]+);", css)
    assert rtl, "no font stack for Arabic and Farsi pages"
    stack = rtl.group(1)
    for family in ("Noto Sans Arabic", "Segoe UI", "DejaVu Sans"):
        assert family in stack


def test_pages_may_load_fonts_from_this_site_only(client):
    """The browser itself refuses a font from any other host (Content-Security-Policy)."""
    response = client.get("/", headers={"accept-language": "ar"})
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
        if " " in directive.strip()
    )
    assert policy["font-src"] == "'self'"
    assert policy["style-src"] == "'self'"
