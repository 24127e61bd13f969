"""The public page where anybody checks a letter from the Jobcenter, as a client opens it on a
phone in Arabic: a file whose sealed content was changed gets the headline that says so, in
her language and right to left, and the rows below agree with it. Passes axe, the touch-target
check and fits the screen. A copy of the screenshot is in docs/screenshots/."""

from __future__ import annotations

from pathlib import Path

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from sprechstunde.signatures.services import pdf_seal
from sprechstunde.signatures.tests.pdfs import decision_pdf, flip_signed_byte

from .support.checks import page_problems

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_a_changed_letter_is_named_as_changed_in_arabic_on_a_phone(
    live_app, new_context, screenshots, seal_pki, tmp_path
):
    changed = flip_signed_byte(pdf_seal(pdf=decision_pdf(pages=1), level="B-LT"))
    letter = tmp_path / "bescheid.pdf"
    letter.write_bytes(changed)

    phone = new_context(
        "phone", locale="ar", extra_http_headers={"Accept-Language": "ar"}
    ).new_page()
    phone.goto(reverse("signatures:public_check"))
    html = phone.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    problems = page_problems(phone, touch_targets=True)

    phone.set_input_files("#signature-check-form input[type=file]", str(letter))
    phone.locator("[data-action=check]").click()
    result = phone.locator("[data-result]")
    result.wait_for()
    assert phone.locator("#signature-report").get_attribute("data-verdict") == "changed"
    assert result.get_attribute("data-result") == "invalid"
    headline = result.inner_text()
    # The rows below agree with the headline: not intact, and the content itself changed
    # (the row's level, whatever the language of its text).
    assert phone.locator("[data-row=intact]").count() == 1
    intact = phone.locator("[data-row=intact]").inner_text()
    with translation.override("ar"):
        assert intact == str(_("yes,no")).split(",")[1]
    changes = phone.locator("[data-row=changes]")
    assert changes.get_attribute("data-level") == "signed_content_changed"
    with translation.override("ar"):
        assert changes.inner_text() == str(_("the signed content itself was changed"))
    # Arabic script, not the English or German msgid.
    assert any("\u0600" <= char <= "\u06ff" for char in headline), headline
    assert "changed" not in headline and "verändert" not in headline
    # The page fits a 360 px phone: nothing wider than the screen.
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    problems += page_problems(phone, touch_targets=True)
    screenshots.take(phone, "check-changed-ar-360")
    phone.screenshot(
        path=str(DOCS_SCREENSHOTS / "signature-check-changed-ar-360.png"),
        full_page=True,
        animations="disabled",
        scale="css",
    )
    assert not problems, "\n".join(problems)
