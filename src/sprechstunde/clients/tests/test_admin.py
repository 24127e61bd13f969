"""Consent texts in Django admin: an edit publishes version n+1, published ones never change."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from sprechstunde.audit.models import AuditEntry
from sprechstunde.clients.models import Client, Consent, ConsentText, Invitation

from .conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    return login(client, admin_user)


def test_saving_an_edit_publishes_a_new_version_and_keeps_the_old_one(admin_client):
    old = ConsentText.objects.get(purpose="video", language="de", version=1)
    original = (old.title, old.body, old.published_at)
    response = admin_client.post(
        reverse("admin:clients_consenttext_change", args=[old.pk]),
        {"title": "Videogespräche", "body": old.body + "\n\nNeu: ein Satz mehr."},
    )
    assert response.status_code == 302
    new = ConsentText.objects.get(purpose="video", language="de", version=2)
    assert new.body.endswith("Neu: ein Satz mehr.")
    assert new.published_at is not None
    old.refresh_from_db()
    assert (old.title, old.body, old.published_at) == original
    assert AuditEntry.objects.filter(action="consent_text.create", target_id=str(new.pk)).exists()


def test_an_edit_cannot_move_a_text_to_another_purpose_or_language(admin_client):
    old = ConsentText.objects.get(purpose="video", language="de", version=1)
    admin_client.post(
        reverse("admin:clients_consenttext_change", args=[old.pk]),
        {"purpose": "portal", "language": "en", "title": "X", "body": "Y"},
    )
    new = ConsentText.objects.get(title="X")
    assert (new.purpose, new.language, new.version) == ("video", "de", 2)


def test_saving_without_a_change_publishes_nothing(admin_client):
    old = ConsentText.objects.get(purpose="portal", language="en", version=1)
    response = admin_client.post(
        reverse("admin:clients_consenttext_change", args=[old.pk]),
        {"title": old.title, "body": old.body},
    )
    assert response.status_code == 200
    assert "Nothing has changed" in response.content.decode()
    assert ConsentText.objects.filter(purpose="portal", language="en").count() == 1


def test_adding_a_text_numbers_the_version_itself(admin_client):
    admin_client.post(
        reverse("admin:clients_consenttext_add"),
        {"purpose": "portal", "language": "de", "title": "Portal", "body": "Text"},
    )
    assert ConsentText.objects.get(title="Portal").version == 2


def test_consent_texts_cannot_be_deleted(admin_client):
    text = ConsentText.objects.first()
    response = admin_client.post(
        reverse("admin:clients_consenttext_delete", args=[text.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert ConsentText.objects.filter(pk=text.pk).exists()


def test_client_data_is_not_in_django_admin():
    for model in (Client, Invitation, Consent):
        assert not admin.site.is_registered(model)


@pytest.mark.parametrize("fixture", ["case_manager", "dpo"])
def test_other_staff_cannot_edit_consent_texts(request, client, fixture):
    login(client, request.getfixturevalue(fixture))
    text = ConsentText.objects.first()
    response = client.post(
        reverse("admin:clients_consenttext_change", args=[text.pk]), {"title": "X", "body": "Y"}
    )
    assert response.status_code in {302, 403}
    assert not ConsentText.objects.filter(title="X").exists()
