"""SMS as a channel (issue 13, point 8): content-free texts, a gateway client tested against a
local gateway that can fail, retries, delivery reports, and numbers in E.164."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import timezone

from sprechstunde.accounts.factories import CaseManagerFactory
from sprechstunde.appointments import services as appointment_services
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.mails import SMS_KINDS, appointment_sms_text
from sprechstunde.clients import services as client_services
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.core.errors import ApplicationError
from sprechstunde.core.models import SmsMessage
from sprechstunde.core.sms import sms_deliver, sms_queue
from sprechstunde.core.sms_gateway import SmsError
from sprechstunde.core.testing.sms_gateway import LocalSmsGateway

pytestmark = pytest.mark.django_db

SMS_TEMPLATES = Path(settings.BASE_DIR) / "src" / "sprechstunde" / "templates" / "sms"

# What must never reach a text message: who the client is and what her case is about.
SENSITIVE = {
    "first_name": "Yasemin",
    "last_name": "Geheimnisträger",
    "full_name": "Yasemin Geheimnisträger",
    "client_name": "Yasemin Geheimnisträger",
    "email": "yasemin.geheim@example.org",
    "text": "Mein Mietvertrag ist gekündigt",
    "body": "Sanktion wegen Meldeversäumnis",
    "subject": "Widerspruch gegen Bescheid",
    "title": "Bewilligungsbescheid Bürgergeld",
    "amount": "563,00 EUR",
    "file_name": "Kontoauszug_Sparkasse.pdf",
    "customer_number": "123D456789",
    "location": "Zimmer 4.12, Schuldnerberatung",
}


@pytest.fixture
def gateway(settings):
    with LocalSmsGateway() as local:
        settings.SMS_GATEWAY_URL = local.url
        settings.SMS_GATEWAY_TOKEN = "gw-token"
        settings.SMS_STATUS_TOKEN = "report-token"
        yield local


def _sms_only_client(**extra):
    return ClientFactory(
        case_manager=CaseManagerFactory(),
        email="",
        mobile_number="+491701234567",
        first_name=SENSITIVE["first_name"],
        last_name=SENSITIVE["last_name"],
        **extra,
    )


def _book(client, channel=Channel.PHONE):
    start = (timezone.now() + datetime.timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return appointment_services.appointment_book(
        actor=client.case_manager,
        client=client,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        channel=channel,
        location=SENSITIVE["location"],
    )


@pytest.mark.parametrize("template", sorted(p.name for p in SMS_TEMPLATES.glob("*.txt")))
@pytest.mark.parametrize("language", ["de", "en", "uk", "ar", "tr", "ru", "fa"])
def test_no_sms_template_carries_social_data(template, language):
    from django.utils import translation

    context = {
        **SENSITIVE,
        "kind": "booked",
        "when": "01.02.2027, 09:00",
        "channel": "Video",
        # The invitation, the login code and the notices (ADR 0072).
        "url": "https://portal.example/x/",
        "until": "14.12.2026",
        "code": "123456",
        "minutes": 10,
        "jobcenter_name": "Jobcenter Musterstadt",
    }
    variants = [("kind", kind) for kind in ("booked", "moved", "cancelled", "channel_changed")]
    variants += [("notice", notice) for notice in ("message", "document", "document_request")]
    for key, value_of_key in variants:
        with translation.override(language):
            text = render_to_string(f"sms/{template}", {**context, key: value_of_key})
        for value in SENSITIVE.values():
            assert value not in text, (template, value_of_key, value)
        assert text.strip(), (template, value_of_key)
        if language != "en" and template in {"invitation.txt", "login_code.txt", "notice.txt"}:
            with translation.override("en"):
                english = render_to_string(f"sms/{template}", {**context, key: value_of_key})
            assert text != english, ("untranslated", template, language)


def test_the_appointment_sms_names_time_and_channel_and_nothing_about_the_person(gateway):
    client = _sms_only_client(preferred_language="de")
    appointment = _book(client)
    for kind in SMS_KINDS:
        text = appointment_sms_text(appointment, kind)
        assert appointment.starts_at.astimezone(datetime.UTC).year == int(text.split(".")[2][:4])
        for value in SENSITIVE.values():
            assert value not in text
        assert len(text) <= 640


def test_booking_for_a_client_without_email_sends_one_sms_through_the_gateway(
    gateway, django_capture_on_commit_callbacks
):
    client = _sms_only_client()
    with django_capture_on_commit_callbacks(execute=True):
        _book(client)
    (request,) = gateway.accepted()
    assert request["auth"] == "Bearer gw-token"
    assert request["body"]["to"] == "+491701234567"
    assert request["body"]["from"] == settings.SMS_SENDER
    message = SmsMessage.objects.get()
    assert message.state == SmsMessage.State.SENT
    assert message.provider_id == request["id"]
    assert request["body"]["reference"] == str(message.pk)
    # A retried job or a second queueing of the same event sends nothing more.
    assert sms_deliver(sms_id=message.pk) == "done already"
    appointment = client.appointments.get()
    assert (
        sms_queue(
            to=client.mobile_number,
            kind="appointment_booked",
            text="x",
            dedupe_key=f"appointment:{appointment.pk}:booked:{appointment.sequence}",
        )
        is None
    )
    assert len(gateway.accepted()) == 1


def test_a_refusing_gateway_is_retried_and_the_message_goes_out_once(gateway):
    gateway.fail_next = 2
    message = sms_queue(to="+491701234567", kind="test", text="Hallo")
    for _attempt in range(2):
        with pytest.raises(SmsError):
            sms_deliver(sms_id=message.pk)
        message.refresh_from_db()
        assert message.state == SmsMessage.State.QUEUED
    assert sms_deliver(sms_id=message.pk) == "sent"
    message.refresh_from_db()
    assert (message.state, message.attempts) == (SmsMessage.State.SENT, 3)
    assert len(gateway.accepted()) == 1


def test_a_message_the_gateway_keeps_refusing_is_given_up(gateway, monkeypatch):
    monkeypatch.setattr("sprechstunde.core.sms.MAX_ATTEMPTS", 2)
    gateway.status = 400
    message = sms_queue(to="+491701234567", kind="test", text="Hallo")
    with pytest.raises(SmsError):
        sms_deliver(sms_id=message.pk)
    assert sms_deliver(sms_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.state == SmsMessage.State.FAILED
    assert "400" in message.last_error


def test_delivery_reports_are_recorded_with_the_token_only(gateway):
    message = sms_queue(to="+491701234567", kind="test", text="Hallo")
    sms_deliver(sms_id=message.pk)
    message.refresh_from_db()
    web = WebClient()
    url = reverse("core:sms_status")
    report = json.dumps({"id": message.provider_id, "status": "delivered"})
    assert web.post(url, report, content_type="application/json").status_code == 403
    wrong = web.post(
        url, report, content_type="application/json", headers={"authorization": "Bearer no"}
    )
    assert wrong.status_code == 403
    auth = {"authorization": "Bearer report-token"}
    bad = web.post(url, "{not json", content_type="application/json", headers=auth)
    assert bad.status_code == 400
    unknown = json.dumps({"id": "gw-999", "status": "delivered"})
    assert web.post(url, unknown, content_type="application/json", headers=auth).status_code == 404
    assert web.post(url, report, content_type="application/json", headers=auth).status_code == 200
    message.refresh_from_db()
    assert message.state == SmsMessage.State.DELIVERED
    assert message.status_at is not None


def test_without_a_gateway_nothing_is_queued_and_booking_says_who_is_told(settings, client):
    settings.SMS_GATEWAY_URL = ""
    person = _sms_only_client()
    assert sms_queue(to=person.mobile_number, kind="test", text="x") is None
    assert not appointment_services.client_hears_of_appointments(client=person)
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/send"
    assert appointment_services.client_hears_of_appointments(client=person)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0170 1234567", "+491701234567"),
        ("+49 (170) 123-4567", "+491701234567"),
        ("0049 151 12345678", "+4915112345678"),
        ("+380 67 123 4567", "+380671234567"),
    ],
)
def test_mobile_numbers_are_stored_in_e164(typed, stored):
    client = client_services.client_create(
        actor=CaseManagerFactory(), first_name="A", last_name="B", mobile_number=typed
    )
    assert client.mobile_number == stored


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("call me", "not a valid phone number"),
        ("0170 12", "not a valid phone number"),
        ("030 1234567", "landline"),
    ],
)
def test_a_bad_mobile_number_gets_a_clear_message_and_nothing_is_stored(typed, says):
    from sprechstunde.clients.models import Client

    with pytest.raises(ApplicationError) as error:
        client_services.client_create(
            actor=CaseManagerFactory(), first_name="A", last_name="B", mobile_number=typed
        )
    assert error.value.field == "mobile_number"
    assert says in str(error.value.message)
    assert not Client.objects.exists()
