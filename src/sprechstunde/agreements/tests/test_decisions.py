"""Decisions: sandboxed templates with typed fields, issue, PAdES B-LT seal (real, via the
signatures app and its loopback PKI), delivery to the postbox or by post, the hash-chained
delivery log and the announcement date; a sealing outage keeps the decision waiting."""

from __future__ import annotations

import datetime
import shutil
import subprocess

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import timezone

from sprechstunde.agreements import selectors, services
from sprechstunde.agreements.choices import DecisionStatus
from sprechstunde.agreements.factories import DecisionTemplateFactory
from sprechstunde.agreements.models import DecisionTemplate, DeliveryEvent, PostalDelivery
from sprechstunde.agreements.rendering import decision_body_html, decision_template_check
from sprechstunde.agreements.services.decisions import DecisionValuesError
from sprechstunde.core.errors import PermissionDeniedError
from sprechstunde.signatures import services as signing

from .conftest import DECISION_VALUES


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{% load os %}{{ betrag }}", "not allowed"),
        ("Betrag {{ betrag.__class__ }}", "not allowed"),
        ("Hallo {{ unbekannt }}", "there is no field"),
        ("Offen {{ betrag", "not allowed"),
    ],
)
def test_template_syntax_errors_are_reported_and_such_templates_not_offered(db, body, message):
    template = DecisionTemplateFactory(body=body)
    with pytest.raises(ValidationError) as caught:
        decision_template_check(template)
    assert message in " ".join(caught.value.message_dict["body"])
    assert template not in selectors.decision_templates_offered()


def test_bad_field_definitions_are_reported(db):
    template = DecisionTemplate(
        key="x",
        title="X",
        body="{{ a }}",
        legal_remedy="Widerspruch …",
        fields=[{"name": "a", "type": "choice"}, {"name": "B-", "type": "text"}],
    )
    with pytest.raises(ValidationError) as caught:
        template.full_clean()
    assert len(caught.value.message_dict["fields"]) == 2


def test_values_are_typed_and_rendered_escaped(decision_template):
    from sprechstunde.agreements.rendering import decision_values_clean

    values, errors = decision_values_clean(
        decision_template, {**DECISION_VALUES, "begruendung": "<script>alert(1)</script>"}
    )
    assert errors == {}
    assert values["betrag"] == "1234.50" and values["antragsdatum"] == "2026-01-15"
    html = decision_body_html(decision_template, values)
    assert "<script>" not in html and "&lt;script&gt;" in html
    _values, errors = decision_values_clean(
        decision_template, {"antragsdatum": "15.01.", "betrag": "zehn", "begruendung": ""}
    )
    assert set(errors) == {"antragsdatum", "betrag", "begruendung"}


