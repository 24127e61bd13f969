"""The log of a whole journey holds no personal data (issue 16, item 5; ADR 0081).

A client logs in by code, books an appointment, writes a message and uploads a file; her
case manager then finds her, reads her page, the conversation and the document. Every log
record written meanwhile, at every level, is rendered as the JSON line production writes,
and none may hold her e-mail address, her name, the message's text, the file's name or the
document's title.
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.test import Client as BrowserClient
from django.urls import reverse

from sprechstunde.appointments.factories import OfficeHoursFactory
from sprechstunde.appointments.models import Appointment
from sprechstunde.core.log_format import JsonFormatter
from sprechstunde.core.request_ids import RequestIdFilter
from sprechstunde.documents.factories import pdf_bytes
from sprechstunde.documents.models import Document
from sprechstunde.messaging.factories import portal_client_create
from sprechstunde.messaging.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "wilhelmine.zauberkraut@example.org"
FIRST_NAME = "Wilhelmine"
LAST_NAME = "Zauberkraut"
MESSAGE_TEXT = "Mein Vermieter Quastenflosser hat die Kaution einbehalten"
FILE_NAME = "Kontoauszug-Ringelblume.pdf"
TITLE = "Nebenkostenabrechnung Pfefferminzweg"

SECRETS = {
    "e-mail address": [EMAIL, EMAIL.split("@")[0]],
    "name": [FIRST_NAME, LAST_NAME],
    "message text": [MESSAGE_TEXT, "Quastenflosser"],
    "file name": [FILE_NAME, "Ringelblume"],
    "document title": [TITLE, "Pfefferminzweg"],
}


class JsonLines(logging.Handler):
    """Renders every record as production does (the request id filter, the JSON format)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def personal_data_in(lines: list[str]) -> list[tuple[str, str]]:
    """(kind, line) for every line holding one of the client's secrets, in any case."""
    found = []
    for line in lines:
        folded = line.casefold()
        for kind, values in SECRETS.items():
            if any(value.casefold() in folded for value in values):
                found.append((kind, line))
    return found


@pytest.fixture
def json_log():
    """Every record at the most talkative level an operator can choose (LOG_LEVEL=DEBUG on
    the root logger; the loggers the settings pin stay pinned), for the length of the test."""
    handler = JsonLines()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _next_free_slot(page: str) -> str:
    part = page.split("data-next-slot", 1)[1].split("</ul>", 1)[0]
    hrefs = [chunk.split('"', 1)[0].replace("&amp;", "&") for chunk in part.split('href="')[1:]]
    return next(href for href in hrefs if "channel=phone" in href)


def test_the_log_of_a_whole_journey_holds_no_personal_data(
    json_log, case_manager, documents_configured, django_capture_on_commit_callbacks
):
    documents_configured.LANGUAGE_CODE = "en"
    record = portal_client_create(
        case_manager=case_manager, email=EMAIL, first_name=FIRST_NAME, last_name=LAST_NAME
    )
    OfficeHoursFactory(case_manager=case_manager)
    mail.outbox.clear()
    portal = BrowserClient(headers={"accept-language": "en"})

    # 1. Login by code.
    with django_capture_on_commit_callbacks(execute=True):
        asked = portal.post(reverse("account_request_login_code"), {"email": EMAIL})
    assert asked.status_code == 302
    (code,) = re.findall(r"\b(\d{6})\b", mail.outbox[-1].body)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = portal.post(reverse("account_confirm_login_code"), {"code": code})
    assert confirmed.status_code == 302
    assert portal.get(reverse("clients:portal_home")).status_code == 200

    # 2. Booking.
    slot = _next_free_slot(portal.get(reverse("appointments:portal_book")).content.decode())
    query = {key: values[0] for key, values in parse_qs(urlsplit(slot).query).items()}
    with django_capture_on_commit_callbacks(execute=True):
        booked = portal.post(reverse("appointments:portal_book_confirm"), query)
    assert booked.status_code == 302
    assert Appointment.objects.filter(client=record).exists()

    # 3. A message.
    with django_capture_on_commit_callbacks(execute=True):
        sent = portal.post(
            reverse("messaging:portal"), {"body": MESSAGE_TEXT, "client_msg_id": str(uuid.uuid4())}
        )
    assert sent.status_code in (200, 302)
    assert Message.objects.filter(body=MESSAGE_TEXT).exists()

    # 4. An upload (the form without JavaScript), checked by the real clamd.
    upload = io.BytesIO(pdf_bytes(1))
    upload.name = FILE_NAME
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = portal.post(reverse("documents:upload"), {"files": [upload], "title": TITLE})
    assert uploaded.status_code == 302
    document = Document.objects.get(client=record)
    assert document.original_name == FILE_NAME

    # 5. The case manager (her second factor comes from the factory) finds the client and
    # reads her page, the conversation and the document.
    staff = BrowserClient(headers={"accept-language": "en"})
    staff.force_login(case_manager)
    found = staff.get(reverse("clients:list"), {"q": LAST_NAME})
    assert LAST_NAME in found.content.decode()
    for url in (
        reverse("clients:detail", args=[record.pk]),
        reverse("messaging:client_conversation", kwargs={"client_pk": record.pk}),
        reverse("documents:client_documents", kwargs={"client_pk": record.pk}),
        reverse("documents:detail", kwargs={"pk": document.pk}),
        reverse("documents:download", kwargs={"pk": document.pk}),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = staff.get(url)
        assert response.status_code == 200, url
    # A refused look at a document that does not exist (logged by Django as "Not Found").
    assert staff.get(reverse("documents:detail", kwargs={"pk": document.pk + 999})).status_code
    portal.post(reverse("account_logout"))

    lines = list(json_log.lines)
    assert lines, "the journey wrote no log record at all: the capture is broken"
    assert all(json.loads(line)["message"] is not None for line in lines)
    assert personal_data_in(lines) == []
    # Lines written while a request ran carry its id.
    assert any(json.loads(line)["request_id"] for line in lines)

    # The check itself finds what it looks for: a line with the address is caught.
    logging.getLogger("sprechstunde.probe").info("mail to %s", EMAIL)
    probe = personal_data_in(json_log.lines[len(lines) :])
    assert "e-mail address" in {kind for kind, _line in probe}
