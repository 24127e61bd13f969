"""PAdES baseline sealing with pyHanko: B-B, B-T, B-LT and B-LTA as an incremental update.

The seal is an invisible approval signature appended after the original bytes, so the input's
PDF/A declaration and content stay untouched. B-T adds an RFC 3161 time stamp from SEAL_TSA_URL,
B-LT adds the certificates, OCSP responses and CRLs of the seal and the time stamp (a DSS, so a
validator needs no network later), B-LTA adds a document time stamp over all of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import requests
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, ValidationError
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from . import demo_pki
from .key_sources import KeySourceError, SealKeyConfig, seal_key_open
from .revinfo_cache import CachingFetcherBackend
from .tsa_client import CertCachingHTTPTimeStamper, TsaCertificateChanged

logger = logging.getLogger(__name__)

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
SEAL_FIELD_PREFIX = "Seal"
SIGNATURE_BYTES_RESERVED = 24 * 1024

T = TypeVar("T")


class SealError(Exception):
    """Sealing is not possible right now. `service` names the outside service that failed
    when it is known ("tsa": the time-stamp service), else it is empty."""

    def __init__(self, message: str, *, service: str = "") -> None:
        super().__init__(message)
        self.service = service


SERVICE_TSA = "tsa"


def _failed_service(exc: BaseException) -> str:
    """ "tsa" when the time-stamp service could not be reached or answered with an error,
    anywhere in the chain of causes; else ""."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, timestamps.TimestampRequestError):
            return SERVICE_TSA
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return ""


class UnreadablePdfError(Exception):
    """The input is not a PDF pyHanko can append to."""


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, also when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def load_pem_certificates(data: bytes) -> list[asn1_x509.Certificate]:
    """Certificates from PEM (one or many) or a single DER blob."""
    if pem.detect(data):
        return [
            asn1_x509.Certificate.load(der)
            for kind, _headers, der in pem.unarmor(data, multiple=True)
            if kind == "CERTIFICATE"
        ]
    return [asn1_x509.Certificate.load(data)]


def configured_trust_roots() -> list[asn1_x509.Certificate]:
    """The roots that anchor the platform's own seal and time stamps (SEAL_TRUST_ROOTS)."""
    roots: list[asn1_x509.Certificate] = []
    if str(getattr(settings, "SEAL_KEY_SOURCE", "")).lower() == "demo":
        paths = demo_pki.demo_pki_ensure()
        roots.extend(load_pem_certificates(paths.root_cert.read_bytes()))
    for item in str(getattr(settings, "SEAL_TRUST_ROOTS", "") or "").split(","):
        if item.strip():
            roots.extend(load_pem_certificates(Path(item.strip()).read_bytes()))
    return roots


@dataclass(frozen=True)
class _SealEnvironment:
    validation_context: ValidationContext
    timestamper: timestamps.TimeStamper | None


def _demo_timestamper() -> DummyTimeStamper:
    paths = demo_pki.demo_pki_ensure()
    tsa_cert = load_pem_certificates(paths.tsa_cert.read_bytes())[0]
    _kind, _headers, key_der = pem.unarmor(paths.tsa_key.read_bytes())
    roots = load_pem_certificates(paths.root_cert.read_bytes())
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return DummyTimeStamper(
        tsa_cert=tsa_cert,
        tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
        certs_to_embed=SimpleCertificateStore.from_certs(roots),
    )


def _environment(
    config: SealKeyConfig, level: str, http: aiohttp.ClientSession
) -> _SealEnvironment:
    cache_seconds = float(getattr(settings, "SEAL_REVOCATION_CACHE_SECONDS", 3600))
    crls: list[asn1_crl.CertificateList] = []
    if config.source == "demo":
        paths = demo_pki.demo_pki_ensure()
        crls.append(asn1_crl.CertificateList.load(paths.crl.read_bytes()))
    context = ValidationContext(
        trust_roots=configured_trust_roots(),
        other_certs=config.chain(),
        allow_fetching=True,
        # OCSP responses and CRLs are reused until shortly before their nextUpdate (at most
        # SEAL_REVOCATION_CACHE_SECONDS) instead of being fetched for every seal.
        fetcher_backend=CachingFetcherBackend(
            AIOHttpFetcherBackend(session=http, per_request_timeout=config.timeout),
            max_age=cache_seconds,
        ),
        crls=crls,
        # A B-LT seal without revocation data would not be B-LT: refuse instead.
        revocation_mode="require" if level in ("B-LT", "B-LTA") else "soft-fail",
    )
    timestamper: timestamps.TimeStamper | None = None
    if level != "B-B":
        tsa_url = str(getattr(settings, "SEAL_TSA_URL", "") or "")
        if tsa_url:
            # Remembers the TSA's certificates between seals instead of asking the TSA for a
            # dummy time stamp every time (one round trip less per seal; see tsa_client.py).
            timestamper = CertCachingHTTPTimeStamper(
                tsa_url, max_age=cache_seconds, session=http, timeout=int(config.timeout)
            )
        elif config.source == "demo":
            timestamper = _demo_timestamper()
        else:
            raise SealError("SEAL_TSA_URL is not set, so no time stamp for level " + level)
    return _SealEnvironment(validation_context=context, timestamper=timestamper)


