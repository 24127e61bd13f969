"""The only way a check of an uploaded PDF reaches the network: OCSP and CRLs, under rules.

A signed PDF names URLs of its own choosing (AIA caIssuers, OCSP, CRL distribution points);
fetching them blindly lets anyone make the server call any address (server-side request
forgery, issue 11). `RevocationFetcherBackend` is a pyhanko_certvalidator fetcher backend that
holds every rule in one place (ADR 0040):

- issuer certificates are never fetched (no AIA chasing): a chain must be complete from the
  file and the configured trust roots;
- offline (the public check, or SIGNATURE_VALIDATION_FETCH off): nothing is fetched at all;
  requests are only recorded, so the report can say "revocation not checked";
- online (staff checks): OCSP and CRLs over http(s) only, to addresses outside loopback,
  private, link-local, shared (CGNAT), multicast and reserved ranges, unless the URL starts
  with one of SIGNATURE_REVOCATION_INTERNAL_URLS; the host is resolved once, checked, and the
  connection goes to exactly the checked address (no DNS rebinding); no redirects, a short
  timeout and a size cap.

pyHanko asks for revocation data only while validating a path that ends in a trust root, so
with AIA chasing off, nothing is fetched for a chain that does not end in a configured root.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import certifi
from aiohttp.abc import AbstractResolver, ResolveResult
from asn1crypto import cms, crl, ocsp, pem, x509
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.errors import CRLFetchError, OCSPFetchError, OCSPValidationError
from pyhanko_certvalidator.fetchers.api import (
    CertificateFetcher,
    CRLFetcher,
    FetcherBackend,
    Fetchers,
    OCSPFetcher,
)
from pyhanko_certvalidator.fetchers.common_utils import (
    enumerate_delivery_point_urls,
    format_ocsp_request,
    process_ocsp_response_data,
)
from pyhanko_certvalidator.util import get_ocsp_urls, get_relevant_crl_dps, issuer_serial

logger = logging.getLogger(__name__)

# A responder that takes longer is treated as unreachable ("not checked"); the person waits.
FETCH_TIMEOUT_SECONDS = 5.0
# An OCSP response is a few KB; large CAs publish CRLs of several MB.
MAX_OCSP_BYTES = 256 * 1024
MAX_CRL_BYTES = 16 * 1024 * 1024
# A certificate may list many URLs; a few are enough for any real CA.
MAX_URLS_PER_CERTIFICATE = 3
USER_AGENT = "Sprechstunde signature check"

# Ranges that some Python 3.11 releases do not flag but that must not be reached either.
_NOT_PUBLIC_IPV4 = (
    ipaddress.ip_network("100.64.0.0/10"),  # shared address space (CGNAT), RFC 6598
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments, RFC 6890
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # embeds an IPv4 address


class FetchRefused(Exception):
    """The URL may not be fetched (scheme, address, offline); nothing was sent."""


class FetchFailed(FetchRefused):
    """The request was sent but gave nothing usable (HTTP status, too large, network)."""


def address_is_public(address: str) -> bool:
    """Whether a connection to `address` (IPv4 or IPv6, as text) leaves the local networks.

    IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by that address.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_is_public(str(embedded))
        if ip.is_site_local:
            return False
    elif any(ip in network for network in _NOT_PUBLIC_IPV4):
        return False
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _origin(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL; FetchRefused for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchRefused(f"not a valid URL: {url!r}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https are fetched, not {scheme!r}")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise FetchRefused("a URL without a host, or with credentials, is not fetched")
    default_port = 443 if scheme == "https" else 80
    return scheme, parts.hostname.lower(), port or default_port, parts.path or "/"


def url_is_internal_allowed(url: str, prefixes: Iterable[str]) -> bool:
    """Whether `url` starts with one of the configured internal revocation URL prefixes.

    Compared by parts (scheme, host, port, path prefix), not as strings, so that
    "http://ocsp.intern@evil.example/" does not pass for "http://ocsp.intern".
    """
    try:
        target = _origin(url)
    except FetchRefused:
        return False
    for prefix in prefixes:
        try:
            allowed = _origin(prefix)
        except FetchRefused:
            continue
        if target[:3] == allowed[:3] and target[3].startswith(allowed[3]):
            return True
    return False


class _PinnedResolver(AbstractResolver):
    """Answers with the addresses already resolved and checked, and never asks DNS again."""

    def __init__(self, addresses: Sequence[tuple[int, str]]) -> None:
        self._addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=address_family,
                proto=socket.IPPROTO_TCP,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address_family, address in self._addresses
        ]

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class FetchAttempt:
    """One URL the validator wanted revocation data from, and what became of it."""

    url: str
    outcome: str  # "fetched", "refused" (rules or offline) or "failed" (network, HTTP, size)


