"""Interpreters follow the client (issue 13, point 6): staff see the need, and a video
appointment of such a client offers the interpreter link filled in for her language."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sprechstunde.video_calls.models import InterpreterInvitation

from .conftest import browser_for

pytestmark = pytest.mark.django_db


def _detail(appointment) -> str:
    return reverse("appointments:detail", kwargs={"pk": appointment.pk})


def test_the_appointment_offers_an_interpreter_for_the_clients_language(
    appointment, case_manager, portal_client
):
    portal_client.interpreter = "spoken"
    portal_client.interpreter_language = "Arabisch (syrisch)"
    portal_client.save()
    browser = browser_for(case_manager)
    page = browser.get(_detail(appointment)).content.decode()
    assert 'data-testid="interpreter-offer"' in page
    assert "Arabisch (syrisch)" in page
    offer = reverse("video_calls:invitations", kwargs={"appointment_pk": appointment.pk})
    assert f"{offer}?kind=spoken&amp;language=Arabisch+%28syrisch%29" in page
    form = browser.get(offer, {"kind": "spoken", "language": "Arabisch (syrisch)"})
    html = form.content.decode()
    assert 'value="Arabisch (syrisch)"' in html
    assert re.search(r'<input[^>]*value="spoken"[^>]*checked', html)
    created = browser.post(offer, {"kind": "spoken", "language": "Arabisch (syrisch)"})
    assert "/video/dolmetschen/" in created.content.decode()
    assert InterpreterInvitation.objects.get().language == "Arabisch (syrisch)"
    after = browser.get(_detail(appointment)).content.decode()
    assert 'data-testid="interpreter-offer"' not in after
    assert "An interpreter link for Arabisch (syrisch) exists." in after


def test_without_a_stated_language_the_offer_names_the_preferred_one(
    appointment, case_manager, portal_client
):
    portal_client.interpreter = "spoken"
    portal_client.preferred_language = "uk"
    portal_client.save()
    page = browser_for(case_manager).get(_detail(appointment)).content.decode()
    assert "Ukrainian" in page
    assert 'data-testid="interpreter-offer"' in page


def test_no_offer_for_a_client_who_needs_no_interpreter(appointment, case_manager):
    page = browser_for(case_manager).get(_detail(appointment)).content.decode()
    assert 'data-testid="interpreter-offer"' not in page


def test_the_client_sees_no_interpreter_offer(appointment, portal_client):
    portal_client.interpreter = "spoken"
    portal_client.save()
    page = browser_for(portal_client.user).get(
        reverse("appointments:portal_detail", kwargs={"pk": appointment.pk})
    )
    assert 'data-testid="interpreter-offer"' not in page.content.decode()


def test_staff_record_the_need_and_a_bad_value_changes_nothing(case_manager, portal_client):
    browser = browser_for(case_manager)
    url = reverse("clients:update", kwargs={"pk": portal_client.pk})
    data = {
        "first_name": portal_client.first_name,
        "last_name": portal_client.last_name,
        "email": portal_client.email,
        "mobile_number": "",
        "preferred_language": "ar",
        "interpreter": "sign",
        "interpreter_language": "  DGS  ",
    }
    assert browser.post(url, data).status_code == 302
    portal_client.refresh_from_db()
    assert (portal_client.interpreter, portal_client.interpreter_language) == ("sign", "DGS")
    page = browser.get(reverse("clients:detail", kwargs={"pk": portal_client.pk}))
    assert "Sign-language interpreter" in page.content.decode()
    bad = browser.post(url, {**data, "interpreter": "telepathy", "preferred_language": "tr"})
    assert bad.status_code == 400
    portal_client.refresh_from_db()
    assert portal_client.preferred_language == "ar"
    assert portal_client.interpreter == "sign"
