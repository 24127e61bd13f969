"""Leichte Sprache and the sign-language slot (issue 13, point 7)."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from sprechstunde.clients.views import EASY_LANGUAGE_PAGES

from .conftest import login

pytestmark = pytest.mark.django_db


def _sentences(html: str) -> list[str]:
    main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    main = main.split('class="easy-language__more"', 1)[0]
    text = re.sub(r"<br\s*/?>|</(p|li|h[1-6])>", "\n", main)
    text = re.sub(r"<[^>]+>", " ", text)
    return [
        sentence.strip()
        for line in text.splitlines()
        for sentence in re.split(r"(?<=[.?!:])\s+", line)
        if sentence.strip() and len(sentence.split()) > 1
    ]


@pytest.mark.parametrize("slug", [slug for slug, _title in EASY_LANGUAGE_PAGES])
def test_each_text_is_public_german_and_made_of_short_sentences(client, slug):
    response = client.get(reverse("clients:easy_language_page", args=[slug]))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<div class="narrow easy-language" lang="de" dir="ltr">' in page
    sentences = _sentences(page)
    assert len(sentences) >= 12
    # Netzwerk Leichte Sprache: short sentences, one statement each.
    long_ones = [sentence for sentence in sentences if len(sentence.split()) > 14]
    assert not long_ones, long_ones
    # Hard compound words are split with a hyphen, as the rules ask.
    assert "Datenschutz" not in page and "Videogespräch" not in page


def test_the_index_lists_all_four_and_says_when_there_is_no_sign_language_video(client):
    page = client.get(reverse("clients:easy_language")).content.decode()
    for slug, title in EASY_LANGUAGE_PAGES:
        assert reverse("clients:easy_language_page", args=[slug]) in page
        assert title in page
    assert "<video" not in page
    assert "There is no video in German Sign Language yet" in page
    assert "Other ways to reach us" in page


@override_settings(SIGN_LANGUAGE_VIDEO_URL="/media/dgs/portal.mp4")
def test_an_operators_sign_language_video_is_shown(client):
    page = client.get(reverse("clients:easy_language")).content.decode()
    assert '<video controls preload="none" src="/media/dgs/portal.mp4"' in page


def test_an_unknown_text_is_a_404(client):
    assert client.get("/klienten/leichte-sprache/gibt-es-nicht/").status_code == 404


def test_every_client_page_links_easy_and_sign_language(client, accepted_client):
    login(client, accepted_client.user)
    for name in ("clients:portal_home", "clients:privacy", "clients:portal_settings"):
        page = client.get(reverse(name)).content.decode()
        assert f'href="{reverse("clients:easy_language")}"' in page
        assert f'href="{reverse("clients:easy_language")}#sign-language"' in page
    client.logout()
    page = client.get("/accounts/login/", follow=True).content.decode()
    assert f'href="{reverse("clients:easy_language")}"' in page