class RevocationFetcherBackend(FetcherBackend):
    """OCSP and CRL fetching under the rules above; issuer certificates are never fetched.

    `online=False` fetches nothing. `attempts` lists every URL asked for in this validation.
    """

    def __init__(
        self,
        *,
        online: bool,
        internal_url_prefixes: Sequence[str] = (),
        timeout: float = FETCH_TIMEOUT_SECONDS,
    ) -> None:
        self.online = online
        self.internal_url_prefixes = tuple(p for p in internal_url_prefixes if p.strip())
        self.timeout = timeout
        self.attempts: list[FetchAttempt] = []

    def get_fetchers(self) -> Fetchers:
        return Fetchers(
            ocsp_fetcher=_OCSPFetcher(self),
            crl_fetcher=_CRLFetcher(self),
            cert_fetcher=_NoCertificateFetcher(),
        )

    async def close(self) -> None:
        return None

    @property
    def revocation_missing(self) -> bool:
        """Some revocation source was asked for but gave nothing usable."""
        return any(attempt.outcome != "fetched" for attempt in self.attempts)

    async def download(self, url: str, *, body: bytes | None, accept: str, max_bytes: int) -> bytes:
        """GET (or POST `body`) one URL under the rules; FetchRefused (nothing sent) or
        FetchFailed (sent, nothing usable) otherwise."""
        try:
            # One deadline for resolving, connecting and reading: DNS can hang, too.
            async with asyncio.timeout(self.timeout):
                data = await self._download(url, body=body, accept=accept, max_bytes=max_bytes)
        except FetchFailed as exc:
            logger.info("Revocation fetch failed: %s: %s", url, exc)
            self.attempts.append(FetchAttempt(url=url, outcome="failed"))
            raise
        except FetchRefused as exc:
            logger.info("Revocation fetch refused: %s: %s", url, exc)
            self.attempts.append(FetchAttempt(url=url, outcome="refused"))
            raise
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            logger.info("Revocation fetch failed: %s: %s", url, exc)
            self.attempts.append(FetchAttempt(url=url, outcome="failed"))
            raise FetchFailed(f"fetching {url} failed: {exc}") from exc
        self.attempts.append(FetchAttempt(url=url, outcome="fetched"))
        return data

    async def _download(
        self, url: str, *, body: bytes | None, accept: str, max_bytes: int
    ) -> bytes:
        _scheme, host, port, _path = _origin(url)
        if not self.online:
            raise FetchRefused("this check does not fetch anything")
        internal = url_is_internal_allowed(url, self.internal_url_prefixes)
        addresses = await _resolve(host, port)
        if not internal:
            refused = [address for _family, address in addresses if not address_is_public(address)]
            if refused:
                # One non-public answer is enough: such a host is not a public responder.
                raise FetchRefused(f"{host} resolves to a non-public address ({refused[0]})")
        ssl_context = ssl.create_default_context(cafile=certifi.where())
        connector = aiohttp.TCPConnector(
            resolver=_PinnedResolver(addresses), use_dns_cache=False, ssl=ssl_context
        )
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        if body is not None:
            headers["Content-Type"] = "application/ocsp-request"
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as http,
            http.request(
                "POST" if body is not None else "GET",
                url,
                data=body,
                headers=headers,
                allow_redirects=False,
            ) as response,
        ):
            if response.status != 200:
                raise FetchFailed(f"HTTP status {response.status}")
            if response.content_length is not None and response.content_length > max_bytes:
                raise FetchFailed(f"response larger than {max_bytes} bytes")
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise FetchFailed(f"response larger than {max_bytes} bytes")
            return bytes(data)


