"""Letters fit for the post (issue 15, item 4): the recipient's window block and salutation in
decisions, the name printed once in letters, the Jobcenter settings required with decisions, a
visible DEMO mark under a demo seal, and no application dates from the future."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from sprechstunde.agreements import letters, services
from sprechstunde.agreements.choices import DecisionStatus
from sprechstunde.agreements.services.decisions import DecisionValuesError
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.factories import AppointmentFactory
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.signatures.services import pdf_validate

from .conftest import DECISION_VALUES
from .test_letters import boxes_of, in_window, text_of

pytestmark = pytest.mark.django_db

OBJECTION = "Jobcenter Ravensburg, Widerspruchsstelle, Postfach 1234, 88183 Ravensburg"


@pytest.fixture(autouse=True)
def _jobcenter(settings):
    settings.JOBCENTER_NAME = "Jobcenter Ravensburg"
    settings.JOBCENTER_ADDRESS = "Marktplatz 1\n88212 Ravensburg"
    settings.JOBCENTER_PHONE = "0751 123456-0"
    settings.JOBCENTER_OBJECTION_ADDRESS = OBJECTION


def _with_address(client):
    client.postal_street = "Lindenweg 7"
    client.postal_supplement = "Hinterhaus"
    client.postal_code = "88214"
    client.postal_city = "Ravensburg"
    client.save()
    return client


def _issued(case_manager, client, template, **values: str):
    decision = services.decision_create(
        actor=case_manager, client=client, template=template, values={**DECISION_VALUES, **values}
    )
    return services.decision_issue(actor=case_manager, decision=decision)


def page_texts(pdf: bytes) -> list[str]:
    return [
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages
    ]


# --- Window block and salutation -------------------------------------------------------------


def test_decision_carries_the_window_block_opens_with_the_name_and_names_the_objection_place(
    case_manager, client_record, decision_template
):
    _with_address(client_record)
    decision = _issued(case_manager, client_record, decision_template)
    pdf = bytes(decision.unsealed_pdf)
    for line in ("Kim Kunde", "Lindenweg 7", "Hinterhaus", "88214 Ravensburg"):
        assert any(in_window(box) for box in boxes_of(pdf, line)), line
    # The name once in the window, the return line above it.
    assert sum(in_window(box) for box in boxes_of(pdf, "Kim Kunde")) == 1
    [(_left, top, _right, bottom)] = boxes_of(pdf, "Jobcenter Ravensburg, Marktplatz 1")
    assert top >= 45 and bottom <= 62.7
    text = text_of(pdf)
    assert "Guten Tag Kim Kunde," in text
    assert "Sehr geehrte Damen und Herren" not in text
    assert f"Der Widerspruch ist einzulegen bei: {OBJECTION}" in text
    assert "0751 123456-0" in text


def test_without_a_stored_address_the_window_holds_the_name_only(
    case_manager, client_record, decision_template
):
    pdf = bytes(_issued(case_manager, client_record, decision_template).unsealed_pdf)
    assert any(in_window(box) for box in boxes_of(pdf, "Kim Kunde"))
    assert "Lindenweg" not in text_of(pdf)


@pytest.mark.parametrize(
    "typed",
    [
        "Olena Kovalenko\nHauptstraße 5\n88212 Ravensburg",
        "Frau  Olena  Kovalenko\nHauptstraße 5\n88212 Ravensburg",
        "kovalenko, olena\nHauptstraße 5\n88212 Ravensburg",
    ],
)
def test_a_name_typed_into_the_letter_address_is_printed_once(case_manager, typed):
    client = ClientFactory(
        case_manager=case_manager, first_name="Olena", last_name="Kovalenko", email=""
    )
    assert letters.recipient_lines(client=client, address=typed) == [
        "Olena Kovalenko",
        "Hauptstraße 5",
        "88212 Ravensburg",
    ]
    appointment = AppointmentFactory(
        case_manager=case_manager, client=client, channel=Channel.ON_SITE, location="Raum 12"
    )
    pdf = letters.appointment_letter_pdf(appointment=appointment, address=typed)
    assert sum(in_window(box) for box in boxes_of(pdf, "Kovalenko")) == 1


def test_the_letter_form_starts_with_the_stored_address(case_manager, client_record):
    _with_address(client_record)
    browser = WebClient(headers={"accept-language": "en"})
    from tests.test_url_access import log_in

    log_in(browser, case_manager)
    page = browser.get(reverse("agreements:invitation_letter", args=[client_record.pk]))
    assert page.status_code == 200
    assert "Lindenweg 7\nHinterhaus\n88214 Ravensburg</textarea>" in page.content.decode()


def test_a_decision_by_post_without_a_postal_address_is_not_issued(
    case_manager, paper_client, decision_template
):
    paper_client.postal_street = paper_client.postal_code = paper_client.postal_city = ""
    paper_client.save()
    decision = services.decision_create(
        actor=case_manager, client=paper_client, template=decision_template, values=DECISION_VALUES
    )
    browser = WebClient(headers={"accept-language": "en"})
    browser.force_login(case_manager)
    url = reverse("agreements:decision", kwargs={"pk": decision.pk})
    response = browser.post(url, {"action": "issue"})
    assert response.status_code == 400
    assert "the client has no postal address" in response.content.decode()
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.DRAFT and not decision.unsealed_pdf


# --- Required settings once decisions are enabled --------------------------------------------


@pytest.mark.parametrize(
    ("name", "check_id"),
    [
        ("JOBCENTER_ADDRESS", "agreements.E001"),
        ("JOBCENTER_PHONE", "agreements.E002"),
        ("JOBCENTER_OBJECTION_ADDRESS", "agreements.E003"),
    ],
)
def test_a_missing_jobcenter_setting_stops_the_start_and_names_the_variable(
    settings, name, check_id
):
    settings.SEAL_KEY_SOURCE = "pkcs12"
    assert [m.id for m in run_checks() if m.id.startswith("agreements.")] == []
    setattr(settings, name, "  ")
    errors = [m for m in run_checks() if m.id.startswith("agreements.")]
    assert [error.id for error in errors] == [check_id]
    assert name in errors[0].msg and errors[0].is_serious()
    with pytest.raises(CommandError, match=name):  # what `manage.py serve` runs first
        call_command("check")
    # Without decisions (no seal key source) the setting stays optional.
    settings.SEAL_KEY_SOURCE = ""
    assert [m.id for m in run_checks() if m.id.startswith("agreements.")] == []


# --- DEMO mark -------------------------------------------------------------------------------


def _demo_seal(settings, tmp_path):
    settings.SEAL_KEY_SOURCE = "demo"
    settings.SEAL_DEMO_DIR = tmp_path / "seal-demo"
    settings.SEAL_TSA_URL = ""
    settings.SEAL_TRUST_ROOTS = ""
    settings.SIGNATURE_VALIDATION_FETCH = False


# One line per receipt: several pages within the field's 5000 characters.
LONG_REASON = "".join(f"Beleg {n} liegt vor.\n" for n in range(1, 151))


def test_a_demo_seal_marks_every_page_and_the_seal_stays_valid(
    settings, tmp_path, case_manager, client_record, decision_template,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    _demo_seal(settings, tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        decision = _issued(case_manager, client_record, decision_template, begruendung=LONG_REASON)
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_POSTBOX
    pdf = bytes(decision.pdf)
    pages = page_texts(pdf)
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert "DEMO \u2013 NOT VALID" in text, number  # en dash, as printed
    report = pdf_validate(pdf=pdf)
    assert report.is_valid, report.problem_codes
    # The mark is part of the sealed content: only B-LT validation data came after the seal.
    assert report.signatures[0].is_intact
    assert report.signatures[0].modification_level == "lta_updates"


def test_a_real_seal_key_puts_no_demo_mark(
    seal_pki, case_manager, client_record, decision_template, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        decision = _issued(case_manager, client_record, decision_template, begruendung=LONG_REASON)
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_POSTBOX
    pages = page_texts(bytes(decision.pdf))
    assert len(pages) >= 3
    assert not any("DEMO" in text for text in pages)


# --- Dates that cannot be right --------------------------------------------------------------


def test_an_application_date_in_the_future_is_refused_at_the_field_and_nothing_is_lost(
    case_manager, client_record, decision_template
):
    browser = WebClient(headers={"accept-language": "en"})
    browser.force_login(case_manager)
    url = reverse("agreements:decision_create", kwargs={"client_pk": client_record.pk})
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    form = {
        "template": decision_template.pk,
        "field_antragsdatum": tomorrow.isoformat(),
        "field_betrag": "1.234,50",
        "field_begruendung": "Die Bewerbungen sind belegt.",
    }
    response = browser.post(url, form)
    assert response.status_code == 400
    html = response.content.decode()
    assert "This date cannot be in the future." in html
    # The field offers no later date, and what was typed is still there.
    assert f'max="{timezone.localdate().isoformat()}"' in html
    assert 'value="1.234,50"' in html and "Die Bewerbungen sind belegt." in html
    assert not client_record.decisions.exists()
    with pytest.raises(DecisionValuesError):
        services.decision_create(
            actor=case_manager,
            client=client_record,
            template=decision_template,
            values={**DECISION_VALUES, "antragsdatum": tomorrow.isoformat()},
        )
    today = {**form, "field_antragsdatum": timezone.localdate().isoformat()}
    assert browser.post(url, today).status_code == 302
    assert client_record.decisions.count() == 1
