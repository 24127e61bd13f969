"""A real test PKI on loopback for sealing and validation tests (and for `bench/seal.py`).

Certomancer issues the certificates (root CA, intermediate CA, OCSP responder, TSA, the seal
certificate and a few bad ones); its animator serves OCSP, CRLs and RFC 3161 time stamps over
HTTP on 127.0.0.1, and certomancer-csc-dummy serves the same keys over the CSC API. Both run in
a background thread and can be stopped and started again on the same port, so tests can
simulate an outage. The pytest fixture `seal_pki` (loaded as a plugin by the root conftest)
builds this once per session and points the SEAL_* settings at a PKCS#12 file for each test.

Test and bench code only: never imported by the running application.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ARCH = "sprechstunde-test"
PKCS12_PASSPHRASE = "seal-test-passphrase"  # noqa: S105 - test PKI
SOFTHSM_SO_PIN = "12345678"
SOFTHSM_USER_PIN = "87654321"
SOFTHSM_TOKEN_LABEL = "sprechstunde-seal"  # noqa: S105 - a label
SOFTHSM_KEY_LABEL = "seal"
SOFTHSM_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)

_LONG = {"valid-from": "2020-01-01T00:00:00+0000", "valid-to": "2100-01-01T00:00:00+0000"}
_KEY_NAMES = ("root", "interm", "interm-ocsp", "tsa", "seal", "other-root", "other-signer")


def _ext_key_usage(*usages: str) -> dict[str, Any]:
    return {
        "id": "key_usage",
        "critical": True,
        "smart-value": {"schema": "key-usage", "params": list(usages)},
    }


def _signer_extensions() -> list[dict[str, Any]]:
    return [
        _ext_key_usage("digital_signature", "non_repudiation"),
        {
            "id": "crl_distribution_points",
            "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["interm"]}},
        },
        {
            "id": "authority_information_access",
            "smart-value": {"schema": "aia-urls", "params": {"ocsp-responder-names": ["interm"]}},
        },
    ]


def certomancer_config_dict(*, url_prefix: str, key_dir: Path) -> dict[str, Any]:
    """The test PKI: what each certificate is for is in its label."""
    ca = [
        {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
        _ext_key_usage("digital_signature", "key_cert_sign", "crl_sign"),
    ]
    root_crl = {
        "id": "crl_distribution_points",
        "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}},
    }
    return {
        "external-url-prefix": url_prefix,
        "keysets": {
            ARCH: {
                "path-prefix": str(key_dir),
                "keys": {name: {"path": f"{name}.key.pem"} for name in _KEY_NAMES},
            }
        },
        "pki-architectures": {
            ARCH: {
                "keyset": ARCH,
                "entity-defaults": {"country-name": "DE", "organization-name": "Test Jobcenter"},
                "entities": {
                    "root": {"common-name": "Test Root CA"},
                    "interm": {"common-name": "Test Seal CA"},
                    "interm-ocsp": {"common-name": "Test OCSP responder"},
                    "tsa": {"common-name": "Test Time Stamping Authority"},
                    "seal": {"common-name": "Test Jobcenter Seal"},
                    "other-root": {
                        "common-name": "Unknown Root CA",
                        "organization-name": "Somebody Else",
                    },
                    "other-signer": {
                        "common-name": "Unknown Signer",
                        "organization-name": "Somebody Else",
                    },
                },
                "certs": {
                    "root": {
                        "subject": "root",
                        "subject-key": "root",
                        "issuer": "root",
                        "authority-key": "root",
                        "validity": {
                            "valid-from": "2000-01-01T00:00:00+0000",
                            "valid-to": "2500-01-01T00:00:00+0000",
                        },
                        "extensions": ca,
                    },
                    "interm": {
                        "issuer": "root",
                        "validity": _LONG,
                        "extensions": [
                            {
                                "id": "basic_constraints",
                                "critical": True,
                                "value": {"ca": True, "path-len-constraint": 0},
                            },
                            _ext_key_usage("digital_signature", "key_cert_sign", "crl_sign"),
                            root_crl,
                        ],
                    },
                    "interm-ocsp": {
                        "issuer": "interm",
                        "validity": _LONG,
                        "extensions": [
                            _ext_key_usage("digital_signature"),
                            {
                                "id": "extended_key_usage",
                                "critical": True,
                                "value": ["ocsp_signing"],
                            },
                            {"id": "ocsp_no_check"},
                        ],
                    },
                    "tsa": {
                        "issuer": "root",
                        "validity": _LONG,
                        "extensions": [
                            _ext_key_usage("digital_signature"),
                            {
                                "id": "extended_key_usage",
                                "critical": True,
                                "value": ["time_stamping"],
                            },
                            root_crl,
                        ],
                    },
                    # The TSA's certificate before a rollover: same TSA, another serial.
                    "tsa-previous": {"template": "tsa", "subject": "tsa"},
                    "seal": {
                        "issuer": "interm",
                        "validity": _LONG,
                        "extensions": _signer_extensions(),
                    },
                    "seal-expired": {
                        "template": "seal",
                        "subject": "seal",
                        "validity": {
                            "valid-from": "2020-01-01T00:00:00+0000",
                            "valid-to": "2022-01-01T00:00:00+0000",
                        },
                    },
                    "seal-revoked": {
                        "template": "seal",
                        "subject": "seal",
                        "revocation": {
                            "revoked-since": "2021-01-01T00:00:00+0000",
                            "reason": "key_compromise",
                        },
                    },
                    "other-root": {
                        "subject": "other-root",
                        "subject-key": "other-root",
                        "issuer": "other-root",
                        "authority-key": "other-root",
                        "validity": _LONG,
                        "extensions": ca,
                    },
                    "other-signer": {
                        "issuer": "other-root",
                        "validity": _LONG,
                        "extensions": [_ext_key_usage("digital_signature", "non_repudiation")],
                    },
                },
                "services": {
                    "ocsp": {
                        "interm": {
                            "for-issuer": "interm",
                            "responder-cert": "interm-ocsp",
                            "signing-key": "interm-ocsp",
                        }
                    },
                    "crl-repo": {
                        "root": {
                            "for-issuer": "root",
                            "signing-key": "root",
                            "simulated-update-schedule": "P90D",
                        },
                        "interm": {
                            "for-issuer": "interm",
                            "signing-key": "interm",
                            "simulated-update-schedule": "P30D",
                        },
                    },
                    "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
                },
            }
        },
    }


class LoopbackServer:
    """An aiohttp application on 127.0.0.1 in its own thread; stop() and start() keep the port."""

    def __init__(self, app_factory: Callable[[], web.Application]) -> None:
        self._app_factory = app_factory
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def start(self) -> None:
        if self._runner is not None:
            return

        async def _start() -> web.AppRunner:
            runner = web.AppRunner(self._app_factory(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start()
            return runner

        self._runner = self._call(_start())

    def stop(self) -> None:
        if self._runner is not None:
            self._call(self._runner.cleanup())
            self._runner = None

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def _write_rsa_key(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def softhsm_module() -> str:
    """The SoftHSM2 PKCS#11 module from Debian's softhsm2 package."""
    for candidate in SOFTHSM_MODULE_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    raise FileNotFoundError("libsofthsm2.so not found: install the Debian package softhsm2")