async def _resolve(host: str, port: int) -> list[tuple[int, str]]:
    """All addresses of `host` (a literal address resolves to itself), once."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchFailed(f"{host} cannot be resolved") from exc
    addresses: list[tuple[int, str]] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        entry = (int(family), str(sockaddr[0]))
        if entry not in addresses:
            addresses.append(entry)
    if not addresses:
        raise FetchRefused(f"{host} has no address")
    return addresses


def _cert_key(cert: x509.Certificate | cms.AttributeCertificateV2) -> Any:
    return issuer_serial(cert)


class _OCSPFetcher(OCSPFetcher):
    def __init__(self, backend: RevocationFetcherBackend) -> None:
        self._backend = backend
        # Outcome per (certificate, issuer): asked once per validation, also when it failed.
        self._outcomes: dict[Any, ocsp.OCSPResponse | OCSPFetchError] = {}

    async def fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, authority: Authority
    ) -> ocsp.OCSPResponse:
        key = (_cert_key(cert), authority.hashable)
        if key not in self._outcomes:
            self._outcomes[key] = await self._fetch(cert, authority)
        outcome = self._outcomes[key]
        if isinstance(outcome, OCSPFetchError):
            raise outcome
        return outcome

    async def _fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, authority: Authority
    ) -> ocsp.OCSPResponse | OCSPFetchError:
        urls = list(get_ocsp_urls(cert))[:MAX_URLS_PER_CERTIFICATE]
        if not urls:
            return OCSPFetchError("No URLs to fetch OCSP responses from")
        request = format_ocsp_request(cert, authority, certid_hash_algo="sha1", request_nonces=True)
        for url in urls:
            try:
                data = await self._backend.download(
                    url,
                    body=request.dump(),
                    accept="application/ocsp-response",
                    max_bytes=MAX_OCSP_BYTES,
                )
                return process_ocsp_response_data(data, ocsp_request=request, ocsp_url=url)
            except (FetchRefused, OCSPFetchError, OCSPValidationError) as exc:
                logger.info("No OCSP response from %s: %s", url, exc)
        return OCSPFetchError("No usable OCSP response")

    def fetched_responses(self) -> Iterable[ocsp.OCSPResponse]:
        return [item for item in self._outcomes.values() if isinstance(item, ocsp.OCSPResponse)]

    def fetched_responses_for_cert(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> Iterable[ocsp.OCSPResponse]:
        wanted = _cert_key(cert)
        return [
            item
            for (cert_key, _authority), item in self._outcomes.items()
            if cert_key == wanted and isinstance(item, ocsp.OCSPResponse)
        ]


class _CRLFetcher(CRLFetcher):
    def __init__(self, backend: RevocationFetcherBackend) -> None:
        self._backend = backend
        self._by_cert: dict[Any, list[crl.CertificateList]] = {}
        self._by_url: dict[str, crl.CertificateList | None] = {}

    async def fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, *, use_deltas: Any = True
    ) -> Iterable[crl.CertificateList]:
        key = _cert_key(cert)
        if key in self._by_cert:
            return self._by_cert[key]
        urls = [
            url
            for point in get_relevant_crl_dps(cert, use_deltas=use_deltas)
            for url in enumerate_delivery_point_urls(point)
        ][:MAX_URLS_PER_CERTIFICATE]
        results = [item for item in [await self._one(url) for url in urls] if item is not None]
        if urls and not results:
            raise CRLFetchError("No CRL could be fetched")
        self._by_cert[key] = results
        return results

    async def _one(self, url: str) -> crl.CertificateList | None:
        if url not in self._by_url:
            self._by_url[url] = None
            try:
                data = await self._backend.download(
                    url, body=None, accept="application/pkix-crl", max_bytes=MAX_CRL_BYTES
                )
                if pem.detect(data):
                    _kind, _headers, data = pem.unarmor(data)
                parsed = crl.CertificateList.load(data)
                # Parse the header now: a broken CRL fails here, not inside path validation.
                parsed["tbs_cert_list"]["this_update"].native  # noqa: B018
                self._by_url[url] = parsed
            except (FetchRefused, ValueError) as exc:
                logger.info("No CRL from %s: %s", url, exc)
        return self._by_url[url]

    def fetched_crls(self) -> Iterable[crl.CertificateList]:
        return [item for item in self._by_url.values() if item is not None]

    def fetched_crls_for_cert(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> Iterable[crl.CertificateList]:
        return self._by_cert[_cert_key(cert)]  # KeyError: not fetched yet, as pyHanko expects


class _NoCertificateFetcher(CertificateFetcher):
    """AIA chasing is off: a URL in the file never makes us download a certificate."""

    async def fetch_cert_issuers(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> AsyncGenerator[x509.Certificate, None]:
        nothing: tuple[x509.Certificate, ...] = ()
        for item in nothing:
            yield item

    async def fetch_crl_issuers(
        self, certificate_list: Any
    ) -> AsyncGenerator[x509.Certificate, None]:
        nothing: tuple[x509.Certificate, ...] = ()
        for item in nothing:
            yield item

    def fetched_certs(self) -> Iterable[x509.Certificate]:
        return []
