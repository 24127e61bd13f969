"""Login and callback views of the SSO provider, with the ID token checked in full.

allauth skips the signature check when the token came straight from the token endpoint and sends
no nonce; here the signature, issuer, audience, expiry, nonce and subject are always checked.
"""

from __future__ import annotations

from typing import Any

import jwt
from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp, SocialToken
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from requests import RequestException

WELL_KNOWN = "/.well-known/openid-configuration"
# Asymmetric signatures only: never "none", never a shared-secret HMAC.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "nonce"]


class StrictOpenIDConnectAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's adapter; the discovered issuer must be the configured one, tokens fully checked."""

    expected_nonce: str | None = None

    @property
    def openid_config(self) -> dict[str, Any]:
        if not hasattr(self, "_openid_config"):
            config: dict[str, Any] = super().openid_config
            configured = self.get_provider().app.settings["server_url"].split(WELL_KNOWN)[0]
            if str(config.get("issuer", "")).rstrip("/") != configured.rstrip("/"):
                raise OAuth2Error("The provider names another issuer than the configured one")
        return self._openid_config

    def complete_login(self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs):
        if not kwargs["response"].get("id_token"):
            raise OAuth2Error("The provider sent no ID token")
        login = super().complete_login(request, app, token, **kwargs)
        data = login.account.extra_data
        userinfo = data.get("userinfo")
        if userinfo is not None and userinfo.get("sub") != data["id_token"]["sub"]:
            raise OAuth2Error("The user info is about another subject than the ID token")
        return login

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict[str, Any]:
        try:
            algorithm, key = jwtkit.fetch_key(
                id_token, self.openid_config["jwks_uri"], jwtkit.lookup_kid_jwk
            )
            if algorithm not in ALGORITHMS:
                raise OAuth2Error(f"ID token signed with {algorithm}")
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key,
                algorithms=[algorithm],
                audience=app.client_id,
                issuer=self.openid_config["issuer"],
                options={"require": REQUIRED_CLAIMS},
            )
        except (jwt.PyJWTError, KeyError, ValueError) as error:
            raise OAuth2Error("Invalid ID token") from error
        if isinstance(claims["aud"], list) and claims.get("azp") != app.client_id:
            raise OAuth2Error("ID token for several audiences without us as its party")
        if not self.expected_nonce or not constant_time_compare(
            str(claims["nonce"]), self.expected_nonce
        ):
            raise OAuth2Error("ID token with another nonce than this login's")
        jwtkit.verify_jti(claims)
        return claims


class NonceCallbackView(OAuth2CallbackView):
    """allauth's callback view; hands the nonce kept in this login's state to the adapter."""

    def _get_state(self, request: HttpRequest, provider: Any) -> tuple[Any, Any]:
        state, response = super()._get_state(request, provider)
        if isinstance(self.adapter, StrictOpenIDConnectAdapter):
            self.adapter.expected_nonce = (state or {}).get("nonce")
        return state, response


@login_not_required
def login(request: HttpRequest, provider_id: str) -> HttpResponse:
    """Start at the provider; one that is down or names another issuer gives the error page."""
    try:
        adapter = StrictOpenIDConnectAdapter(request, provider_id)
        view = OAuth2LoginView.adapter_view(adapter)
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
    except (OAuth2Error, RequestException) as error:
        return render_authentication_error(request, adapter.get_provider(), exception=error)


@login_not_required
def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        view = NonceCallbackView.adapter_view(StrictOpenIDConnectAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
