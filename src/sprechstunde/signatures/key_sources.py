"""Where the platform seal key lives: a PKCS#12 file, a PKCS#11 token, or a remote CSC service.

`seal_key_open()` yields a pyHanko `Signer` for the configured source. Anything that keeps the
key from signing right now (file missing, token absent, wrong PIN, service down) raises
`KeySourceError`; the services turn that into `SealingUnavailable`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiohttp
from asn1crypto import cms, pem
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationInfo,
    CSCAuthorizationManager,
    CSCServiceSessionInfo,
    CSCSigner,
    fetch_certs_in_csc_credential,
)

from . import demo_pki

KEY_SOURCES = ("pkcs12", "pkcs11", "csc", "demo")


class KeySourceError(Exception):
    """The seal key cannot be used right now (configuration, token or remote service)."""


@dataclass(frozen=True)
class SealKeyConfig:
    """The SEAL_* settings that select and unlock the seal key (read fresh for every seal)."""

    source: str
    pkcs12_path: str
    pkcs12_passphrase: str
    pkcs11_module: str
    pkcs11_token_label: str
    pkcs11_pin: str
    pkcs11_key_label: str
    pkcs11_cert_label: str
    csc_url: str
    csc_credential_id: str
    csc_token: str
    csc_pin: str
    cert_chain: str
    timeout: float

    def chain(self) -> list[asn1_x509.Certificate]:
        """Extra CA certificates to embed (SEAL_CERT_CHAIN), for tokens holding only the leaf."""
        certs: list[asn1_x509.Certificate] = []
        for item in self.cert_chain.split(","):
            if item.strip():
                data = Path(item.strip()).read_bytes()
                certs.extend(
                    asn1_x509.Certificate.load(der)
                    for _kind, _headers, der in pem.unarmor(data, multiple=True)
                )
        return certs

    @classmethod
    def from_settings(cls) -> SealKeyConfig:
        def value(name: str, default: Any = "") -> Any:
            return getattr(settings, name, default)

        return cls(
            source=str(value("SEAL_KEY_SOURCE")).strip().lower(),
            pkcs12_path=str(value("SEAL_PKCS12_PATH")),
            pkcs12_passphrase=str(value("SEAL_PKCS12_PASSPHRASE")),
            pkcs11_module=str(value("SEAL_PKCS11_MODULE")),
            pkcs11_token_label=str(value("SEAL_PKCS11_TOKEN_LABEL")),
            pkcs11_pin=str(value("SEAL_PKCS11_PIN")),
            pkcs11_key_label=str(value("SEAL_PKCS11_KEY_LABEL")),
            pkcs11_cert_label=str(value("SEAL_PKCS11_CERT_LABEL")),
            csc_url=str(value("SEAL_CSC_URL")).rstrip("/"),
            csc_credential_id=str(value("SEAL_CSC_CREDENTIAL_ID")),
            csc_token=str(value("SEAL_CSC_TOKEN")),
            csc_pin=str(value("SEAL_CSC_PIN")),
            cert_chain=str(value("SEAL_CERT_CHAIN")),
            timeout=float(value("SEAL_NETWORK_TIMEOUT", 10)),
        )


class _ParsedCmsParts(signers.Signer):
    """Hands pyHanko the CMS parts it builds (signed and unsigned attributes, SignerInfo) in
    parsed form.

    asn1crypto never forgets that a structure was built field by field: every later `dump()`
    serialises it again, recursively, and nesting makes that grow fast. pyHanko dumps these
    parts several times per seal (to sign, to nest, to write); freezing each once into its DER
    and parsing that back makes the later dumps plain copies. DER is canonical, so the bytes
    and the signature are exactly the same. Saves about a fifth of a seal's CPU time here.
    """

    async def signed_attrs(self, *args: Any, **kwargs: Any) -> cms.CMSAttributes:
        attrs = await super().signed_attrs(*args, **kwargs)
        return cms.CMSAttributes.load(attrs.dump())

    async def unsigned_attrs(self, *args: Any, **kwargs: Any) -> cms.CMSAttributes | None:
        attrs = await super().unsigned_attrs(*args, **kwargs)
        return None if attrs is None else cms.CMSAttributes.load(attrs.dump())

    def signer_info(self, *args: Any, **kwargs: Any) -> cms.SignerInfo:
        return cms.SignerInfo.load(super().signer_info(*args, **kwargs).dump())


@lru_cache(maxsize=4)
def _with_parsed_cms_parts(signer_class: type[signers.Signer]) -> Any:
    """`signer_class` with `_ParsedCmsParts` mixed in (one class per signer class)."""
    return type(f"ParsedCms{signer_class.__name__}", (_ParsedCmsParts, signer_class), {})


def _load_pkcs12(path: str, passphrase: str) -> signers.SimpleSigner:
    if not path or not Path(path).is_file():
        raise KeySourceError(f"PKCS#12 file not found: {path!r}")
    stat = Path(path).stat()
    return _load_pkcs12_cached(path, stat.st_mtime_ns, stat.st_size, passphrase)


@lru_cache(maxsize=4)
def _load_pkcs12_cached(
    path: str, _mtime_ns: int, _size: int, passphrase: str
) -> signers.SimpleSigner:
    # Decrypting the file and checking the RSA key take most of a seal's CPU time, so the
    # loaded key stays in memory while the file is unchanged (a new file is a new cache key).
    try:
        signer = signers.SimpleSigner.load_pkcs12(path, passphrase=passphrase.encode("utf-8"))
    except (OSError, ValueError) as exc:
        raise KeySourceError("PKCS#12 file cannot be opened") from exc
    if signer is None:  # pyHanko logs the reason (e.g. a wrong passphrase) and returns None
        raise KeySourceError("PKCS#12 file cannot be opened (wrong passphrase?)")
    return _KeptKeySigner(
        signing_cert=signer.signing_cert,
        signing_key=signer.signing_key,
        cert_registry=signer.cert_registry,
    )


class _KeptKeySigner(_ParsedCmsParts, signers.SimpleSigner):
    """SimpleSigner that parses its key once: pyHanko re-loads and re-checks the RSA key for
    every signature, which costs more than the rest of a B-B seal."""

    _loaded: Any = None

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        if mechanism["algorithm"].native != f"{digest_algorithm}_rsa":
            return super().sign_raw(data, digest_algorithm)  # PSS, EC, ...: pyHanko's own way
        if self._loaded is None:
            self._loaded = serialization.load_der_private_key(
                self.signing_key.dump(), password=None
            )
        key = self._loaded
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.sign(data, padding.PKCS1v15(), getattr(hashes, digest_algorithm.upper())())


class _PinnedHashAuthorization(CSCAuthorizationManager):
    """Asks `credentials/authorize` for a SAD bound to exactly the hashes being signed (SCAL 2)."""

    def __init__(self, *, pin: str, timeout: float, session: aiohttp.ClientSession, **kwargs: Any):
        super().__init__(**kwargs)
        self._pin = pin or None
        self._timeout = timeout
        self._session = session

    async def authorize_signature(self, hash_b64s: list[str]) -> CSCAuthorizationInfo:
        request = self.format_csc_auth_request(
            num_signatures=len(hash_b64s), pin=self._pin, hash_b64s=hash_b64s
        )
        url = self.csc_session_info.endpoint_url("credentials/authorize")
        try:
            async with self._session.post(
                url,
                json=request,
                headers=self.auth_headers,
                raise_for_status=True,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as response:
                data = await response.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KeySourceError("CSC authorisation failed") from exc
        return self.parse_csc_auth_response(data)


@asynccontextmanager
async def seal_key_open(
    config: SealKeyConfig, *, http: aiohttp.ClientSession
) -> AsyncIterator[signers.Signer]:
    """Yield a signer for the configured key source; closes token sessions afterwards."""
    if config.source == "pkcs12":
        yield _load_pkcs12(config.pkcs12_path, config.pkcs12_passphrase)
    elif config.source == "demo":
        paths = demo_pki.demo_pki_ensure()
        yield _load_pkcs12(str(paths.pkcs12), demo_pki.DEMO_PASSPHRASE)
    elif config.source == "pkcs11":
        async with _pkcs11_signer(config) as signer:
            yield signer
    elif config.source == "csc":
        yield await _csc_signer(config, http=http)
    else:
        raise KeySourceError(f"SEAL_KEY_SOURCE must be one of {KEY_SOURCES}, not {config.source!r}")


@asynccontextmanager
async def _pkcs11_signer(config: SealKeyConfig) -> AsyncIterator[signers.Signer]:
    from pkcs11 import PKCS11Error
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

    if not config.pkcs11_module or not Path(config.pkcs11_module).is_file():
        raise KeySourceError(f"PKCS#11 module not found: {config.pkcs11_module!r}")
    try:
        session = open_pkcs11_session(
            config.pkcs11_module,
            token_criteria=TokenCriteria(label=config.pkcs11_token_label or None),
            user_pin=config.pkcs11_pin,
        )
    except (PKCS11Error, SigningError, OSError) as exc:
        raise KeySourceError("PKCS#11 token cannot be opened") from exc
    except Exception as exc:  # pyHanko raises its own error types for "no such token"
        raise KeySourceError(f"PKCS#11 token cannot be opened: {exc}") from exc
    try:
        yield _with_parsed_cms_parts(PKCS11Signer)(
            session,
            key_label=config.pkcs11_key_label,
            cert_label=config.pkcs11_cert_label or config.pkcs11_key_label,
            ca_chain=config.chain(),
        )
    finally:
        session.close()


async def _csc_signer(config: SealKeyConfig, *, http: aiohttp.ClientSession) -> CSCSigner:
    if not config.csc_url or not config.csc_credential_id:
        raise KeySourceError("SEAL_CSC_URL and SEAL_CSC_CREDENTIAL_ID must be set")
    session_info = CSCServiceSessionInfo(
        service_url=config.csc_url,
        credential_id=config.csc_credential_id,
        oauth_token=config.csc_token or None,
    )
    try:
        credential = await fetch_certs_in_csc_credential(
            http, session_info, timeout=int(config.timeout)
        )
    except (SigningError, aiohttp.ClientError, TimeoutError) as exc:
        raise KeySourceError("CSC credential info request failed") from exc
    auth = _PinnedHashAuthorization(
        pin=config.csc_pin,
        timeout=config.timeout,
        session=http,
        csc_session_info=session_info,
        credential_info=credential,
    )
    return _with_parsed_cms_parts(CSCSigner)(
        http, auth_manager=auth, sign_timeout=int(config.timeout)
    )
