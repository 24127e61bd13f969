"""A process-wide cache of OCSP responses and CRLs for B-LT/B-LTA seals.

Every seal needs revocation data for the same few certificates (the seal's chain and the time
stamping authority's chain). Fetching it afresh for every seal costs several HTTP round trips;
this cache reuses a fetched OCSP response or CRL until shortly before its nextUpdate, and never
longer than SEAL_REVOCATION_CACHE_SECONDS. Responses without a nextUpdate, or with one already
close, are not cached. Misses go to pyHanko's own aiohttp fetchers.

The wrappers keep pyHanko's per-validation bookkeeping (`fetched_*`), so everything used for
one seal, hit or miss, ends up in that seal's DSS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import cms, crl, ocsp, x509
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.fetchers.api import (
    CRLFetcher,
    FetcherBackend,
    Fetchers,
    OCSPFetcher,
)

# Stop reusing an entry this long before its nextUpdate, so that a validator checking the
# embedded data a little later still finds it current.
SAFETY_MARGIN = timedelta(seconds=60)

_lock = threading.Lock()
_ocsp_cache: dict[Any, tuple[float, ocsp.OCSPResponse]] = {}
_crl_cache: dict[Any, tuple[float, list[crl.CertificateList]]] = {}
_stats = {"hits": 0, "misses": 0}


def revinfo_cache_clear() -> None:
    """Forget all cached revocation data (tests, or after a trust configuration change)."""
    with _lock:
        _ocsp_cache.clear()
        _crl_cache.clear()
        _stats.update(hits=0, misses=0)


def revinfo_cache_stats() -> dict[str, int]:
    with _lock:
        return dict(_stats)


def _expiry(next_updates: Iterable[datetime | None], max_age: float) -> float | None:
    """Monotonic deadline for reuse, or None if the data must not be cached."""
    if max_age <= 0:
        return None
    now = datetime.now(UTC)
    deadline = now + timedelta(seconds=max_age)
    seen = False
    for next_update in next_updates:
        if next_update is None:
            return None
        seen = True
        deadline = min(deadline, next_update - SAFETY_MARGIN)
    if not seen or deadline <= now:
        return None
    return time.monotonic() + (deadline - now).total_seconds()


def _cert_key(cert: x509.Certificate | cms.AttributeCertificateV2) -> bytes:
    return bytes(cert.sha256) if isinstance(cert, x509.Certificate) else cert.dump()


def _ocsp_next_updates(response: ocsp.OCSPResponse) -> list[datetime | None]:
    if response["response_status"].native != "successful":
        return [None]
    singles = response["response_bytes"]["response"].parsed["tbs_response_data"]["responses"]
    return [single["next_update"].native for single in singles] or [None]


def _crl_next_updates(crls: list[crl.CertificateList]) -> list[datetime | None]:
    return [item["tbs_cert_list"]["next_update"].native for item in crls] or [None]


def _lookup(cache: dict[Any, tuple[float, Any]], key: Any) -> Any | None:
    with _lock:
        entry = cache.get(key)
        if entry is not None and entry[0] > time.monotonic():
            _stats["hits"] += 1
            return entry[1]
        cache.pop(key, None)
        _stats["misses"] += 1
        return None


class _CachingOCSPFetcher(OCSPFetcher):
    def __init__(self, inner: OCSPFetcher, max_age: float) -> None:
        self._inner = inner
        self._max_age = max_age
        self._used: dict[bytes, list[ocsp.OCSPResponse]] = {}

    async def fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, authority: Authority
    ) -> ocsp.OCSPResponse:
        key = (_cert_key(cert), authority.hashable)
        response = _lookup(_ocsp_cache, key)
        if response is None:
            response = await self._inner.fetch(cert, authority)
            deadline = _expiry(_ocsp_next_updates(response), self._max_age)
            if deadline is not None:
                with _lock:
                    _ocsp_cache[key] = (deadline, response)
        self._used.setdefault(_cert_key(cert), []).append(response)
        return response

    def fetched_responses(self) -> Iterable[ocsp.OCSPResponse]:
        return [response for responses in self._used.values() for response in responses]

    def fetched_responses_for_cert(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> Iterable[ocsp.OCSPResponse]:
        return list(self._used.get(_cert_key(cert), []))


class _CachingCRLFetcher(CRLFetcher):
    def __init__(self, inner: CRLFetcher, max_age: float) -> None:
        self._inner = inner
        self._max_age = max_age
        self._used: dict[bytes, list[crl.CertificateList]] = {}

    async def fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, *, use_deltas: Any = None
    ) -> Iterable[crl.CertificateList]:
        key = (_cert_key(cert), use_deltas)
        crls = _lookup(_crl_cache, key)
        if crls is None:
            crls = list(await self._inner.fetch(cert, use_deltas=use_deltas))
            deadline = _expiry(_crl_next_updates(crls), self._max_age)
            if deadline is not None:
                with _lock:
                    _crl_cache[key] = (deadline, crls)
        self._used[_cert_key(cert)] = list(crls)
        return list(crls)

    def fetched_crls(self) -> Iterable[crl.CertificateList]:
        unique: dict[bytes, crl.CertificateList] = {}
        for crls in self._used.values():
            for item in crls:
                unique.setdefault(item.sha256, item)
        return list(unique.values())

    def fetched_crls_for_cert(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> Iterable[crl.CertificateList]:
        return list(self._used[_cert_key(cert)])  # KeyError: not fetched yet, as pyHanko expects


class CachingFetcherBackend(FetcherBackend):
    """Wraps a fetcher backend so OCSP and CRL fetches go through the process-wide cache."""

    def __init__(self, inner: FetcherBackend, *, max_age: float) -> None:
        self._inner = inner
        self._max_age = max_age

    def get_fetchers(self) -> Fetchers:
        inner = self._inner.get_fetchers()
        return Fetchers(
            ocsp_fetcher=_CachingOCSPFetcher(inner.ocsp_fetcher, self._max_age),
            crl_fetcher=_CachingCRLFetcher(inner.crl_fetcher, self._max_age),
            cert_fetcher=inner.cert_fetcher,
        )

    async def close(self) -> None:
        await self._inner.close()