def _open_for_sealing(pdf: bytes) -> tuple[IncrementalPdfFileWriter, str]:
    """Parse the input once: the writer for the incremental update and the next free field name."""
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        existing = {name for name, _value, _ref in fields.enumerate_sig_fields(writer.prev)}
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise UnreadablePdfError(str(exc)) from exc
    number = 1
    while f"{SEAL_FIELD_PREFIX}{number}" in existing:
        number += 1
    return writer, f"{SEAL_FIELD_PREFIX}{number}"


async def _seal_async(*, pdf: bytes, level: str, reason: str, location: str) -> bytes:
    config = SealKeyConfig.from_settings()
    writer, field_name = _open_for_sealing(pdf)
    timeout = aiohttp.ClientTimeout(total=config.timeout)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        env = _environment(config, level, http)
        async with seal_key_open(config, http=http) as signer:
            meta = signers.PdfSignatureMetadata(
                field_name=field_name,
                md_algorithm="sha256",
                subfilter=fields.SigSeedSubFilter.PADES,
                reason=reason or None,
                location=location or None,
                embed_validation_info=level in ("B-LT", "B-LTA"),
                use_pades_lta=level == "B-LTA",
                # Only B-LT and up embed validation data; below that the key just signs.
                validation_context=(env.validation_context if level in ("B-LT", "B-LTA") else None),
            )
            pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=env.timestamper)
            output = BytesIO()
            # A fixed reservation skips pyHanko's trial signature for size estimation (half
            # the CPU time of a seal); it is ample for the chain plus one time stamp token.
            try:
                await pdf_signer.async_sign_pdf(
                    writer, output=output, bytes_reserved=SIGNATURE_BYTES_RESERVED
                )
            except (PathBuildingError, PathValidationError, ValidationError) as exc:
                stamper = env.timestamper
                if isinstance(stamper, CertCachingHTTPTimeStamper) and stamper.certs_from_cache:
                    # Perhaps the remembered TSA chain that no longer validates: learn it anew.
                    stamper.forget_cached_certificates()
                    raise TsaCertificateChanged(str(exc)) from exc
                raise
            return output.getvalue()


# Everything that means "the key, the TSA, the OCSP responder or the CSC service cannot help
# right now". Caller-side retries make sense for all of them.
_OUTAGE_ERRORS = (
    KeySourceError,
    TsaCertificateChanged,  # again on the second attempt: the TSA is changing right now
    SigningError,
    timestamps.TimestampRequestError,
    aiohttp.ClientError,
    requests.RequestException,
    TimeoutError,
    ConnectionError,
    PathBuildingError,
    PathValidationError,
    ValidationError,
    OSError,
)


def seal(*, pdf: bytes, level: str, reason: str = "", location: str = "") -> bytes:
    """Seal `pdf` at `level`; raises SealError (outage/config) or UnreadablePdfError (input)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    try:
        try:
            return run_sync(_seal_async(pdf=pdf, level=level, reason=reason, location=location))
        except TsaCertificateChanged:
            # The TSA rolled over its certificate since we last learnt it; nothing was written.
            # The stale entry is gone, so this attempt learns the new chain first.
            return run_sync(_seal_async(pdf=pdf, level=level, reason=reason, location=location))
    except UnreadablePdfError:
        raise
    except _OUTAGE_ERRORS as exc:
        logger.warning("Sealing failed: %s: %s", type(exc).__name__, exc)
        raise SealError(f"{type(exc).__name__}: {exc}", service=_failed_service(exc)) from exc
