"""A small OpenID provider on 127.0.0.1 for the SSO tests: discovery, JWKS, token, user info.

It signs real RS256 ID tokens; a test can change any claim, the issuer it announces, or sign
with a key that is not in its JWKS, to see that the client refuses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "sprechstunde"
CLIENT_SECRET = "local-provider-secret"  # noqa: S105 - a test peer's secret


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class LocalOpenIDProvider:
    """Runs while used as a context manager; `grant()` plays the user's consent at the provider."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "key-1"
        self.announced_issuer: str | None = None  # None: its own URL
        self.grants: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, str]] = []
        self.issued: list[str] = []  # access tokens and ID tokens handed out
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> LocalOpenIDProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def app_settings(self) -> dict[str, Any]:
        """SOCIALACCOUNT_PROVIDERS for a client of this provider, as base.py builds it."""
        return {
            "openid_connect": {
                "provider_class": "sprechstunde.accounts.oidc.provider.StrictOpenIDConnectProvider",
                "APPS": [
                    {
                        "provider_id": "authority",
                        "name": "Local provider",
                        "client_id": CLIENT_ID,
                        "secret": CLIENT_SECRET,
                        "settings": {"server_url": self.url},
                    }
                ],
            }
        }

    def grant(
        self,
        authorize_url: str,
        *,
        sub: str,
        email: str,
        claims: dict[str, Any] | None = None,
        userinfo: dict[str, Any] | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
    ) -> dict[str, str]:
        """What the provider would send the browser back with: code and state for the callback.

        `claims` overrides ID token claims (None removes one); `userinfo` overrides user info.
        """
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert authorize_url.startswith(f"{self.url}/authorize?")
        assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
        code = secrets.token_urlsafe(16)
        self.grants[code] = {
            "query": query,
            "sub": sub,
            "email": email,
            "claims": claims or {},
            "userinfo": userinfo or {},
            "signing_key": signing_key or self.key,
        }
        return {"code": code, "state": query["state"]}

    def _id_token(self, grant: dict[str, Any]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": grant["sub"],
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["query"].get("nonce"),
            "email": grant["email"],
            "email_verified": True,
        }
        claims.update(grant["claims"])
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(
            claims, grant["signing_key"], algorithm="RS256", headers={"kid": self.kid}
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests assert, not the log."""

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/.well-known/openid-configuration":
                    base = provider.url
                    self._json(
                        200,
                        {
                            "issuer": provider.announced_issuer or base,
                            "authorization_endpoint": f"{base}/authorize",
                            "token_endpoint": f"{base}/token",
                            "userinfo_endpoint": f"{base}/userinfo",
                            "jwks_uri": f"{base}/jwks",
                            "response_types_supported": ["code"],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "token_endpoint_auth_methods_supported": ["client_secret_post"],
                        },
                    )
                elif path == "/jwks":
                    numbers = provider.key.public_key().public_numbers()
                    key = {"kty": "RSA", "kid": provider.kid, "use": "sig", "alg": "RS256"}
                    key.update(n=_b64(numbers.n), e=_b64(numbers.e))
                    self._json(200, {"keys": [key]})
                elif path == "/userinfo":
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    grant = next(
                        (g for g in provider.grants.values() if g.get("access") == token), None
                    )
                    if grant is None:
                        self._json(401, {"error": "invalid_token"})
                        return
                    info = {"sub": grant["sub"], "email": grant["email"]}
                    self._json(200, {**info, **grant["userinfo"]})
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                provider.token_requests.append(form)
                grant = provider.grants.pop(form.get("code", ""), None)
                if (
                    grant is None
                    or form.get("client_id") != CLIENT_ID
                    or form.get("client_secret") != CLIENT_SECRET
                    or form.get("redirect_uri") != grant["query"].get("redirect_uri")
                ):
                    self._json(400, {"error": "invalid_grant"})
                    return
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                if challenge.rstrip(b"=").decode() != grant["query"].get("code_challenge"):
                    self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                    return
                grant["access"] = secrets.token_urlsafe(24)
                provider.grants[f"used-{secrets.token_hex(4)}"] = grant
                id_token = provider._id_token(grant)
                provider.issued += [grant["access"], id_token]
                self._json(
                    200,
                    {
                        "access_token": grant["access"],
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "id_token": id_token,
                    },
                )

        return Handler
