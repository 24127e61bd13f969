"""The UI speaks German by default, English on request, and a user's own setting wins."""

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.german_ui, pytest.mark.django_db]


def test_login_page_is_german_by_default(client):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="de"' in html
    assert "Anmelden" in html


def test_browser_language_english_gives_english_page(client):
    response = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert 'lang="en"' in html
    assert "Anmelden" not in html


def test_users_own_language_setting_wins_over_the_browser(client, case_manager):
    case_manager.preferred_language = "en"
    case_manager.save()
    client.force_login(case_manager)
    response = client.get(reverse("accounts:profile"), HTTP_ACCEPT_LANGUAGE="de")
    assert 'lang="en"' in response.content.decode()
