"""Filling a shipped form on a 360 x 640 phone as a client does: start it from the forms
page, one section per screen, attachments through the upload page, the review, the
one-time code and the "sent" page. Every screen is checked for sideways scrolling (nothing
may be wider than the 360 px screen) and for the page checks (axe, touch targets).

Used by the tests/browser/test_form_<slug>.py journeys.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.urls import reverse

from .auth import latest_code_for
from .checks import page_problems

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
PHONE_360 = {
    "viewport": {"width": 360, "height": 640},
    "screen": {"width": 360, "height": 640},
}
TIMEOUT_MS = 20_000

_WIDTHS_JS = """
() => ({
  view: window.innerWidth,
  html: document.documentElement.scrollWidth,
  body: document.body.scrollWidth,
  dir: document.documentElement.dir,
  lang: document.documentElement.lang,
  wide: [...document.querySelectorAll('body *')]
    .filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && (box.right > window.innerWidth + 1 || box.left < -1);
    })
    .slice(0, 5)
    .map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '')),
})
"""


def definitions_loaded() -> None:
    """The shipped forms as `manage.py eforms_load` stores them (the test database is
    emptied after every browser test)."""
    from sprechstunde.eforms.definitions import definitions_load

    definitions_load()


class FormJourney:
    """One client's way through one form on her phone; collects the problems found."""

    def __init__(self, page: Any, screenshots: Any, slug: str, *, language: str = "de") -> None:
        self.page = page
        self.screenshots = screenshots
        self.slug = slug
        self.language = language
        self.problems: list[str] = []
        self.checked: list[str] = []
        self.submission_pk: int | None = None
        page.set_default_timeout(TIMEOUT_MS)

    # --- checks -------------------------------------------------------------------------

    def check(self, name: str) -> None:
        """The screen fits 360 px (no sideways scrolling), is in the client's language and
        direction, and passes axe and the touch-target check."""
        page = self.page
        page.wait_for_load_state()
        widths = page.evaluate(_WIDTHS_JS)
        if max(widths["html"], widths["body"]) > widths["view"]:
            self.problems.append(
                f"{name}: scrolls sideways ({widths['html']} px / {widths['body']} px at "
                f"{widths['view']} px; too wide: {widths['wide']})"
            )
        if widths["lang"] != self.language:
            self.problems.append(f"{name}: <html lang={widths['lang']!r}>")
        expected_dir = "rtl" if self.language in {"ar", "fa"} else "ltr"
        if (widths["dir"] or "ltr") != expected_dir:
            self.problems.append(f"{name}: <html dir={widths['dir']!r}>")
        self.problems += [
            f"{name}: {problem}" for problem in page_problems(page, touch_targets=True)
        ]
        self.screenshots(page, name)
        self.checked.append(name)

    def assert_fine(self) -> None:
        assert not self.problems, "\n".join(self.problems)

    def keep_screenshot(self, *, full_page: bool = True) -> Path:
        """The current screen as docs/screenshots/form-<slug>-360.png."""
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = DOCS_SCREENSHOTS / f"form-{self.slug}-360.png"
        self.page.screenshot(
            path=str(path), full_page=full_page, animations="disabled", scale="css"
        )
        return path

    # --- moving through the form ----------------------------------------------------------

    def start(self) -> int:
        page = self.page
        page.goto(reverse("eforms:portal_list"))
        self.check("list")
        page.get_by_test_id(f"start-{self.slug}").click()
        self.wait_path(r"/formulare/portal/\d+/abschnitt/")
        match = re.search(r"/portal/(\d+)/abschnitt/", page.url)
        assert match, page.url
        self.submission_pk = int(match.group(1))
        return self.submission_pk

    def section_key(self) -> str:
        match = re.search(r"/abschnitt/([^/]+)/", self.page.url)
        return match.group(1) if match else ""

    def wait_path(self, pattern: str) -> None:
        """Waits until the page's path matches (polling: a navigation that ended before the
        wait began counts too), then for the page to be loaded."""
        self.page.wait_for_function(
            "(pattern) => new RegExp(pattern).test(location.pathname)", arg=pattern
        )
        self.page.wait_for_load_state()

    def on_section(self, key: str) -> None:
        self.wait_path(rf"/abschnitt/{re.escape(key)}/$")

    def next(self) -> None:
        self.page.get_by_test_id("next").click()
        self.page.wait_for_load_state()

    def fill(self, name: str, value: str) -> None:
        self.page.locator(f"[name='{name}']").fill(value)

    def choose(self, name: str, value: str) -> None:
        self.page.get_by_test_id(f"{name}-{value}").check()

    def select(self, name: str, value: str) -> None:
        self.page.locator(f"select[name='{name}']").select_option(value)

    def error(self, name: str) -> str:
        """The message at a field (waits for it)."""
        locator = self.page.get_by_test_id(f"error-{name}")
        locator.wait_for()
        return locator.inner_text()

    def errors(self) -> list[str]:
        return [
            (element.get_attribute("data-testid") or "").removeprefix("error-")
            for element in self.page.locator(".errorlist[data-testid^='error-']").all()
        ]

    def value(self, name: str) -> str:
        return self.page.locator(f"[name='{name}']").input_value()

    def attach(self, key: str, files: list[dict[str, Any]]) -> None:
        """Adds files to an attachment field through the upload page; back on the section,
        the file is listed at its field."""
        page = self.page
        section = self.section_key()
        page.get_by_test_id(f"attach-{key}").click()
        self.wait_path(rf"/anhang/{re.escape(key)}/$")
        self.check(f"attach-{key}")
        page.locator("#id_files").set_input_files(files)
        page.locator("[data-upload-item]").nth(len(files) - 1).wait_for()
        page.get_by_test_id("attach-send").click()
        self.on_section(section)
        page.get_by_test_id(f"attachment-{key}").first.wait_for()

    # --- review, code, sent -----------------------------------------------------------------

    def review(self) -> Any:
        page = self.page
        self.wait_path(r"/pruefen/$")
        assert page.get_by_test_id("problems").count() == 0, page.get_by_test_id(
            "problems"
        ).inner_text()
        self.check("review")
        return page

    def confirm(self, email: str, *, wrong_code_first: bool = True) -> None:
        """Asks for the code, enters it (a wrong one first: a message at the field, the form
        stays as it is), and lands on the "sent" page."""
        page = self.page
        page.get_by_test_id("send-code").click()
        self.wait_path(r"/bestaetigen/$")
        code = latest_code_for(email)
        self.check("code")
        if wrong_code_first:
            wrong = f"{(int(code) + 1) % 1_000_000:06d}"
            page.locator("#id_code").fill(wrong)
            page.get_by_test_id("submit-form").click()
            self.error("code")
            assert page.locator("#id_code").get_attribute("aria-invalid") == "true"
        page.locator("#id_code").fill(code)
        page.get_by_test_id("submit-form").click()
        self.wait_path(r"/gesendet/$")
        page.get_by_test_id("done").wait_for()
        self.check("sent")


