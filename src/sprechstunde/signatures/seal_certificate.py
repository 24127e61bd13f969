"""The platform's own seal certificate, for the public "is this from us?" check."""

from __future__ import annotations

import logging
from functools import lru_cache

import aiohttp
from asn1crypto import x509 as asn1_x509

from .key_sources import KeySourceError, SealKeyConfig, seal_key_open
from .sealing import run_sync

logger = logging.getLogger(__name__)


async def _fetch(config: SealKeyConfig) -> asn1_x509.Certificate | None:
    timeout = aiohttp.ClientTimeout(total=config.timeout)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        seal_key_open(config, http=http) as signer,
    ):
        return signer.signing_cert


@lru_cache(maxsize=8)
def _cached(config: SealKeyConfig) -> asn1_x509.Certificate | None:
    return run_sync(_fetch(config))


def platform_seal_certificate() -> asn1_x509.Certificate | None:
    """The configured seal certificate, or None while the key source cannot be reached."""
    config = SealKeyConfig.from_settings()
    try:
        return _cached(config)
    except (KeySourceError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        logger.warning("Seal certificate not available: %s", exc)
        return None
