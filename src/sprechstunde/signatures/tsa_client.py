"""RFC 3161 time stamps for seals, with the TSA's certificates remembered between seals.

For B-LT, pyHanko must know the TSA's certificate before it signs, so that the revocation data
for the TSA's chain goes into the DSS together with the seal's. pyHanko learns it from a "dummy"
time stamp request, which costs a second TSA round trip for every seal. This client keeps that
dummy response per process (per TSA URL and digest) for SEAL_REVOCATION_CACHE_SECONDS, the same
window as the revocation cache (0 = off).

If the TSA meanwhile signs with another certificate (key rollover), the real time stamp token
of the next seal names a signer the cached chain does not contain; that seal is refused with
`TsaCertificateChanged` before anything is written, the entry is dropped, and the caller seals
again with freshly learnt certificates. The same happens when the remembered chain no longer
validates (the old TSA certificate revoked or expired). A seal is therefore never built on a
stale TSA chain, and a stale entry costs one extra attempt, not an outage.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from asn1crypto import cms
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import extract_ts_certs
from pyhanko_certvalidator.registry import SimpleCertificateStore

_lock = threading.Lock()
_responses: dict[tuple[str, str], tuple[float, bytes]] = {}
_stats = {"hits": 0, "misses": 0}


class TsaCertificateChanged(Exception):
    """The TSA signed with a certificate other than the remembered one; seal again."""


def tsa_cert_cache_clear() -> None:
    """Forget the remembered TSA certificates (tests, or after a TSA configuration change)."""
    with _lock:
        _responses.clear()
        _stats.update(hits=0, misses=0)


def tsa_cert_cache_stats() -> dict[str, int]:
    with _lock:
        return dict(_stats)


def _forget(url: str) -> None:
    with _lock:
        for key in [key for key in _responses if key[0] == url]:
            del _responses[key]


class CertCachingHTTPTimeStamper(HTTPTimeStamper):
    """pyHanko's HTTP time stamper, minus the per-seal dummy request once the TSA is known."""

    def __init__(self, url: str, *, max_age: float, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._cache_url = url
        self._max_age = max_age
        self._certs_from_cache = False

    async def async_dummy_response(self, md_algorithm: str) -> cms.ContentInfo:
        if md_algorithm in self._dummy_response_cache:  # already known to this seal
            return await super().async_dummy_response(md_algorithm)
        key = (self._cache_url, md_algorithm)
        with _lock:
            entry = _responses.get(key)
            fresh = entry is not None and entry[0] > time.monotonic()
            _stats["hits" if fresh else "misses"] += 1
        if fresh and entry is not None:
            token = cms.ContentInfo.load(entry[1])
            # pyHanko's own bookkeeping for a dummy response: the token and its signer's
            # certificates (from which it builds the TSA's validation paths).
            self._register_dummy(md_algorithm, token)
            self._certs_from_cache = True
            return token
        token = await super().async_dummy_response(md_algorithm)
        if self._max_age > 0:
            with _lock:
                _responses[key] = (time.monotonic() + self._max_age, token.dump())
        return token

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        token = await super().async_timestamp(message_digest, md_algorithm)
        if self._certs_from_cache and not self._signed_by_known_certificate(token):
            _forget(self._cache_url)
            raise TsaCertificateChanged(self._cache_url)
        return token

    @property
    def certs_from_cache(self) -> bool:
        """Whether this seal relies on remembered TSA certificates (not learnt just now)."""
        return self._certs_from_cache

    def forget_cached_certificates(self) -> None:
        """Drop the remembered certificates of this TSA, e.g. when their chain no longer
        validates (an old TSA certificate revoked or expired after a rollover)."""
        _forget(self._cache_url)

    def _signed_by_known_certificate(self, token: cms.ContentInfo) -> bool:
        signers = list(extract_ts_certs(token, SimpleCertificateStore()))
        return bool(signers) and all(cert.issuer_serial in self._certs for cert in signers)
