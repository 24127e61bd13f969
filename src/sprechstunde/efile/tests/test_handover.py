"""The hand-over to the e-file as an xdomea 3.0.0 message (0401 Abgabe): valid against the
official schema, every record found again with its hash, idempotent, access-checked, audited."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from sprechstunde.agreements.services.decisions import _event_append
from sprechstunde.audit.models import AuditEntry
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents.choices import DocumentStatus, ScanStatus
from sprechstunde.documents.factories import jpeg_bytes
from sprechstunde.documents.models import Document
from sprechstunde.documents.tests.test_export import stored_document
from sprechstunde.efile.models import Handover, HandoverItem
from sprechstunde.efile.services import efile_handover_for_user, efile_handover_withdraw
from sprechstunde.efile.tests.conftest import issued_plan, sealed_decision, submitted_form

pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).resolve().parents[4] / "tests" / "schemas"
NS = {"x": "urn:xoev-de:xdomea:schema:3.0.0"}
DOKUMENT = "{urn:xoev-de:xdomea:schema:3.0.0}Dokument"


@pytest.fixture(scope="module")
def xdomea_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "xdomea-3.0.0" / "xdomea.xsd")))


def code_list(name: str) -> set[str]:
    tree = etree.parse(str(SCHEMAS / "xdomea-3.0.0" / "code_lists" / name))
    return {row.find("Value/SimpleValue").text for row in tree.iter("Row")}


def open_message(result) -> tuple[zipfile.ZipFile, etree._ElementTree]:
    archive = zipfile.ZipFile(io.BytesIO(result.file.read()))
    xml_names = [name for name in archive.namelist() if name.endswith(".xml")]
    assert xml_names == [f"{result.handover.process_id}_Abgabe.Abgabe.0401.xml"]
    return archive, etree.parse(io.BytesIO(archive.read(xml_names[0])))


def field(dokument: etree._Element, name: str) -> str:
    values = dokument.xpath(
        "x:AnwendungsspezifischeErweiterung/x:Feld[x:Name=$name]/x:Wert/text()",
        namespaces=NS,
        name=name,
    )
    assert len(values) == 1
    return values[0]


def test_the_message_is_valid_xdomea_with_known_codes(case_manager, client_record, xdomea_schema):
    stored_document(client_record)
    stored_document(client_record, title="Foto", data=jpeg_bytes(60, 40), as_pdf=False)
    sealed_decision(client_record)
    issued_plan(client_record)
    submitted_form(client_record, with_attachment=True)

    result = efile_handover_for_user(user=case_manager, client=client_record)
    _archive, tree = open_message(result)

    xdomea_schema.assertValid(tree)
    root = tree.getroot()
    assert etree.QName(root).localname == "Abgabe.Abgabe.0401"
    assert root.xpath("x:Kopf/x:Nachrichtentyp/code/text()", namespaces=NS) == ["0401"]
    assert "0401" in code_list("Nachrichtentyp_2.0.xml")
    formats = set(root.xpath("//x:Format/x:Name/code/text()", namespaces=NS))
    # PDF, JPEG, PDF/A (decision, log, plan, form), other (the form's answers as JSON)
    assert formats == {"018", "011", "044", "100"}
    assert formats <= code_list("Dateiformat_1.0.xml")
    assert root.xpath("//x:Format[x:Name/code='100']/x:SonstigerName/text()", namespaces=NS) == [
        "application/json"
    ]
    vorgaenge = root.xpath("//x:Akte/x:Akteninhalt/x:Vorgang", namespaces=NS)
    # documents, the decision with its log, the plan, the form with its attachment
    assert len(vorgaenge) == 4
    assert root.xpath("//x:Akte/x:AllgemeineMetadaten/x:Betreff/text()", namespaces=NS) == [
        "Kim Kunde"
    ]
    assert result.file_name == f"{result.handover.process_id}_Abgabe.Abgabe.0401.zip"


def test_a_schema_breaking_message_is_refused(case_manager, client_record, xdomea_schema):
    # The validation test can fail: a message without its Kopf is not xdomea.
    stored_document(client_record)
    _archive, tree = open_message(efile_handover_for_user(user=case_manager, client=client_record))
    root = tree.getroot()
    root.remove(root.find("x:Kopf", NS))

    assert not xdomea_schema.validate(tree)


def test_round_trip_finds_every_record_with_its_hash(case_manager, client_record):
    photo = jpeg_bytes(80, 50)
    document = stored_document(client_record, title="Mietvertrag", data=photo, as_pdf=False)
    decision = sealed_decision(client_record)
    version = issued_plan(client_record)

    archive, tree = open_message(efile_handover_for_user(user=case_manager, client=client_record))

    found = {}
    for dokument in tree.getroot().iter(DOKUMENT):
        name = dokument.findtext("x:Version/x:Format/x:Primaerdokument/x:Dateiname", namespaces=NS)
        data = archive.read(name)  # KeyError if the file is missing
        assert hashlib.sha256(data).hexdigest() == field(dokument, "SHA-256")
        found[(field(dokument, "Art"), field(dokument, "Schluessel"))] = data
    assert set(found) == {
        ("document", str(document.pk)),
        ("decision", str(decision.pk)),
        ("delivery_log", f"{decision.pk}:2"),
        ("plan_version", str(version.pk)),
    }
    assert found[("document", str(document.pk))] == photo
    assert found[("decision", str(decision.pk))] == bytes(decision.pdf)
    assert found[("plan_version", str(version.pk))] == bytes(version.pdf)
    assert found[("delivery_log", f"{decision.pk}:2")].startswith(b"%PDF-")
    assert len(archive.namelist()) == 5  # the XML and four primary documents


def test_a_second_hand_over_adds_only_what_is_new(case_manager, client_record):
    first_document = stored_document(client_record)
    decision = sealed_decision(client_record)
    first = efile_handover_for_user(user=case_manager, client=client_record)
    _archive, first_tree = open_message(first)

    with pytest.raises(ApplicationError):
        efile_handover_for_user(user=case_manager, client=client_record)

    new_document = stored_document(client_record, title="Kontoauszug")
    _event_append(decision, "opened", actor=client_record.user)
    second = efile_handover_for_user(user=case_manager, client=client_record)
    _archive, second_tree = open_message(second)

    keys = {
        (field(dokument, "Art"), field(dokument, "Schluessel"))
        for dokument in second_tree.getroot().iter(DOKUMENT)
    }
    # The new document and the grown delivery log; not the document or decision sent before.
    assert keys == {("document", str(new_document.pk)), ("delivery_log", f"{decision.pk}:3")}
    akte = "x:Schriftgutobjekt/x:Akte/x:Identifikation/x:ID/text()"
    assert first_tree.getroot().xpath(akte, namespaces=NS) == second_tree.getroot().xpath(
        akte, namespaces=NS
    )
    assert HandoverItem.objects.filter(kind="document").count() == 2
    first_document.refresh_from_db()
    assert first_document.is_in_efile and first_document.efile_marked_by == case_manager
    assert (
        AuditEntry.objects.filter(action="efile.handover", client_id=client_record.pk).count() == 2
    )


def test_one_matter_alone(case_manager, client_record):
    stored_document(client_record)
    decision = sealed_decision(client_record)

    result = efile_handover_for_user(
        user=case_manager, client=client_record, matter=f"decision-{decision.pk}"
    )
    _archive, tree = open_message(result)

    kinds = sorted(field(item, "Art") for item in tree.getroot().iter(DOKUMENT))
    assert kinds == ["decision", "delivery_log"]
    assert not Document.objects.get().is_in_efile
    # The documents are still new.
    rest = efile_handover_for_user(user=case_manager, client=client_record)
    assert [item.record.kind for item in rest.documents] == ["document"]


def test_withdrawing_makes_the_records_new_again(case_manager, client_record):
    stored_document(client_record)
    result = efile_handover_for_user(user=case_manager, client=client_record)

    efile_handover_withdraw(actor=case_manager, handover=result.handover)

    assert not Handover.objects.exists() and not HandoverItem.objects.exists()
    assert not Document.objects.get().is_in_efile
    again = efile_handover_for_user(user=case_manager, client=client_record)
    assert len(again.documents) == 1
    assert AuditEntry.objects.filter(action="efile.handover_withdraw").count() == 1


def test_only_the_case_manager_side_may_hand_over(other_case_manager, team_lead, client_record):
    stored_document(client_record)

    for outsider in (other_case_manager, team_lead, client_record.user):
        with pytest.raises(PermissionDeniedError):
            efile_handover_for_user(user=outsider, client=client_record)
    assert not Handover.objects.exists()


def test_a_changed_decision_stops_the_hand_over_and_marks_nothing(case_manager, client_record):
    stored_document(client_record)
    decision = sealed_decision(client_record)
    type(decision).objects.filter(pk=decision.pk).update(pdf=b"%PDF-1.7 another file")

    with pytest.raises(ApplicationError) as stopped:
        efile_handover_for_user(user=case_manager, client=client_record)

    assert "integrity" in str(stopped.value.message)
    assert not Handover.objects.exists() and not Document.objects.get().is_in_efile
    assert not AuditEntry.objects.filter(action="efile.handover").exists()


def test_unchecked_documents_never_leave(case_manager, client_record):
    stored_document(
        client_record, status=DocumentStatus.QUARANTINED, scan_status=ScanStatus.INFECTED
    )

    with pytest.raises(ApplicationError):
        efile_handover_for_user(user=case_manager, client=client_record)


def test_a_big_message_is_spooled_to_disk_not_memory(case_manager, client_record, monkeypatch):
    from sprechstunde.efile import services

    monkeypatch.setattr(services, "SPOOL_MAX_BYTES", 1024)
    for number in range(3):
        stored_document(client_record, title=f"Seite {number}", data=jpeg_bytes(300, 300))

    result = efile_handover_for_user(user=case_manager, client=client_record)

    assert result.file._rolled  # the spooled file moved to an (unlinked) file on disk
    assert len(zipfile.ZipFile(result.file).namelist()) == 4


def test_a_form_goes_as_its_own_matter_with_pdf_data_and_attachments(case_manager, client_record):

    form = submitted_form(client_record, with_attachment=True)
    [photo] = [item.document for item in form.attachments.all()]

    result = efile_handover_for_user(user=case_manager, client=client_record)
    archive, tree = open_message(result)

    found = {}
    for dokument in tree.getroot().iter(DOKUMENT):
        name = dokument.findtext("x:Version/x:Format/x:Primaerdokument/x:Dateiname", namespaces=NS)
        vorgang = dokument.getparent()
        subject = vorgang.findtext("x:AllgemeineMetadaten/x:Betreff", namespaces=NS)
        found[(field(dokument, "Art"), field(dokument, "Schluessel"))] = (subject, name)
    # The PDF, the JSON and the attachment, once each, all in the form's matter.
    assert set(found) == {
        ("form", str(form.pdf_document_id)),
        ("form_data", str(form.data_document_id)),
        ("document", str(photo.pk)),
    }
    subjects = {subject for subject, _name in found.values()}
    assert len(subjects) == 1 and subjects.pop().startswith("Veränderungsmitteilung (")
    data_name = found[("form_data", str(form.data_document_id))][1]
    assert data_name.endswith(".json")
    assert b'"slug": "veraenderung"' in archive.read(data_name)
    form.refresh_from_db()
    assert form.handed_over_at == result.handover.created_at
    assert Document.objects.get(pk=form.pdf_document_id).is_in_efile


def test_a_form_sent_again_hands_over_only_its_new_files_and_withdrawal_resets(
    case_manager, client_record
):
    from sprechstunde.eforms.models import FormSubmission

    form = submitted_form(client_record)
    first = efile_handover_for_user(user=case_manager, client=client_record)
    handed_over_at = FormSubmission.objects.get(pk=form.pk).handed_over_at
    assert handed_over_at is not None
    with pytest.raises(ApplicationError):
        efile_handover_for_user(user=case_manager, client=client_record)

    # Sent again after a "needs more": a new PDF (the data document stays the same here).
    form.pdf_document = stored_document(client_record, title="Veränderungsmitteilung (PDF 2)")
    form.save(update_fields=["pdf_document"])
    second = efile_handover_for_user(user=case_manager, client=client_record)

    assert [(d.record.kind, d.record.key) for d in second.documents] == [
        ("form", str(form.pdf_document_id))
    ]
    assert FormSubmission.objects.get(pk=form.pk).handed_over_at == handed_over_at

    efile_handover_withdraw(actor=case_manager, handover=second.handover)
    assert FormSubmission.objects.get(pk=form.pk).handed_over_at == handed_over_at
    efile_handover_withdraw(actor=case_manager, handover=first.handover)
    assert FormSubmission.objects.get(pk=form.pk).handed_over_at is None
    assert not Document.objects.get(pk=form.data_document_id).is_in_efile


def test_a_draft_never_leaves(case_manager, client_record):
    from sprechstunde.eforms.models import FormSubmission

    form = submitted_form(client_record)
    FormSubmission.objects.filter(pk=form.pk).update(status="draft")

    with pytest.raises(ApplicationError):
        efile_handover_for_user(user=case_manager, client=client_record)
