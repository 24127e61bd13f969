"""A self-signed DEMO seal PKI for `make run`, so sealing works locally out of the box.

Everything here is marked DEMO in its certificate names and is trusted by nobody but this
installation. Files live under SEAL_DEMO_DIR (default `var/seal-demo/`). The demo root also
signs a short-lived CRL (refreshed on use) so B-LT seals carry revocation data, and a demo
time-stamping key answers RFC 3161 requests in-process (see ADR 0029). Never used unless
SEAL_KEY_SOURCE=demo, which is the default only when DEBUG is on.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

DEMO_PASSPHRASE = "demo-seal-not-secret"  # noqa: S105 - demo only, documented
DEMO_MARK = "DEMO - NOT VALID"
CRL_LIFETIME = dt.timedelta(days=30)
CRL_REFRESH_AFTER = dt.timedelta(days=7)

_lock = threading.Lock()


@dataclass(frozen=True)
class DemoPKIPaths:
    """The files of the demo PKI."""

    directory: Path

    @property
    def root_cert(self) -> Path:
        return self.directory / "demo-root.pem"

    @property
    def root_key(self) -> Path:
        return self.directory / "demo-root.key.pem"

    @property
    def pkcs12(self) -> Path:
        return self.directory / "demo-seal.p12"

    @property
    def tsa_cert(self) -> Path:
        return self.directory / "demo-tsa.pem"

    @property
    def tsa_key(self) -> Path:
        return self.directory / "demo-tsa.key.pem"

    @property
    def crl(self) -> Path:
        return self.directory / "demo-root.crl"

    @property
    def readme(self) -> Path:
        return self.directory / "README.txt"

    def complete(self) -> bool:
        files = (self.root_cert, self.root_key, self.pkcs12, self.tsa_cert, self.tsa_key)
        return all(path.is_file() for path in files)


def demo_pki_paths() -> DemoPKIPaths:
    return DemoPKIPaths(Path(settings.SEAL_DEMO_DIR))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Sprechstunde {DEMO_MARK}"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _issue(
    *,
    subject: x509.Name,
    subject_key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    is_ca: bool,
    extended_usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3 * 365))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=not is_ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False
        )
    )
    if extended_usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([extended_usage]), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _write_crl(paths: DemoPKIPaths, root: x509.Certificate, root_key: rsa.RSAPrivateKey) -> None:
    now = dt.datetime.now(dt.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + CRL_LIFETIME)
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    paths.crl.write_bytes(crl.public_bytes(serialization.Encoding.DER))


def demo_pki_create(*, force: bool = False) -> DemoPKIPaths:
    """Create the demo root, seal and TSA certificates (keeps existing ones unless `force`)."""
    paths = demo_pki_paths()
    with _lock:
        if paths.complete() and not force:
            return paths
        paths.directory.mkdir(parents=True, exist_ok=True)
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        seal_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root_name = _name(f"Sprechstunde Demo Root CA ({DEMO_MARK})")
        root = _issue(
            subject=root_name,
            subject_key=root_key,
            issuer=root_name,
            issuer_key=root_key,
            is_ca=True,
        )
        seal = _issue(
            subject=_name(f"Sprechstunde Demo Seal ({DEMO_MARK})"),
            subject_key=seal_key,
            issuer=root_name,
            issuer_key=root_key,
            is_ca=False,
        )
        tsa = _issue(
            subject=_name(f"Sprechstunde Demo TSA ({DEMO_MARK})"),
            subject_key=tsa_key,
            issuer=root_name,
            issuer_key=root_key,
            is_ca=False,
            extended_usage=ExtendedKeyUsageOID.TIME_STAMPING,
        )
        paths.root_key.write_bytes(_key_pem(root_key))
        paths.root_cert.write_bytes(root.public_bytes(serialization.Encoding.PEM))
        paths.tsa_key.write_bytes(_key_pem(tsa_key))
        paths.tsa_cert.write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
        paths.pkcs12.write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"demo-seal",
                seal_key,
                seal,
                [root],
                serialization.BestAvailableEncryption(DEMO_PASSPHRASE.encode("ascii")),
            )
        )
        _write_crl(paths, root, root_key)
        paths.readme.write_text(
            "DEMO seal PKI created by `manage.py signatures_demo_pki`.\n"
            "Self-signed, trusted by nobody: never use it in production.\n"
            "Production: set SEAL_KEY_SOURCE to pkcs12, pkcs11 or csc (docs/operations.md).\n"
        )
        for path in (paths.root_key, paths.tsa_key, paths.pkcs12):
            path.chmod(0o600)
        return paths


def demo_pki_ensure() -> DemoPKIPaths:
    """The demo PKI, created on first use; its CRL is re-signed when it gets old."""
    paths = demo_pki_create()
    with _lock:
        stale = (
            not paths.crl.is_file()
            or dt.datetime.now(dt.UTC)
            - dt.datetime.fromtimestamp(paths.crl.stat().st_mtime, dt.UTC)
            > CRL_REFRESH_AFTER
        )
        if stale:
            root = x509.load_pem_x509_certificate(paths.root_cert.read_bytes())
            root_key = serialization.load_pem_private_key(paths.root_key.read_bytes(), None)
            assert isinstance(root_key, rsa.RSAPrivateKey)
            _write_crl(paths, root, root_key)
    return paths
