"""Seals per second: PAdES seals of a 2-page decision with a PKCS#12 key and with SoftHSM2.

Run: `.venv/bin/python bench/seal.py [--rounds N]`. Builds the loopback test PKI (certomancer:
CA, OCSP, CRL, TSA on 127.0.0.1) in a temp directory, served by a child process (as a real TSA
and OCSP responder would be, so their work does not hold this process's GIL; `--in-process`
keeps them in a thread as the tests do), then times `pdf_seal()` at B-B and B-LT
with both key sources, a WeasyPrint render + B-LT seal of a 10-page decision, and, as
baselines measured in the same run, a plain pikepdf save of the same 2-page file and one
RFC 3161 round trip to the TSA. Last, the same B-LT seal against a second child serving
certomancer's responders as shipped (about 100 ms of CPU per time stamp; `--skip-stock` leaves
it out), to show how much of a figure is the test TSA's. Goal: ≤ 100 ms per seal. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[:0] = [
        str(Path(__file__).resolve().parents[1]),
        str(Path(__file__).resolve().parents[1] / "src"),
    ]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def _measure(label: str, action: Callable[[], object], rounds: int) -> float:
    action()  # warm-up: imports, connection set-up, first OCSP fetch
    times = []
    cpu_times = []
    for _ in range(rounds):
        started = time.perf_counter()
        cpu_started = time.process_time()
        action()
        cpu_times.append(time.process_time() - cpu_started)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    # CPU time of this process only (the PKI's responders run in a child): less sensitive to
    # other load on the machine than the wall-clock figures.
    print(
        f"{label:<46} median {median * 1000:7.1f} ms   "
        f"min {min(times) * 1000:7.1f} ms   {1 / median:6.1f}/s   "
        f"CPU median {statistics.median(cpu_times) * 1000:7.1f} ms   (n={rounds})"
    )
    return median


def _serve_pki(directory: Path, *, stock: bool) -> None:
    """Child process: build and serve the PKI, print the SEAL_* settings, run until stdin closes."""
    import django

    django.setup()
    from sprechstunde.signatures.testing import seal_pki_build

    pki = seal_pki_build(directory, realistic_services=not stock)
    info = {
        "pkcs12": pki.settings_for_pkcs12(),
        "pkcs11": pki.settings_for_pkcs11(),
        "softhsm2_conf": os.environ["SOFTHSM2_CONF"],
    }
    print(json.dumps(info), flush=True)
    sys.stdin.read()
    pki.close()


class _ChildPKI:
    """The PKI served by a child process (the default)."""

    def __init__(self, directory: Path, *, stock: bool = False) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--serve-pki", str(directory)]
            + (["--stock-services"] if stock else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        info = json.loads(self._process.stdout.readline())
        os.environ["SOFTHSM2_CONF"] = info["softhsm2_conf"]
        self._settings: dict[str, dict[str, Any]] = info

    def settings_for_pkcs12(self) -> dict[str, Any]:
        return self._settings["pkcs12"]

    def settings_for_pkcs11(self) -> dict[str, Any]:
        return self._settings["pkcs11"]

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--in-process", action="store_true", help="serve the PKI in a thread")
    parser.add_argument("--skip-stock", action="store_true", help="skip the stock-TSA figures")
    parser.add_argument("--serve-pki", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stock-services", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_pki:
        _serve_pki(args.serve_pki, stock=args.stock_services)
        return

    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    import aiohttp
    import pikepdf
    from django.conf import settings
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from sprechstunde.signatures.revinfo_cache import revinfo_cache_clear
    from sprechstunde.signatures.sealing import run_sync
    from sprechstunde.signatures.services import pdf_seal
    from sprechstunde.signatures.testing import seal_pki_build
    from sprechstunde.signatures.tests.pdfs import decision_pdf
    from sprechstunde.signatures.tsa_client import tsa_cert_cache_clear

    def tsa_round_trip(digest: bytes) -> None:
        """One time stamp request as a seal makes it: fresh event loop and HTTP session."""

        async def request() -> None:
            async with aiohttp.ClientSession() as http:
                stamper = HTTPTimeStamper(settings.SEAL_TSA_URL, session=http)
                await stamper.async_timestamp(digest, "sha256")

        run_sync(request())

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print("PKI (CA, OCSP, CRL, TSA) served " + ("in a thread" if args.in_process else "by a child"))
    with tempfile.TemporaryDirectory(prefix="seal-bench-") as tmp:
        pki: Any = seal_pki_build(Path(tmp)) if args.in_process else _ChildPKI(Path(tmp))
        two_pages = decision_pdf(pages=2)

        def pikepdf_incremental() -> bytes:
            out = BytesIO()
            with pikepdf.open(BytesIO(two_pages)) as doc:
                doc.docinfo["/Producer"] = "bench"
                doc.save(out)  # pikepdf has no incremental save; a full rewrite is the floor
            return out.getvalue()

        _measure("baseline: pikepdf open+save of the 2-page PDF", pikepdf_incremental, args.rounds)
        for source, config in (
            ("PKCS#12", pki.settings_for_pkcs12()),
            ("SoftHSM2", pki.settings_for_pkcs11()),
        ):
            for name, value in config.items():
                setattr(settings, name, value)
            for level in ("B-B", "B-LT"):
                _measure(
                    f"seal 2-page decision, {source}, {level}",
                    functools.partial(pdf_seal, pdf=two_pages, level=level),
                    args.rounds,
                )
        for name, value in pki.settings_for_pkcs12().items():
            setattr(settings, name, value)
        cache_seconds = settings.SEAL_REVOCATION_CACHE_SECONDS
        # Fetch OCSP/CRLs and a dummy time stamp (for the TSA's certificates) per seal, as
        # before the revocation and TSA certificate caches.
        settings.SEAL_REVOCATION_CACHE_SECONDS = 0
        _measure(
            "seal 2-page decision, PKCS#12, B-LT, no caches",
            functools.partial(pdf_seal, pdf=two_pages, level="B-LT"),
            args.rounds,
        )
        settings.SEAL_REVOCATION_CACHE_SECONDS = cache_seconds
        digest = hashlib.sha256(two_pages).digest()
        _measure(
            "baseline: one RFC 3161 request to the TSA",
            functools.partial(tsa_round_trip, digest),
            args.rounds,
        )
        _measure(
            "render 10 pages (WeasyPrint PDF/A-2b) only",
            lambda: decision_pdf(pages=10),
            max(3, args.rounds // 4),
        )
        ten_pages = decision_pdf(pages=10)
        _measure(
            "seal 10-page decision, PKCS#12, B-LT",
            functools.partial(pdf_seal, pdf=ten_pages, level="B-LT"),
            args.rounds,
        )
        _measure(
            "render 10 pages + seal B-LT (PKCS#12)",
            lambda: pdf_seal(pdf=decision_pdf(pages=10), level="B-LT"),
            max(3, args.rounds // 4),
        )
        pki.close()

        if args.in_process or args.skip_stock:
            return
        stock_dir = Path(tmp) / "stock"
        stock = _ChildPKI(stock_dir, stock=True)
        for name, value in stock.settings_for_pkcs12().items():
            setattr(settings, name, value)
        revinfo_cache_clear()
        tsa_cert_cache_clear()
        _measure(
            "stock certomancer TSA: one RFC 3161 request",
            functools.partial(tsa_round_trip, digest),
            args.rounds,
        )
        _measure(
            "stock certomancer TSA: seal PKCS#12, B-LT",
            functools.partial(pdf_seal, pdf=two_pages, level="B-LT"),
            args.rounds,
        )
        stock.close()


if __name__ == "__main__":
    main()
