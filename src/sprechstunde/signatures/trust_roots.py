"""Sources of trust anchors for validating signed PDFs.

Each source yields CA certificates. Today: the roots an admin entered (`AdminTrustRoots`) and
the platform's own seal roots (`PlatformSealRoots`). The EU trust list (LOTL/TSL) import will
be one more `TrustRootSource` that fills `TrustRoot` rows with `source="eu-tsl"`; nothing else
has to change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Protocol

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.utils.translation import gettext_lazy as _

from sprechstunde.core.errors import ApplicationError

from .models import TrustRoot
from .sealing import configured_trust_roots


class TrustRootSource(Protocol):
    """Something that knows a set of trust anchors."""

    name: str

    def certificates(self) -> list[asn1_x509.Certificate]: ...


class AdminTrustRoots:
    """Active `TrustRoot` rows (entered by an admin, later also imported lists)."""

    name = "admin"

    def certificates(self) -> list[asn1_x509.Certificate]:
        pems = TrustRoot.objects.filter(is_active=True).values_list("certificate_pem", flat=True)
        return [asn1_x509.Certificate.load(_pem_to_der(pem)) for pem in pems]


class PlatformSealRoots:
    """The roots that anchor the platform's own seal (SEAL_TRUST_ROOTS, demo root)."""

    name = "platform"

    def certificates(self) -> list[asn1_x509.Certificate]:
        return configured_trust_roots()


def trust_roots_for_validation(*, platform_only: bool) -> list[asn1_x509.Certificate]:
    """Anchors for checking a PDF: the platform's only, or the admin's plus the platform's."""
    sources: list[TrustRootSource] = [PlatformSealRoots()]
    if not platform_only:
        sources.insert(0, AdminTrustRoots())
    seen: set[bytes] = set()
    roots: list[asn1_x509.Certificate] = []
    for source in sources:
        for cert in source.certificates():
            if cert.sha256 not in seen:
                seen.add(cert.sha256)
                roots.append(cert)
    return roots


def _pem_to_der(pem_text: str) -> bytes:
    cert = x509.load_pem_x509_certificate(pem_text.encode("ascii"))
    return cert.public_bytes(serialization.Encoding.DER)


class TrustRootInvalid(ApplicationError):
    """The uploaded text is not a usable CA certificate."""


def trust_root_parse(*, pem_or_der: bytes) -> dict[str, object]:
    """Parse and check a CA certificate; return the fields of a `TrustRoot` row."""
    try:
        if b"-----BEGIN" in pem_or_der:
            cert = x509.load_pem_x509_certificate(pem_or_der)
        else:
            cert = x509.load_der_x509_certificate(pem_or_der)
    except ValueError as exc:
        raise TrustRootInvalid(_("This is not a certificate in PEM or DER format.")) from exc
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise TrustRootInvalid(_("This certificate is not a CA certificate."))
    if cert.not_valid_after_utc < dt.datetime.now(dt.UTC):
        raise TrustRootInvalid(_("This certificate has expired."))
    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "fingerprint_sha256": hashlib.sha256(der).hexdigest(),
        "subject": cert.subject.rfc4514_string()[:500],
        "not_valid_after": cert.not_valid_after_utc,
    }
