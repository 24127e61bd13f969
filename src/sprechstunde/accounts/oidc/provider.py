"""The OpenID Connect provider class allauth uses for SSO (set in SOCIALACCOUNT_PROVIDERS)."""

from __future__ import annotations

import secrets
from typing import Any

from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.http import HttpRequest, HttpResponse

from .views import StrictOpenIDConnectAdapter


class StrictOpenIDConnectProvider(OpenIDConnectProvider):
    """Every login carries a fresh nonce (kept in the state) and PKCE; ID tokens are checked."""

    oauth2_adapter_class = StrictOpenIDConnectAdapter
    pkce_enabled_default = True

    def redirect(
        self,
        request: HttpRequest,
        process: Any,
        next_url: str | None = None,
        data: Any = None,
        **kwargs: Any,
    ) -> HttpResponse:
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None)
        if auth_params is None:
            auth_params = self.get_auth_params()
        return super().redirect(
            request,
            process,
            next_url,
            data,
            auth_params={**auth_params, "nonce": nonce},
            nonce=nonce,
            **kwargs,
        )


provider_classes = [StrictOpenIDConnectProvider]
