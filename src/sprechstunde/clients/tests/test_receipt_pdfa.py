"""Issue 15, point 5: the consent receipt is PDF/A-2b, checked by an independent validator
(Apache PDFBox Preflight, ADR 0078), as downloaded in the portal and in a right-to-left
language with its own fonts."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from sprechstunde.clients import receipts
from sprechstunde.core.testing.pdfa import assert_pdfa_2b

from .conftest import accept, invite, login

pytestmark = pytest.mark.django_db


def test_receipt_downloaded_in_the_portal_is_pdfa(client, accepted_client):
    portal = login(client, accepted_client.user)
    # A withdrawn consent is listed too.
    portal.post(reverse("clients:consent_withdraw", args=["video"]))
    response = portal.get(reverse("clients:consent_receipt"))
    assert response.status_code == 200
    report = assert_pdfa_2b(response.content)
    assert (report.part, report.conformance) == ("2", "B")


@pytest.mark.parametrize("language", ["ar", "fa", "uk"])
def test_receipt_in_other_scripts_is_pdfa(
    language, client_record, case_manager, django_capture_on_commit_callbacks
):
    issued = invite(client_record, case_manager, django_capture_on_commit_callbacks)
    client = accept(issued.token, language=language)
    consents = list(client.consents.select_related("text").order_by("given_at", "pk"))
    with translation.override(language):
        pdf = receipts.consent_receipt_pdf(client=client, consents=consents)
    assert_pdfa_2b(pdf)
