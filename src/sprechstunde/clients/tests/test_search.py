"""Search by the Jobcenter's numbers and by name without diacritics, inside the caseload only,
audited without the term (issue 14)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients import numbers, services
from sprechstunde.clients.factories import ClientFactory
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError

from .conftest import login

pytestmark = pytest.mark.django_db


def _names(test_client, term: str) -> str:
    return test_client.get(reverse("clients:list"), {"q": term}).content.decode()


@pytest.fixture
def yilmaz(case_manager):
    return ClientFactory(
        case_manager=case_manager,
        first_name="Ayşe",
        last_name="Y\u0131lmaz",
        email="ayse.y@example.org",
        mobile_number="+49 170 5551234",
        customer_number="123D456789",
        bg_number="12345BG0012345",
    )


@pytest.fixture
def mueller(case_manager):
    return ClientFactory(case_manager=case_manager, first_name="Jörg", last_name="Müller")


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Y\u0131lmaz", "yilmaz"), ("Ayşe", "ayse"), ("Groß", "gross"), ("Øre  Łódź", "ore lodz")],
)
def test_fold_takes_off_what_nfkd_leaves(text, folded):
    assert numbers.fold(text) == folded


@pytest.mark.parametrize(
    "term",
    [
        "Yilmaz",
        "y\u0131lmaz",
        "YILMAZ",
        "ayse yilmaz",
        "123D456789",
        "123 d 456789",
        "12345BG0012345",
        "12345 BG 0012345",
        "BG0012345",
        "ayse.y@example",
        "0170 555 1234",
        "5551234",
    ],
)
def test_each_kind_of_term_finds_the_client(client, case_manager, yilmaz, mueller, term):
    page = _names(login(client, case_manager), term)

    assert "Y\u0131lmaz, Ayşe" in page
    assert "Müller" not in page


@pytest.mark.parametrize("term", ["Mueller", "muller", "MÜLLER", "jorg"])
def test_umlauts_are_found_in_either_spelling(client, case_manager, yilmaz, mueller, term):
    page = _names(login(client, case_manager), term)

    assert "Müller, Jörg" in page
    assert "Y\u0131lmaz" not in page


def test_search_stays_inside_the_caseload(client, case_manager, other_case_manager, yilmaz):
    ClientFactory(
        case_manager=other_case_manager,
        first_name="Fremd",
        last_name="Yilmazoglu",
        customer_number="999D999999",
    )
    login(client, case_manager)

    assert "Yilmazoglu" not in _names(client, "yilmaz")
    assert "Yilmazoglu" not in _names(client, "999D999999")


def test_search_is_audited_by_kind_and_keyed_hash_never_in_clear(client, case_manager, yilmaz):
    login(client, case_manager)
    _names(client, "123D456789")
    _names(client, "Y\u0131lmaz")
    _names(client, "yilmaz")

    entries = list(AuditEntry.objects.filter(action="client.search").order_by("sequence"))
    assert [entry.target_id.split(":")[0] for entry in entries] == [
        "customer_number",
        "name",
        "name",
    ]
    # The same folded name gives the same hash; the numbers and names appear nowhere.
    assert entries[1].target_id == entries[2].target_id
    for entry in entries:
        stored = " ".join([entry.target_id, entry.target_type, entry.actor_label])
        assert "456789" not in stored
        assert "yilmaz" not in stored.lower()
    assert not AuditEntry.objects.filter(action="client.list").exists()


def test_numbers_are_validated_and_stored_without_spaces(case_manager):
    client_obj = services.client_create(
        actor=case_manager,
        first_name="Lena",
        last_name="Hahn",
        email="lena@example.org",
        customer_number="123 d 456789",
        bg_number="12345 bg 0012345",
    )

    client_obj.refresh_from_db()
    assert (client_obj.customer_number, client_obj.bg_number) == ("123D456789", "12345BG0012345")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("customer_number", "12D456789"),
        ("customer_number", "1234567890"),
        ("bg_number", "1234BG0012345"),
        ("bg_number", "12345XY0012345"),
    ],
)
def test_a_number_in_the_wrong_form_changes_nothing(case_manager, field, value):
    with pytest.raises(ApplicationError) as error:
        services.client_create(
            actor=case_manager,
            first_name="Lena",
            last_name="Hahn",
            email="l@example.org",
            **{field: value},
        )

    assert error.value.field == field
    assert not Client.objects.exists()


def test_update_form_shows_the_format_message_and_keeps_the_client(client, case_manager, yilmaz):
    response = login(client, case_manager).post(
        reverse("clients:update", args=[yilmaz.pk]),
        {
            "first_name": "Ayşe",
            "last_name": "Y\u0131lmaz",
            "email": yilmaz.email,
            "mobile_number": yilmaz.mobile_number,
            "preferred_language": "de",
            "customer_number": "nonsense",
            "bg_number": "",
        },
    )

    assert response.status_code == 400
    assert "three digits, a letter and six digits" in response.content.decode()
    yilmaz.refresh_from_db()
    assert yilmaz.customer_number == "123D456789"


def test_renaming_keeps_the_search_key_in_step(client, case_manager, yilmaz):
    services.client_update(
        client=yilmaz,
        actor=case_manager,
        first_name="Ayşe",
        last_name="Çelik",
        email=yilmaz.email,
        mobile_number=yilmaz.mobile_number,
        preferred_language="de",
    )

    page = _names(login(client, case_manager), "celik")
    assert "Çelik, Ayşe" in page
    assert Client.objects.get(pk=yilmaz.pk).customer_number == "123D456789"
