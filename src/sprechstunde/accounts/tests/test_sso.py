"""SSO by OpenID Connect against a local provider started by the tests (OWASP ASVS V10, 6.8.2)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from sprechstunde.accounts.oidc.testing import CLIENT_ID, LocalOpenIDProvider

pytestmark = pytest.mark.django_db

SUB = "staff-4711"


@pytest.fixture
def provider(settings):
    with LocalOpenIDProvider() as local:
        settings.SOCIALACCOUNT_PROVIDERS = local.app_settings()
        yield local


@pytest.fixture
def linked(case_manager):
    SocialAccount.objects.create(user=case_manager, provider="authority", uid=SUB)
    return case_manager


def _start(client) -> str:
    response = client.post(reverse("openid_connect_login", kwargs={"provider_id": "authority"}))
    assert response.status_code == 302
    return response["Location"]


def _callback(client, answer: dict[str, str]):
    url = reverse("openid_connect_callback", kwargs={"provider_id": "authority"})
    return client.get(url, answer)


def _sign_in(client, provider, user, **grant: Any):
    authorize = _start(client)
    answer = provider.grant(authorize, sub=grant.pop("sub", SUB), email=user.email, **grant)
    return _callback(client, answer)


def _went_on_to_the_second_factor(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("mfa_authenticate")


def _refused(client, response) -> bool:
    return (
        not _went_on_to_the_second_factor(response)
        and SESSION_KEY not in client.session
        and client.get(reverse("accounts:profile")).status_code == 302
    )


def test_a_valid_id_token_for_a_linked_account_leads_to_the_second_factor(client, provider, linked):
    authorize = _start(client)
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    response = _callback(client, provider.grant(authorize, sub=SUB, email=linked.email))

    assert len(query["state"]) >= 16 and len(query["nonce"]) >= 32
    assert query["code_challenge_method"] == "S256"
    assert provider.token_requests[0]["code_verifier"]
    assert _went_on_to_the_second_factor(response)


def test_the_login_needs_the_pkce_verifier_of_this_browser(client, provider, linked):
    authorize = _start(client)
    other = client.__class__()
    other_authorize = _start(other)
    # The provider saw the challenge of the first browser, but the code goes to the second.
    answer = provider.grant(authorize, sub=SUB, email=linked.email)
    answer["state"] = parse_qs(urlsplit(other_authorize).query)["state"][0]

    response = _callback(other, answer)

    # The provider refused the code: the verifier does not match the challenge.
    assert provider.token_requests[-1]["code_verifier"]
    assert provider.issued == []
    assert _refused(other, response)


def test_a_callback_with_a_state_this_browser_did_not_start_is_refused(client, provider, linked):
    # Login CSRF: an attacker's own code and state, sent to the victim's browser.
    attacker = client.__class__()
    answer = provider.grant(_start(attacker), sub=SUB, email=linked.email)
    _start(client)

    response = _callback(client, answer)

    assert provider.token_requests == []
    assert _refused(client, response)


def test_a_state_is_good_for_one_callback_only(client, provider, linked):
    authorize = _start(client)
    answer = provider.grant(authorize, sub=SUB, email=linked.email)
    assert _went_on_to_the_second_factor(_callback(client, answer))
    client.logout()

    replay = provider.grant(authorize, sub=SUB, email=linked.email)
    response = _callback(client, replay)

    assert len(provider.token_requests) == 1
    assert _refused(client, response)


def test_a_token_signed_with_a_key_outside_the_jwks_is_refused(client, provider, linked):
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    response = _sign_in(client, provider, linked, signing_key=forger)

    assert _refused(client, response)


def test_a_token_for_another_audience_is_refused(client, provider, linked):
    response = _sign_in(client, provider, linked, claims={"aud": "another-client"})

    assert _refused(client, response)


def test_a_token_for_several_audiences_needs_us_as_authorised_party(client, provider, linked):
    response = _sign_in(client, provider, linked, claims={"aud": [CLIENT_ID, "another-client"]})

    assert _refused(client, response)


def test_a_token_from_another_issuer_is_refused(client, provider, linked):
    response = _sign_in(client, provider, linked, claims={"iss": "https://idp.example.org"})

    assert _refused(client, response)


def test_a_provider_announcing_another_issuer_than_configured_is_refused(client, provider, linked):
    provider.announced_issuer = "https://idp.example.org"

    response = client.post(reverse("openid_connect_login", kwargs={"provider_id": "authority"}))

    assert not response.get("Location", "").startswith(provider.url)
    assert provider.token_requests == []
    assert _refused(client, response)


def test_an_expired_token_is_refused(client, provider, linked):
    response = _sign_in(client, provider, linked, claims={"exp": 1_000_000_000})

    assert _refused(client, response)


@pytest.mark.parametrize("claim", ["exp", "iat", "nonce", "aud", "iss"])
def test_a_token_without_a_required_claim_is_refused(client, provider, linked, claim):
    response = _sign_in(client, provider, linked, claims={claim: None})

    assert _refused(client, response)


def test_a_token_with_another_logins_nonce_is_refused(client, provider, linked):
    # An ID token captured from an earlier login, replayed into this one.
    response = _sign_in(client, provider, linked, claims={"nonce": "an-earlier-logins-nonce"})

    assert _refused(client, response)


def test_the_account_is_found_by_subject_never_by_e_mail(client, provider, linked):
    # Same address, another subject at the provider: not this account.
    response = _sign_in(client, provider, linked, sub="someone-else")

    assert _refused(client, response)
    assert SocialAccount.objects.filter(user=linked).get().uid == SUB


def test_user_info_about_another_subject_than_the_token_is_refused(client, provider, linked):
    response = _sign_in(client, provider, linked, sub="someone-else", userinfo={"sub": SUB})

    assert _refused(client, response)


def test_tokens_stay_on_the_server_and_are_not_stored(client, provider, linked):
    authorize = _start(client)
    response = _callback(client, provider.grant(authorize, sub=SUB, email=linked.email))
    page = client.get(response["Location"])

    assert _went_on_to_the_second_factor(response)
    assert len(provider.issued) == 2
    for token in provider.issued:
        for seen in (response, page):
            assert token not in seen.content.decode()
            assert token not in seen.get("Location", "")
            assert all(token not in c.value for c in seen.cookies.values())
    assert not SocialToken.objects.exists()