def form_client(*, language: str = "de", email: str = "amira@example.org") -> Any:
    """A client with a portal account and consent, speaking `language`, and her case
    manager (`client.case_manager`)."""
    from sprechstunde.accounts.factories import CaseManagerFactory, TeamFactory
    from sprechstunde.agreements.factories import portal_client

    case_manager = CaseManagerFactory(team=TeamFactory(), first_name="Frauke", last_name="Maier")
    client = portal_client(case_manager=case_manager, email=email, delivery=False)
    client.preferred_language = language
    client.first_name, client.last_name = "Amira", "Haddad"
    client.save()
    client.user.preferred_language = language
    client.user.save()
    return client


def phone_page(new_context: Any, client: Any, *, language: str = "de") -> Any:
    """Her phone: 360 x 640, logged in, the browser in her language."""
    options: dict[str, Any] = dict(PHONE_360)
    if language != "de":
        options |= {"locale": language, "extra_http_headers": {"Accept-Language": language}}
    return new_context("phone", user=client.user, **options).new_page()


def photo(name: str, band: tuple[int, int, int] = (30, 60, 200)) -> dict[str, Any]:
    """A phone photo of one page, as the file input hands it over."""
    from sprechstunde.documents.testing import photo_jpeg

    return {
        "name": name,
        "mimeType": "image/jpeg",
        "buffer": photo_jpeg(size=(600, 800), band=band, orientation=1),
    }
