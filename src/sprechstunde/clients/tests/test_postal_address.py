"""A client's postal address (issue 15, item 4): optional, structured, edited by staff on the
client's page; an incomplete or wrong address is refused at its field and changes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sprechstunde.audit.models import AuditEntry

from .conftest import login

pytestmark = pytest.mark.django_db


def _form(**postal: str) -> dict[str, str]:
    return {
        "first_name": "Klara",
        "last_name": "Klient",
        "email": "klara@example.org",
        "preferred_language": "de",
        "postal_street": "",
        "postal_supplement": "",
        "postal_code": "",
        "postal_city": "",
        **postal,
    }


def test_staff_store_the_address_and_the_client_page_shows_it(client, case_manager, client_record):
    browser = login(client, case_manager)
    url = reverse("clients:update", args=[client_record.pk])
    assert 'name="postal_street"' in browser.get(url).content.decode()
    response = browser.post(
        url,
        _form(
            postal_street="  Lindenweg   7 ",
            postal_supplement="Hinterhaus",
            postal_code="88214",
            postal_city="Ravensburg",
        ),
    )
    assert response.status_code == 302
    client_record.refresh_from_db()
    assert client_record.postal_address_lines == ["Lindenweg 7", "Hinterhaus", "88214 Ravensburg"]
    assert AuditEntry.objects.filter(action="client.update", target_id=str(client_record.pk))
    page = browser.get(reverse("clients:detail", args=[client_record.pk])).content.decode()
    assert "Lindenweg 7<br>Hinterhaus<br>88214 Ravensburg" in page

    # Emptying every field removes the address; the supplement alone is not an address.
    assert browser.post(url, _form()).status_code == 302
    client_record.refresh_from_db()
    assert client_record.postal_address_lines == []
    assert (client_record.postal_street, client_record.postal_city) == ("", "")


@pytest.mark.parametrize(
    ("postal", "field", "message"),
    [
        ({"postal_code": "88214", "postal_city": "Ravensburg"}, "postal_street", "street"),
        (
            {"postal_street": "Lindenweg 7", "postal_code": "882", "postal_city": "Ravensburg"},
            "postal_code",
            "five digits",
        ),
        ({"postal_street": "Lindenweg 7", "postal_code": "88214"}, "postal_city", "city"),
        ({"postal_supplement": "c/o Meier"}, "postal_street", "street"),
    ],
)
def test_an_incomplete_address_is_refused_at_its_field_and_nothing_changes(
    client, case_manager, client_record, postal, field, message
):
    browser = login(client, case_manager)
    response = browser.post(
        reverse("clients:update", args=[client_record.pk]),
        _form(first_name="Klarissa", **postal),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    # What was typed is still in the form ...
    assert response.context["form"].data["first_name"] == "Klarissa"
    # ... and nothing was stored.
    client_record.refresh_from_db()
    assert client_record.first_name == "Klara"
    assert client_record.postal_address_lines == []