def test_sealing_outage_keeps_the_decision_waiting_and_never_delivers_it(
    case_manager, client_record, decision_template, monkeypatch, django_capture_on_commit_callbacks
):
    def outage(**kwargs):
        raise signing.SealingUnavailable("HSM unreachable")

    monkeypatch.setattr(signing, "pdf_seal", outage)
    decision = services.decision_create(
        actor=case_manager,
        client=client_record,
        template=decision_template,
        values=DECISION_VALUES,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.decision_issue(actor=case_manager, decision=decision)
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.WAITING_FOR_SEAL
    assert decision.seal_attempts == 1 and decision.next_seal_at > timezone.now()
    assert not decision.pdf and not DeliveryEvent.objects.exists()
    assert mail.outbox == []
    # Back-off: a second failure waits longer.
    first_wait = decision.next_seal_at
    Decision = type(decision)
    Decision.objects.filter(pk=decision.pk).update(next_seal_at=timezone.now())
    assert services.seals_due_ids() == [decision.pk]
    assert services.decision_seal_attempt(decision_id=decision.pk) == "waiting"
    decision.refresh_from_db()
    assert decision.seal_attempts == 2 and decision.next_seal_at - timezone.now() > (
        first_wait - timezone.now()
    ) - datetime.timedelta(seconds=5)
    # The client cannot see it.
    browser = WebClient(headers={"accept-language": "en"})
    browser.force_login(client_record.user)
    url = reverse("agreements:portal_decision", kwargs={"pk": decision.pk})
    assert browser.get(url).status_code == 404


def test_portal_delivery_seals_notifies_logs_and_passes_pdfsig(
    seal_pki, case_manager, client_record, decision_template, django_capture_on_commit_callbacks
):
    decision = services.decision_create(
        actor=case_manager,
        client=client_record,
        template=decision_template,
        values=DECISION_VALUES,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.decision_issue(actor=case_manager, decision=decision)
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_POSTBOX
    assert [e.kind for e in selectors.delivery_events(decision=decision)] == [
        "sealed",
        "provided",
        "notified",
    ]
    assert decision.announced_on == timezone.localdate() + datetime.timedelta(days=3)
    # The notice carries no content: no name, no subject matter.
    (notice,) = mail.outbox
    assert "Kunde" not in notice.body + notice.subject
    assert "Bewerbung" not in notice.body + notice.subject

    browser = WebClient(headers={"accept-language": "en"})
    browser.force_login(client_record.user)
    page = browser.get(reverse("agreements:portal_decision", kwargs={"pk": decision.pk}))
    assert page.status_code == 200
    text = page.content.decode()
    assert "1.234,50 €" in text
    assert "electronically through the portal" in text  # the remedy mentions e-filing
    browser.get(reverse("agreements:portal_decision", kwargs={"pk": decision.pk}))
    kinds = [e.kind for e in selectors.delivery_events(decision=decision)]
    assert kinds == ["sealed", "provided", "notified", "opened"]
    assert services.delivery_log_verify(decision=decision)

    pdf = browser.get(reverse("agreements:portal_decision_pdf", kwargs={"pk": decision.pk}))
    data = b"".join(pdf.streaming_content) if pdf.streaming else pdf.content
    assert data == bytes(decision.pdf)
    pdfsig = shutil.which("pdfsig")
    assert pdfsig, "poppler-utils (pdfsig) must be installed"
    path = f"{seal_pki.directory}/decision-{decision.pk}.pdf"
    with open(path, "wb") as handle:
        handle.write(data)
    result = subprocess.run([pdfsig, path], capture_output=True, text=True, check=False)
    assert "Signature is Valid" in result.stdout, result.stdout

    log = WebClient(headers={"accept-language": "en"})
    log.force_login(case_manager)
    export = log.get(reverse("agreements:decision_log_pdf", kwargs={"pk": decision.pk}))
    assert export["Content-Type"] == "application/pdf"


def test_tampering_with_the_delivery_log_is_detected(
    seal_pki, case_manager, client_record, decision_template, django_capture_on_commit_callbacks
):
    decision = services.decision_create(
        actor=case_manager,
        client=client_record,
        template=decision_template,
        values=DECISION_VALUES,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.decision_issue(actor=case_manager, decision=decision)
    assert services.delivery_log_verify(decision=decision)
    table = DeliveryEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET at = %s WHERE decision_id = %s AND kind = 'notified'",  # noqa: S608
            [timezone.now() - datetime.timedelta(days=10), decision.pk],
        )
    assert not services.delivery_log_verify(decision=decision)


def test_without_delivery_consent_it_goes_by_post(
    seal_pki, case_manager, paper_client, decision_template, django_capture_on_commit_callbacks
):
    decision = services.decision_create(
        actor=case_manager,
        client=paper_client,
        template=decision_template,
        values=DECISION_VALUES,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.decision_issue(actor=case_manager, decision=decision)
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.AWAITING_POST and decision.channel == "post"
    assert mail.outbox == []
    browser = WebClient(headers={"accept-language": "en"})
    browser.force_login(case_manager)
    listing = browser.get(reverse("agreements:postal_list"))
    assert decision.reference in listing.content.decode()
    postal = PostalDelivery.objects.get(decision=decision)
    day = timezone.localdate()
    response = browser.post(
        reverse("agreements:postal_sent", kwargs={"pk": postal.pk}), {"sent_on": day.isoformat()}
    )
    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.POSTED
    assert decision.announced_on == day + datetime.timedelta(days=4)
    # The client does not see a postal decision in the portal.
    client_browser = WebClient(headers={"accept-language": "en"})
    client_browser.force_login(paper_client.user)
    url = reverse("agreements:portal_decision", kwargs={"pk": decision.pk})
    assert client_browser.get(url).status_code in (403, 404)


def test_fill_form_shows_clear_errors_and_stores_nothing(
    case_manager, client_record, decision_template
):
    browser = WebClient(headers={"accept-language": "en"})
    browser.force_login(case_manager)
    url = reverse("agreements:decision_create", kwargs={"client_pk": client_record.pk})
    response = browser.post(
        url,
        {
            "template": decision_template.pk,
            "field_antragsdatum": "gestern",
            "field_betrag": "-5",
            "field_begruendung": "",
        },
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Please enter a valid date." in text and "Please fill in this field." in text
    assert not client_record.decisions.exists()
    ok = browser.post(
        url,
        {"template": decision_template.pk, **{f"field_{k}": v for k, v in DECISION_VALUES.items()}},
    )
    assert ok.status_code == 302
    decision = client_record.decisions.get()
    preview = browser.get(reverse("agreements:decision", kwargs={"pk": decision.pk}))
    assert "1.234,50 €" in preview.content.decode()


def test_other_case_manager_cannot_issue(
    case_manager, other_case_manager, client_record, decision_template
):
    decision = services.decision_create(
        actor=case_manager,
        client=client_record,
        template=decision_template,
        values=DECISION_VALUES,
    )
    with pytest.raises(PermissionDeniedError):
        services.decision_issue(actor=other_case_manager, decision=decision)
    with pytest.raises(DecisionValuesError):
        services.decision_update(actor=case_manager, decision=decision, values={})
