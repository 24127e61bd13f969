"""The staff pages of the hand-over: the button beside the ZIP export downloads the xdomea
message; the hand-over page lists what is new and past hand-overs; outsiders get 404."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import Client as WebClient
from django.urls import reverse

from sprechstunde.audit.models import AuditEntry
from sprechstunde.documents.tests.test_export import stored_document
from sprechstunde.efile.models import Handover
from sprechstunde.efile.tests.conftest import sealed_decision

pytestmark = pytest.mark.django_db


def test_the_documents_page_offers_the_xdomea_hand_over(staff_browser, client_record):
    stored_document(client_record)

    page = staff_browser.get(
        reverse("documents:client_documents", kwargs={"client_pk": client_record.pk})
    ).content.decode()

    assert "data-export" in page and "data-xdomea" in page
    assert reverse("efile:handover", kwargs={"client_pk": client_record.pk}) in page
    assert reverse("efile:client", kwargs={"client_pk": client_record.pk}) in page


def test_the_button_downloads_the_message(staff_browser, client_record):
    stored_document(client_record)
    url = reverse("efile:handover", kwargs={"client_pk": client_record.pk})

    response = staff_browser.post(url, {"back": "documents"})

    handover = Handover.objects.get()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"{handover.process_id}_Abgabe.Abgabe.0401.zip" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert f"{handover.process_id}_Abgabe.Abgabe.0401.xml" in archive.namelist()
    assert AuditEntry.objects.filter(action="efile.handover", client_id=client_record.pk).exists()

    # Again: nothing new, back to the documents page with the reason.
    again = staff_browser.post(url, {"back": "documents"}, follow=True)

    assert again.redirect_chain[-1][0].endswith(
        reverse("documents:client_documents", kwargs={"client_pk": client_record.pk})
    )
    assert "Everything has been handed over to the e-file already." in again.content.decode()
    assert Handover.objects.count() == 1


def test_the_page_lists_what_is_new_and_the_past_hand_overs(staff_browser, client_record):
    document = stored_document(client_record, title="Mietvertrag")
    decision = sealed_decision(client_record)
    url = reverse("efile:client", kwargs={"client_pk": client_record.pk})

    page = staff_browser.get(url).content.decode()

    assert "Mietvertrag" in page and f'data-record="document:{document.pk}"' in page
    assert f'data-handover-matter="decision-{decision.pk}"' in page
    assert AuditEntry.objects.filter(action="efile.view", client_id=client_record.pk).exists()

    staff_browser.post(
        reverse("efile:handover", kwargs={"client_pk": client_record.pk}),
        {"matter": f"decision-{decision.pk}"},
    )
    page = staff_browser.get(url).content.decode()

    assert f'data-record="document:{document.pk}"' in page
    assert f'data-record="decision:{decision.pk}"' not in page
    handover = Handover.objects.get()
    assert f'data-handover-id="{handover.pk}"' in page and str(handover.process_id) in page

    response = staff_browser.post(
        reverse("efile:withdraw", kwargs={"client_pk": client_record.pk, "pk": handover.pk}),
        follow=True,
    )

    assert "The hand-over was withdrawn" in response.content.decode()
    assert not Handover.objects.exists()
    assert f'data-record="decision:{decision.pk}"' in response.content.decode()


def test_a_page_in_german(case_manager, client_record):
    stored_document(client_record)
    browser = WebClient(headers={"accept-language": "de"})
    browser.force_login(case_manager)
    case_manager.language = "de"

    page = browser.get(
        reverse("efile:client", kwargs={"client_pk": client_record.pk}), HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()

    assert "Übergabe an die E-Akte" in page


def test_outsiders_get_404(other_case_manager, team_lead, client_record):
    stored_document(client_record)
    for outsider in (other_case_manager, team_lead, client_record.user):
        browser = WebClient()
        browser.force_login(outsider)
        for url in (
            reverse("efile:client", kwargs={"client_pk": client_record.pk}),
            reverse("efile:handover", kwargs={"client_pk": client_record.pk}),
        ):
            assert browser.post(url).status_code in (404, 405)
            assert browser.get(url).status_code in (404, 405)
    assert not Handover.objects.exists()
