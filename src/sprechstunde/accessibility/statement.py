"""The content of the accessibility statement that follows from how the app is tested: what
the automated checks cover, and the known gaps (what fails, or what no check covers).

Keep this true: when a test starts to cover a criterion, or a gap is closed, change it here
(docs/decisions/0065-accessibility-statement-and-feedback.md says how it was derived).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Check:
    """One automated check that runs in CI on the pages."""

    title: Promise
    scope: Promise


@dataclass(frozen=True)
class Gap:
    """One known barrier or unchecked area, with the WCAG criterion it concerns."""

    key: str
    criterion: str
    title: Promise
    detail: Promise
    alternative: Promise


CHECKS: tuple[Check, ...] = (
    Check(
        _("axe-core (all WCAG 2.0, 2.1 and 2.2 level A and AA rules and best practices)"),
        _(
            "every page reachable for each role, in German, in a browser "
            "(tests/browser/test_every_page.py)"
        ),
    ),
    Check(
        _(
            "Keyboard: Tab reaches the main action of each page, and every focused element shows "
            "a focus ring"
        ),
        _("every page of the same crawl"),
    ),
    Check(
        _("Touch targets of at least 44 x 44 pixels"),
        _("the pages for clients, on a 360 pixel wide phone screen"),
    ),
    Check(
        _("No request to other servers (no outside fonts, scripts or trackers)"),
        _("every page of the browser tests"),
    ),
)

GAPS: tuple[Gap, ...] = (
    Gap(
        "live-captions",
        "WCAG 1.2.4",
        _("No live captions in video consultations"),
        _(
            "Speech in a video consultation is not captioned. The case manager can invite a sign-"
            "language or spoken-language interpreter to the call."
        ),
        _("Ask for an interpreter, or for a consultation by text message or in person."),
    ),
    Gap(
        "pdf-tags",
        "WCAG 1.3.1, EN 301 549 10",
        _("PDF letters are not tagged for screen readers"),
        _(
            "Plans and decisions are made as PDF/A-2b, which does not guarantee tags and reading "
            "order (PDF/UA is not checked). Their content is also shown as a web page in the "
            "portal."
        ),
        _("Read the letter on its page in the portal, or ask for it in another form."),
    ),
    Gap(
        "uploaded-documents",
        "WCAG 1.1.1",
        _("Documents sent by people have no text alternative"),
        _(
            "Photos and PDFs that clients or staff upload are shown as page images without a "
            "description of their content."
        ),
        _("Ask your case manager to read a document out or to describe it."),
    ),
    Gap(
        "sign-language",
        "BITV 2.0 § 4",
        _("The video in German Sign Language is the operator's to provide"),
        _(
            "Four texts in Leichte Sprache explain the portal (linked in every footer). BITV 2.0 "
            "also asks for an explanation in German Sign Language; the page for it shows the "
            "operator's video once one is set, and until then names the other ways."
        ),
        _("Ask us by phone or in person; we explain the portal to you."),
    ),
    Gap(
        "not-automated",
        "WCAG 1.4.10, 1.4.12, 1.4.13, 2.2.1, 2.5.3, 4.1.3",
        _("What the automated checks cannot see"),
        _(
            "No automated check covers: zoom to 400 % and text spacing, the quality of text "
            "alternatives, what screen readers announce while things change (video call, chat, "
            "upload progress), and time limits (login codes and sessions expire). These were not "
            "yet tested by people with assistive technology."
        ),
        _("Tell us with the form below where something does not work for you."),
    ),
)
