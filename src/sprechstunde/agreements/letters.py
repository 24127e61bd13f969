"""Printed letters for clients reached by post (issue 13, point 9): the invitation letter and
the appointment letter.

Each letter is PDF/A-2b (the decisions' path: rendering.html_to_pdfa), in the client's
language and in German (two parts, the client's first), with a QR code of its link, laid out
for a DIN 5008 window envelope, form B: the address field 45 mm from the top and 20 mm from
the left edge, 85 x 45 mm, its first 17.7 mm the sender's return line. The date and reference
stand in the information block beside it; the subject follows below.

The recipient's postal address is the one on the client's record (staff keep it on the
client's page); staff may correct it when printing, and what they type is printed, not stored.
Decisions carry the same window block (`recipient_lines`, `agreements/pdf/window.css`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import qrcode
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from sprechstunde.appointments import ical
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.links import join_link_url
from sprechstunde.appointments.models import Appointment
from sprechstunde.clients.mails import invitation_url
from sprechstunde.clients.models import Client, Invitation

from .rendering import html_to_pdfa

STYLESHEET = "agreements/pdf/letter.css"
# The address must fit the window: 9 lines of the address zone, minus the name line.
MAX_ADDRESS_LINES = 5
MAX_ADDRESS_LINE = 60


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR code of `data` as rows of dark (True) modules, with the 4-module quiet zone.
    Error correction M: a printed code still reads with a crease or a stain."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def qr_svg(data: str, *, size_mm: int = 32) -> SafeString:
    """The QR code as inline SVG (vector, nothing fetched): one square per dark module."""
    matrix = qr_matrix(data)
    n = len(matrix)
    path = "".join(
        f"M{x} {y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="qr" width="{size_mm}mm" '
        f'height="{size_mm}mm" viewBox="0 0 {n} {n}" shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )
    return mark_safe(svg)  # noqa: S308 - numbers only


def address_lines(raw: str) -> list[str]:
    """The typed postal address as at most MAX_ADDRESS_LINES non-empty, trimmed lines."""
    lines = [" ".join(line.split()) for line in raw.replace("\r", "\n").split("\n")]
    return [line[:MAX_ADDRESS_LINE] for line in lines if line][:MAX_ADDRESS_LINES]


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


# What staff may type before the name on its own line ("Frau Maria Muster", "Herrn ...").
_NAME_PREFIXES = ("", "frau ", "herr ", "herrn ", "mrs ", "mr ", "ms ")


def recipient_lines(*, client: Client, address: str) -> list[str]:
    """The window field under the return line: the client's name once, then the address.

    Staff often copy the whole block from the main system, name included; a line that is
    only the client's name (possibly with "Frau"/"Herrn" before it, or "Last, First") is left
    out, so the name is not printed twice (issue 15).
    """
    names = {_folded(client.full_name), _folded(f"{client.last_name}, {client.first_name}")}
    lines = [
        line
        for line in address_lines(address)
        if not any(_folded(line) == prefix + name for name in names for prefix in _NAME_PREFIXES)
    ]
    return [client.full_name, *lines]


def sender_line() -> str:
    """The return line above the address in the window: the Jobcenter's name and address."""
    return ", ".join(
        part.strip()
        for part in [settings.JOBCENTER_NAME, *settings.JOBCENTER_ADDRESS.splitlines()]
        if part.strip()
    )


def client_address_text(client: Client) -> str:
    """The client's stored postal address as the letter form's starting text."""
    return "\n".join(client.postal_address_lines)


@dataclass(frozen=True)
class LetterPart:
    """The letter's text in one language."""

    language: str
    name: str
    rtl: bool
    subject: str
    html: SafeString


def _languages(client: Client) -> list[str]:
    """The client's language first, then German (once, when that is hers)."""
    own = client.preferred_language
    if own not in dict(settings.LANGUAGES):
        own = settings.LANGUAGE_CODE
    return [own] if own == "de" else [own, "de"]


def _parts(
    *, client: Client, subject: Promise, body_template: str, context: dict[str, Any]
) -> list[LetterPart]:
    parts = []
    for language in _languages(client):
        info = translation.get_language_info(language)
        with translation.override(language):
            html = render_to_string(
                body_template,
                {**context, "client": client, "jobcenter_name": settings.JOBCENTER_NAME},
            )
            parts.append(
                LetterPart(
                    language=language,
                    name=info["name_local"],
                    rtl=bool(info["bidi"]),
                    subject=str(subject),
                    html=mark_safe(html),  # noqa: S308 - rendered by the template engine
                )
            )
    return parts


def letter_pdf(
    *,
    client: Client,
    address: str,
    subject: Promise,
    body_template: str,
    context: dict[str, Any],
    link: str,
    reference: str,
    today: datetime.date | None = None,
) -> bytes:
    """One letter as PDF/A-2b: window address, information block, both language parts."""
    parts = _parts(client=client, subject=subject, body_template=body_template, context=context)
    sender = sender_line()
    with translation.override("de"):
        html = render_to_string(
            "agreements/pdf/letter.html",
            {
                "client": client,
                "parts": parts,
                "first": parts[0],
                "sender_line": sender,
                "jobcenter_name": settings.JOBCENTER_NAME,
                "jobcenter_address": settings.JOBCENTER_ADDRESS,
                "jobcenter_phone": getattr(settings, "JOBCENTER_PHONE", ""),
                "recipient": recipient_lines(client=client, address=address),
                "today": today or timezone.localdate(),
                "reference": reference,
                "link": link,
                "link_html": mark_safe(escape(link).replace("/", "/<wbr>")),  # noqa: S308
                "qr": qr_svg(link) if link else "",
            },
        )
    return html_to_pdfa(html, stylesheet_template=STYLESHEET)


def invitation_letter_pdf(
    *, invitation: Invitation, token: str, address: str, today: datetime.date | None = None
) -> bytes:
    """The invitation letter: the single-use link (only in this letter) as text and QR."""
    client = invitation.client
    return letter_pdf(
        client=client,
        address=address,
        subject=_("Your invitation to the Sprechstunde portal"),
        body_template="agreements/pdf/letter_invitation.html",
        context={"expires_on": timezone.localdate(invitation.expires_at)},
        link=invitation_url(token),
        reference=f"E-{invitation.pk}",
        today=today,
    )


def appointment_link(appointment: Appointment) -> str:
    """What the appointment letter's QR code opens: the join link of a video appointment, the
    appointment page for a client with a portal account, else nothing."""
    if appointment.channel == Channel.VIDEO:
        return join_link_url(appointment=appointment)
    if appointment.client.user_id is not None:
        return ical.appointment_url(appointment, "client")
    return ""


def appointment_letter_pdf(
    *, appointment: Appointment, address: str, today: datetime.date | None = None
) -> bytes:
    """The appointment letter: when, how, with whom, and the link (video: the join link)."""
    assert appointment.starts_at is not None
    return letter_pdf(
        client=appointment.client,
        address=address,
        subject=_("Your appointment at the Jobcenter"),
        body_template="agreements/pdf/letter_appointment.html",
        context={
            "appointment": appointment,
            "starts_at": timezone.localtime(appointment.starts_at),
            "ends_at": timezone.localtime(appointment.ends_at) if appointment.ends_at else None,
            "case_manager_name": appointment.case_manager.display_name,
            "jobcenter_phone": getattr(settings, "JOBCENTER_PHONE", ""),
        },
        link=appointment_link(appointment),
        reference=f"T-{appointment.pk}",
        today=today,
    )
