"""Seals per second: PAdES seals of a 2-page decision with a PKCS#12 key and with SoftHSM2.

Run: `.venv/bin/python bench/seal.py [--rounds N]`. Builds the loopback test PKI (certomancer:
CA, OCSP, CRL, TSA on 127.0.0.1) in a temp directory, served by a child process (as a real TSA
and OCSP responder would be, so their work does not hold this process's GIL; `--in-process`
keeps them in a thread as the tests do), then times `pdf_seal()` at B-B and B-LT
with both key sources, a WeasyPrint render + B-LT seal of a 10-page decision, and, as the
baseline measured in the same run, a plain pikepdf incremental save of the same 2-page file.
Goal: ≤ 100 ms per seal. Prints figures; asserts nothing.
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
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(
        f"{label:<44} median {median * 1000:8.1f} ms   "
        f"min {min(times) * 1000:8.1f} ms   {1 / median:6.1f}/s   (n={rounds})"
    )
    return median


def _serve_pki(directory: Path) -> None:
    """Child process: build and serve the PKI, print the SEAL_* settings, run until stdin closes."""
    import django

    django.setup()
    from sprechstunde.signatures.testing import seal_pki_build

    pki = seal_pki_build(directory)
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

    def __init__(self, directory: Path) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--serve-pki", str(directory)],
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
    parser.add_argument("--serve-pki", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_pki:
        _serve_pki(args.serve_pki)
        return

    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    import pikepdf
    from django.conf import settings
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from sprechstunde.signatures.sealing import run_sync
    from sprechstunde.signatures.services import pdf_seal
    from sprechstunde.signatures.testing import seal_pki_build
    from sprechstunde.signatures.tests.pdfs import decision_pdf

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
        settings.SEAL_REVOCATION_CACHE_SECONDS = 0  # fetch OCSP/CRLs per seal, as before
        _measure(
            "seal 2-page decision, PKCS#12, B-LT, no cache",
            functools.partial(pdf_seal, pdf=two_pages, level="B-LT"),
            args.rounds,
        )
        settings.SEAL_REVOCATION_CACHE_SECONDS = cache_seconds
        tsa = HTTPTimeStamper(settings.SEAL_TSA_URL)
        digest = hashlib.sha256(two_pages).digest()
        _measure(
            "baseline: one RFC 3161 request to the TSA",
            lambda: run_sync(tsa.async_timestamp(digest, "sha256")),
            args.rounds,
        )
        _measure(
            "render 10 pages (WeasyPrint PDF/A-2b) only",
            lambda: decision_pdf(pages=10),
            max(3, args.rounds // 4),
        )
        _measure(
            "render 10 pages + seal B-LT (PKCS#12)",
            lambda: pdf_seal(pdf=decision_pdf(pages=10), level="B-LT"),
            max(3, args.rounds // 4),
        )
        pki.close()


if __name__ == "__main__":
    main()
