"""Issue 15, point 5: every PDF the app produces that claims PDF/A is checked by someone else,
Apache PDFBox Preflight (ADR 0078): decisions (as rendered and as sealed), plans, delivery logs,
confirmations and both letters. Broken files (no OutputIntent, no PDF/A identification, a font
not embedded) are refused, so the check can fail."""

from __future__ import annotations

import re
from io import BytesIO

import pikepdf
import pytest
from django.test import Client as WebClient
from django.urls import reverse

from sprechstunde.agreements import letters, services
from sprechstunde.agreements.pdf_exports import delivery_log_pdf
from sprechstunde.agreements.rendering import html_to_pdfa
from sprechstunde.appointments.choices import Channel
from sprechstunde.appointments.factories import AppointmentFactory
from sprechstunde.clients import services as client_services
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.core.testing.pdfa import assert_pdfa_2b, pdfa_check

from .conftest import DECISION_VALUES
from .test_plans import drafted

ADDRESS = "Hauptstraße 5\n88212 Ravensburg"


def _sealed_decision(case_manager, client_record, decision_template, capture):
    decision = services.decision_create(
        actor=case_manager, client=client_record, template=decision_template, values=DECISION_VALUES
    )
    with capture(execute=True):
        services.decision_issue(actor=case_manager, decision=decision)
    decision.refresh_from_db()
    return decision


def test_decision_as_rendered_and_as_sealed_and_its_delivery_log_are_pdfa(
    seal_pki, case_manager, client_record, decision_template, django_capture_on_commit_callbacks
):
    decision = _sealed_decision(
        case_manager, client_record, decision_template, django_capture_on_commit_callbacks
    )
    assert_pdfa_2b(bytes(decision.unsealed_pdf))
    sealed = bytes(decision.pdf)
    assert b"/ByteRange" in sealed
    report = assert_pdfa_2b(sealed)
    assert (report.part, report.conformance) == ("2", "B")
    # The delivery log, as staff download it.
    browser = WebClient(headers={"accept-language": "en"})
    browser.force_login(case_manager)
    export = browser.get(reverse("agreements:decision_log_pdf", kwargs={"pk": decision.pk}))
    assert export.status_code == 200
    assert_pdfa_2b(export.content)
    assert_pdfa_2b(delivery_log_pdf(decision=decision))


def test_issued_plan_is_pdfa(
    case_manager, client_record, plan_template, review_on, django_capture_on_commit_callbacks
):
    plan = drafted(case_manager, client_record, plan_template, review_on)
    with django_capture_on_commit_callbacks(execute=True):
        version = services.plan_issue(actor=case_manager, plan=plan)
    assert_pdfa_2b(bytes(version.pdf))


def test_confirmation_as_rendered_and_as_sealed_is_pdfa(
    seal_pki, case_manager, client_record, django_capture_on_commit_callbacks
):
    from django.core import mail

    confirmation = services.confirmation_create(
        actor=case_manager,
        client=client_record,
        title="Erklärung zur Erreichbarkeit",
        body="Ich bin montags bis freitags erreichbar.",
    )
    user = client_record.user
    services.confirmation_code_send(actor=user, confirmation=confirmation)
    code = next(word for word in mail.outbox[-1].body.split() if word.isdigit() and len(word) == 6)
    with django_capture_on_commit_callbacks(execute=True):
        services.confirmation_confirm(actor=user, confirmation=confirmation, code=code)
    confirmation.refresh_from_db()
    assert_pdfa_2b(bytes(confirmation.unsealed_pdf))
    assert_pdfa_2b(bytes(confirmation.pdf))


def test_invitation_and_appointment_letters_are_pdfa(case_manager):
    client = ClientFactory(case_manager=case_manager, preferred_language="uk")
    issued = client_services.invitation_letter_issue(client=client, actor=case_manager)
    assert_pdfa_2b(
        letters.invitation_letter_pdf(
            invitation=issued.invitation, token=issued.token, address=ADDRESS
        )
    )
    appointment = AppointmentFactory(
        case_manager=case_manager, client=client, channel=Channel.ON_SITE, location="R 12"
    )
    assert_pdfa_2b(letters.appointment_letter_pdf(appointment=appointment, address=ADDRESS))


# --- The check can fail -----------------------------------------------------------------------


def _good_pdf() -> bytes:
    return html_to_pdfa(
        '<html lang="de"><head><title>Bescheid</title></head><body><h1>Bescheid</h1>'
        "<p>Sehr geehrte Frau Muster, Ihrem Antrag wird stattgegeben.</p></body></html>"
    )


def _edited(pdf: bytes, change) -> bytes:
    with pikepdf.open(BytesIO(pdf)) as document:
        change(document)
        out = BytesIO()
        document.save(out, fix_metadata_version=False)
        return out.getvalue()


def _drop_output_intent(document: pikepdf.Pdf) -> None:
    del document.Root["/OutputIntents"]


def _drop_pdfa_identification(document: pikepdf.Pdf) -> None:
    # Only the description holding pdfaid:part and pdfaid:conformance goes; the rest stays.
    xmp = document.Root.Metadata.read_bytes()
    stripped = re.sub(rb"<rdf:Description[^>]*pdfaid:part=[^>]*/>", b"", xmp)
    assert stripped != xmp
    document.Root.Metadata.write(stripped)


def _unembed_fonts(document: pikepdf.Pdf) -> None:
    for obj in document.objects:
        if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
            for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                if key in obj:
                    del obj[key]


def test_a_good_file_passes_and_only_pdfa1_rules_are_tolerated():
    report = pdfa_check(_good_pdf())
    assert report.is_pdfa_2b, str(report)
    # What Preflight says of PDF/A-1 only (e.g. cross-reference streams) is listed, not lost.
    assert {finding.code for finding in report.tolerated} <= {"1.4", "1.2.7", "3.1.11", "7.11.2"}


def test_transparency_is_allowed_as_in_pdfa2_but_not_without_an_output_intent():
    html = (
        '<html lang="de"><head><title>B</title><style>.mark { position: fixed; top: 40%; '
        'font-size: 60pt; opacity: 0.3 }</style></head><body><div class="mark">DEMO</div>'
        "<h1>Bescheid</h1><p>Text</p></body></html>"
    )
    pdf = html_to_pdfa(html)
    report = pdfa_check(pdf)
    assert report.is_pdfa_2b, str(report)
    assert any(finding.code.startswith("4.1") for finding in report.tolerated)  # PDF/A-1 only
    assert not pdfa_check(_edited(pdf, _drop_output_intent)).is_pdfa_2b


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_drop_output_intent, "2.4"),  # device colours without an OutputIntent
        (_drop_pdfa_identification, "7.11"),  # PDF/A identification schema missing
        (_unembed_fonts, "3.1"),  # font program missing
    ],
)
def test_broken_pdfa_files_are_refused(change, code):
    report = pdfa_check(_edited(_good_pdf(), change))
    assert not report.is_pdfa_2b
    assert any(finding.code.startswith(code) for finding in report.problems), str(report)
    with pytest.raises(AssertionError, match="not PDF/A-2b"):
        assert_pdfa_2b(_edited(_good_pdf(), change))