@dataclass
class SoftHSMToken:
    """A SoftHSM2 token in its own directory holding the seal key and certificate."""

    conf_path: Path
    module: str
    token_label: str = SOFTHSM_TOKEN_LABEL
    key_label: str = SOFTHSM_KEY_LABEL
    pin: str = SOFTHSM_USER_PIN


@dataclass
class SealPKI:
    """The running loopback PKI: files, URLs and helpers to configure sealing against it."""

    directory: Path
    config: Any
    animator: LoopbackServer
    csc: LoopbackServer
    _pkcs12_paths: dict[str, Path] = field(default_factory=dict)
    _softhsm: SoftHSMToken | None = None
    _nss_dir: Path | None = None

    @property
    def arch(self) -> Any:
        return self.config.get_pki_arch(ARCH)

    @property
    def tsa_url(self) -> str:
        return f"{self.animator.url}/{ARCH}/tsa/tsa"

    @property
    def csc_url(self) -> str:
        return self.csc.url

    def cert(self, label: str) -> asn1_x509.Certificate:
        return self.arch.get_cert(label)

    def cert_pem(self, label: str) -> bytes:
        from asn1crypto import pem

        return pem.armor("CERTIFICATE", self.cert(label).dump())

    @property
    def root_pem_path(self) -> Path:
        path = self.directory / "root.pem"
        if not path.exists():
            path.write_bytes(self.cert_pem("root"))
        return path

    @property
    def interm_pem_path(self) -> Path:
        path = self.directory / "interm.pem"
        if not path.exists():
            path.write_bytes(self.cert_pem("interm"))
        return path

    def pkcs12_path(self, label: str = "seal") -> Path:
        """A PKCS#12 file with the key and chain of the certificate `label`."""
        if label not in self._pkcs12_paths:
            path = self.directory / f"{label}.p12"
            path.write_bytes(
                self.arch.package_pkcs12(label, password=PKCS12_PASSPHRASE.encode("ascii"))
            )
            self._pkcs12_paths[label] = path
        return self._pkcs12_paths[label]

    def key_pem_path(self, label: str = "seal") -> Path:
        return self.directory / "keys" / f"{label}.key.pem"

    def base_settings(self) -> dict[str, Any]:
        return {
            "SEAL_TSA_URL": self.tsa_url,
            "SEAL_TRUST_ROOTS": str(self.root_pem_path),
            "SEAL_NETWORK_TIMEOUT": 5,
            "SEAL_CERT_CHAIN": "",
            # The test PKI's OCSP and CRLs are on loopback: let staff checks reach them, as an
            # in-house CA would be configured in production.
            "SIGNATURE_REVOCATION_INTERNAL_URLS": f"{self.animator.url}/",
        }

    def settings_for_pkcs12(self, label: str = "seal") -> dict[str, Any]:
        return {
            **self.base_settings(),
            "SEAL_KEY_SOURCE": "pkcs12",
            "SEAL_PKCS12_PATH": str(self.pkcs12_path(label)),
            "SEAL_PKCS12_PASSPHRASE": PKCS12_PASSPHRASE,
        }

    def settings_for_csc(self, label: str = "seal") -> dict[str, Any]:
        return {
            **self.base_settings(),
            "SEAL_KEY_SOURCE": "csc",
            "SEAL_CSC_URL": self.csc_url,
            "SEAL_CSC_CREDENTIAL_ID": f"{ARCH}/{label}",
            "SEAL_CSC_TOKEN": "",
            "SEAL_CSC_PIN": "",
        }

    def softhsm_token(self) -> SoftHSMToken:
        """Initialise a SoftHSM2 token in a private directory and import the seal key into it.

        SOFTHSM2_CONF is set for this process: SoftHSM reads it once, when the module loads.
        """
        if self._softhsm is not None:
            return self._softhsm
        module = softhsm_module()
        token_dir = self.directory / "softhsm-tokens"
        token_dir.mkdir(exist_ok=True)
        conf = self.directory / "softhsm2.conf"
        conf.write_text(
            f"directories.tokendir = {token_dir}\nobjectstore.backend = file\nlog.level = ERROR\n"
        )
        env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
        os.environ["SOFTHSM2_CONF"] = str(conf)
        run = _runner(env)
        run(
            "softhsm2-util", "--init-token", "--free", "--label", SOFTHSM_TOKEN_LABEL,
            "--so-pin", SOFTHSM_SO_PIN, "--pin", SOFTHSM_USER_PIN,
        )  # fmt: skip
        run(
            "softhsm2-util", "--import", str(self.key_pem_path("seal")), "--token",
            SOFTHSM_TOKEN_LABEL, "--label", SOFTHSM_KEY_LABEL, "--id", "5e01",
            "--pin", SOFTHSM_USER_PIN,
        )  # fmt: skip
        cert_der = self.directory / "seal.cert.der"
        cert_der.write_bytes(self.cert("seal").dump())
        run(
            "pkcs11-tool", "--module", module, "--token-label", SOFTHSM_TOKEN_LABEL, "--login",
            "--pin", SOFTHSM_USER_PIN, "--write-object", str(cert_der), "--type", "cert",
            "--label", SOFTHSM_KEY_LABEL, "--id", "5e01",
        )  # fmt: skip
        self._softhsm = SoftHSMToken(conf_path=conf, module=module)
        return self._softhsm

    def settings_for_pkcs11(self) -> dict[str, Any]:
        token = self.softhsm_token()
        return {
            **self.base_settings(),
            "SEAL_KEY_SOURCE": "pkcs11",
            "SEAL_PKCS11_MODULE": token.module,
            "SEAL_PKCS11_TOKEN_LABEL": token.token_label,
            "SEAL_PKCS11_PIN": token.pin,
            "SEAL_PKCS11_KEY_LABEL": token.key_label,
            "SEAL_PKCS11_CERT_LABEL": token.key_label,
            "SEAL_CERT_CHAIN": str(self.interm_pem_path),
        }

    def nss_dir(self) -> Path:
        """An NSS database for poppler's pdfsig that trusts the test root CA."""
        if self._nss_dir is None:
            nss = self.directory / "nssdb"
            shutil.rmtree(nss, ignore_errors=True)
            nss.mkdir()
            run = _runner(dict(os.environ))
            run("certutil", "-N", "-d", f"sql:{nss}", "--empty-password")
            run(
                "certutil", "-A", "-d", f"sql:{nss}", "-n", "sprechstunde-test-root",
                "-t", "CT,C,C", "-a", "-i", str(self.root_pem_path),
            )  # fmt: skip
            self._nss_dir = nss
        return self._nss_dir

    def pdfsig(self, pdf_path: Path) -> subprocess.CompletedProcess[str]:
        """Run poppler's pdfsig against the test trust anchors (OCSP on loopback)."""
        return subprocess.run(  # noqa: S603 - fixed tool, our own arguments
            ["pdfsig", "-nssdir", f"sql:{self.nss_dir()}", str(pdf_path)],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def close(self) -> None:
        self.csc.close()
        self.animator.close()


def _runner(env: dict[str, str]) -> Callable[..., None]:
    def run(*args: str) -> None:
        completed = subprocess.run(  # noqa: S603 - fixed tools, our own arguments
            list(args),
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {completed.stdout}\n{completed.stderr}")

    return run


def _keep_service_keys_loaded() -> None:
    """Make certomancer sign as a real TSA or OCSP responder does: with a key kept loaded.

    Certomancer re-parses the service's private key for every OCSP response, CRL and time stamp,
    and OpenSSL 3 re-checks an RSA key on each load; that costs tens of milliseconds per request
    on this machine, which no production TSA (key loaded once, often in an HSM) spends. The
    signatures are the same: PKCS#1 v1.5 with the same key; other schemes keep certomancer's way.
    """
    from certomancer import crypto_utils

    if isinstance(crypto_utils.CRYPTO_BACKEND, _KeptKeyCertomancerBackend):
        return
    crypto_utils.CRYPTO_BACKEND = _KeptKeyCertomancerBackend()


def _kept_key_backend_class() -> type:
    from certomancer.crypto_utils import PycaCryptographyBackend
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    class KeptKeyBackend(PycaCryptographyBackend):
        def __init__(self) -> None:
            self._keys: dict[bytes, rsa.RSAPrivateKey] = {}
            self._lock = threading.Lock()

        def generic_sign(self, private_key: Any, tbs_bytes: bytes, sd_algo: Any) -> bytes:
            if sd_algo.signature_algo != "rsassa_pkcs1v15":
                return bytes(super().generic_sign(private_key, tbs_bytes, sd_algo))
            der = private_key.dump()
            with self._lock:
                key = self._keys.get(der)
                if key is None:
                    loaded = serialization.load_der_private_key(der, password=None)
                    assert isinstance(loaded, rsa.RSAPrivateKey)
                    key = self._keys[der] = loaded
            digest = getattr(hashes, sd_algo.hash_algo.upper())()
            return key.sign(tbs_bytes, padding.PKCS1v15(), digest)

    return KeptKeyBackend


_KeptKeyCertomancerBackend: type = _kept_key_backend_class()


def _reparse_issued_certificates(arch: Any) -> None:
    """Swap certomancer's freshly built certificate objects for ones parsed from their DER.

    asn1crypto re-serialises a built certificate field by field whenever it is embedded (every
    time stamp and OCSP response), about 20 ms per response here; a parsed one is copied as
    bytes, as a real responder does. The certificates stay byte-for-byte the same.
    """
    cache = getattr(arch, "_cert_cache", None)
    if not isinstance(cache, dict):
        return
    from certomancer.registry import CertLabel

    spec = certomancer_config_dict(url_prefix="", key_dir=Path())["pki-architectures"][ARCH]
    for label in spec["certs"]:
        arch.get_cert(CertLabel(label))  # issue it, so it is in the cache
    for label, cert in list(cache.items()):
        cache[label] = asn1_x509.Certificate.load(cert.dump())


def seal_pki_build(directory: Path, *, realistic_services: bool = True) -> SealPKI:
    """Generate keys, issue the certificates and start the animator and CSC servers.

    `realistic_services=False` leaves certomancer's responders as shipped (key re-parsed and
    certificates re-serialised per request, about 100 ms per time stamp here); only the seal
    benchmark uses it, to show that share next to the realistic figures.
    """
    from certomancer.integrations._animator_shared import FAKE_TIME_HEADER
    from certomancer.integrations.aiohttp_animator import build_animator_app
    from certomancer.registry import CertomancerConfig
    from csc_dummy.csc_dummy_server import CSCWithCertomancer, DummyServiceParams
    from multidict import CIMultiDict

    if realistic_services:
        _keep_service_keys_loaded()
    directory.mkdir(parents=True, exist_ok=True)
    key_dir = directory / "keys"
    key_dir.mkdir(exist_ok=True)
    for name in _KEY_NAMES:
        if not (key_dir / f"{name}.key.pem").exists():
            _write_rsa_key(key_dir / f"{name}.key.pem")

    holder: dict[str, Any] = {}

    def animator_app() -> web.Application:
        app = build_animator_app(holder["config"].pki_archs, with_web_ui=False)
        app.middlewares.append(whole_seconds)
        return app

    @web.middleware
    async def whole_seconds(request: web.Request, handler: Any) -> web.StreamResponse:
        # Certomancer stamps OCSP responses with the current time including microseconds;
        # NSS cannot parse fractional GeneralizedTime and rejects the whole response (pdfsig:
        # "Unknown issue with Certificate"). Pin its clock to whole seconds for each request.
        if FAKE_TIME_HEADER not in request.headers:
            headers = CIMultiDict(request.headers)
            headers[FAKE_TIME_HEADER] = datetime.now(UTC).replace(microsecond=0).isoformat()
            request = request.clone(headers=headers)
        return await handler(request)

    def csc_app() -> web.Application:
        csc = CSCWithCertomancer(
            holder["config"], service_params=DummyServiceParams(hash_pinning_required=True)
        )
        csc.register_routes()
        return csc.app

    animator = LoopbackServer(animator_app)
    csc = LoopbackServer(csc_app)
    holder["config"] = CertomancerConfig(
        certomancer_config_dict(url_prefix=animator.url, key_dir=key_dir),
        key_search_dir=str(directory),
    )
    if realistic_services:
        _reparse_issued_certificates(holder["config"].get_pki_arch(ARCH))
    animator.start()
    csc.start()
    return SealPKI(directory=directory, config=holder["config"], animator=animator, csc=csc)


class RecordingListener:
    """A plain HTTP server on 127.0.0.1 that records every request it gets (a bait for URLs
    in hostile certificates). It answers each with `body` (status 200) or 404 without one."""

    def __init__(self, body: bytes = b"") -> None:
        import http.server

        self.requests: list[tuple[str, str]] = []
        self.body = body
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                listener.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(200 if listener.body else 404)
                self.send_header("Content-Length", str(len(listener.body)))
                self.end_headers()
                self.wfile.write(listener.body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@dataclass(frozen=True)
class HomemadeSignature:
    """A PDF signed by a home-made CA whose certificates point their AIA, OCSP and CRL URLs
    wherever the maker likes (here: `url`), as in the probe of issue 11."""

    pdf: bytes
    root_pem: bytes


def homemade_signed_pdf(pdf: bytes, *, url: str, embed_root: bool = False) -> HomemadeSignature:
    """Sign `pdf` with pyHanko as "Home-made Signer", issued by "Home-made Root CA".

    The signer's certificate names `url`/ca.cer (caIssuers), `url`/ocsp and `url`/signer.crl;
    without `embed_root` the root is missing from the signature, so a validator that chases
    AIA would fetch it from `url`.
    """
    from datetime import timedelta
    from io import BytesIO

    from asn1crypto import keys as asn1_keys
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def name(common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Home-made"),
            ]
        )

    def key_usage(**usages: bool) -> x509.KeyUsage:
        flags = dict.fromkeys(
            (
                "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
                "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
            ),
            False,
        )  # fmt: skip
        return x509.KeyUsage(digital_signature=True, **{**flags, **usages})

    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    signer_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(name("Home-made Root CA"))
        .issuer_name(name("Home-made Root CA"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    signer = (
        x509.CertificateBuilder()
        .subject_name(name("Home-made Signer"))
        .issuer_name(root.subject)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(key_usage(content_commitment=True), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(f"{url}/ca.cer"),
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(f"{url}/ocsp"),
                    ),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(f"{url}/signer.crl")],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    der = serialization.Encoding.DER
    root_asn1 = asn1_x509.Certificate.load(root.public_bytes(der))
    key_der = signer_key.private_bytes(
        der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pdf_signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(signer.public_bytes(der)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([root_asn1] if embed_root else []),
    )
    output = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf)),
        signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256"),
        signer=pdf_signer,
    )
    return HomemadeSignature(
        pdf=output.getvalue(), root_pem=root.public_bytes(serialization.Encoding.PEM)
    )


# --- pytest plugin: `pytest_plugins = ["sprechstunde.signatures.testing"]` in the root conftest.

try:
    import pytest
except ImportError:  # pragma: no cover - the bench runs without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def seal_pki_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SealPKI]:
        """One loopback PKI (CA, OCSP, CRL, TSA, CSC) for the whole test session."""
        pki = seal_pki_build(tmp_path_factory.mktemp("seal-pki"))
        yield pki
        pki.close()

    @pytest.fixture
    def recording_listener() -> Iterator[RecordingListener]:
        """A loopback HTTP server that records the requests it gets."""
        listener = RecordingListener()
        yield listener
        listener.close()

    @pytest.fixture
    def seal_pki(seal_pki_session: SealPKI, settings: Any) -> Iterator[SealPKI]:
        """The loopback PKI, with the SEAL_* settings pointing at its PKCS#12 seal key.

        `pdf_seal()` then works at every level (B-B .. B-LTA). Servers stopped by a test are
        started again afterwards.
        """
        from .revinfo_cache import revinfo_cache_clear
        from .tsa_client import tsa_cert_cache_clear

        for name, value in seal_pki_session.settings_for_pkcs12().items():
            setattr(settings, name, value)
        # Each test starts without OCSP/CRL or TSA certificates cached by an earlier one.
        revinfo_cache_clear()
        tsa_cert_cache_clear()
        yield seal_pki_session
        revinfo_cache_clear()
        tsa_cert_cache_clear()
        seal_pki_session.animator.start()
        seal_pki_session.csc.start()
