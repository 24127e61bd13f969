"""The seal key's signer: its speed-ups change no byte of the CMS signature pyHanko would make."""

from __future__ import annotations

import asyncio
import hashlib

from pyhanko.sign import signers

from sprechstunde.signatures.key_sources import _load_pkcs12
from sprechstunde.signatures.testing import PKCS12_PASSPHRASE


def test_kept_key_signer_makes_the_same_cms_as_pyhankos_own_signer(seal_pki):
    path = str(seal_pki.pkcs12_path())
    ours = _load_pkcs12(path, PKCS12_PASSPHRASE)
    stock = signers.SimpleSigner.load_pkcs12(path, passphrase=PKCS12_PASSPHRASE.encode())
    assert stock is not None and type(ours) is not signers.SimpleSigner
    digest = hashlib.sha256(b"decision").digest()

    def cms_bytes(signer: signers.Signer) -> bytes:
        # PKCS#1 v1.5 is deterministic and a PAdES CMS carries no signing time, so the same
        # digest must give the same bytes.
        return asyncio.run(signer.async_sign(digest, "sha256", use_pades=True)).dump()

    assert cms_bytes(ours) == cms_bytes(stock)
