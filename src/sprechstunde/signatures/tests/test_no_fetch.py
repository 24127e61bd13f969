"""A submitted PDF cannot make the server call an address of its choosing (issue 11, ADR 0040).

The bait is a real HTTP listener on 127.0.0.1 that records every request; the PDFs are signed
by a home-made CA whose certificates send AIA caIssuers, OCSP and CRL lookups to it.
"""

from __future__ import annotations

import asyncio
import urllib.request

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sprechstunde.signatures.models import TrustRoot
from sprechstunde.signatures.revocation_fetch import (
    MAX_OCSP_BYTES,
    FetchRefused,
    RevocationFetcherBackend,
    address_is_public,
    url_is_internal_allowed,
)
from sprechstunde.signatures.testing import RecordingListener, homemade_signed_pdf
from sprechstunde.signatures.trust_roots import trust_root_parse

from .pdfs import decision_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def decision() -> bytes:
    return decision_pdf(pages=1)


def _upload(data: bytes) -> dict[str, SimpleUploadedFile]:
    return {"document": SimpleUploadedFile("brief.pdf", data, content_type="application/pdf")}


def _assert_listener_works(listener: RecordingListener) -> None:
    """The bait is reachable: "no request" means nobody asked, not that it was down."""
    before = len(listener.requests)
    with pytest.raises(urllib.request.HTTPError):  # 404: it answers without a body
        urllib.request.urlopen(f"{listener.url}/probe", timeout=5)  # noqa: S310 - loopback
    assert len(listener.requests) == before + 1


@pytest.mark.parametrize("chain", ["unknown root, root left out", "root is a platform root"])
def test_public_check_of_a_homemade_signature_sends_no_request(
    client, seal_pki, settings, tmp_path, recording_listener, decision, chain
):
    settings.SIGNATURE_VALIDATION_FETCH = True
    # Even with the bait's URL "in-house", the public page fetches nothing.
    settings.SIGNATURE_REVOCATION_INTERNAL_URLS = f"{recording_listener.url}/"
    signed = homemade_signed_pdf(decision, url=recording_listener.url)
    if chain == "root is a platform root":
        # A chain that ends in a root the public page trusts: revocation would be due.
        root_file = tmp_path / "homemade-root.pem"
        root_file.write_bytes(signed.root_pem)
        settings.SEAL_TRUST_ROOTS = f"{settings.SEAL_TRUST_ROOTS},{root_file}"

    response = client.post(reverse("signatures:public_check"), _upload(signed.pdf))

    assert response.status_code == 200
    report = response.context["report"]
    assert not report.is_valid
    assert recording_listener.requests == []
    expected = "untrusted" if chain.startswith("unknown") else "revocation_unknown"
    assert expected in report.signatures[0].problem_codes
    _assert_listener_works(recording_listener)


def test_staff_check_of_a_trusted_chain_does_not_fetch_from_loopback(
    client, case_manager, seal_pki, settings, recording_listener, decision
):
    settings.SIGNATURE_VALIDATION_FETCH = True
    signed = homemade_signed_pdf(decision, url=recording_listener.url)
    TrustRoot.objects.create(name="Home-made", **trust_root_parse(pem_or_der=signed.root_pem))
    client.force_login(case_manager)

    response = client.post(reverse("signatures:check"), _upload(signed.pdf))

    assert response.status_code == 200
    signature = response.context["report"].signatures[0]
    assert signature.is_intact
    assert signature.problem_codes == ["revocation_unknown"]
    assert b'data-problem="revocation_unknown"' in response.content
    assert recording_listener.requests == []
    _assert_listener_works(recording_listener)


def test_staff_check_fetches_revocation_data_from_a_configured_in_house_url(
    client, case_manager, seal_pki, settings, recording_listener, decision
):
    """The same file and the same roots; only the listener's URL is configured as in-house."""
    settings.SIGNATURE_VALIDATION_FETCH = True
    settings.SIGNATURE_REVOCATION_INTERNAL_URLS = f"{recording_listener.url}/"
    signed = homemade_signed_pdf(decision, url=recording_listener.url)
    TrustRoot.objects.create(name="Home-made", **trust_root_parse(pem_or_der=signed.root_pem))
    client.force_login(case_manager)

    response = client.post(reverse("signatures:check"), _upload(signed.pdf))

    assert ("POST", "/ocsp") in recording_listener.requests
    # Issuer certificates are never fetched, and the listener's 404 gives no answer.
    assert all(path != "/ca.cer" for _method, path in recording_listener.requests)
    assert response.context["report"].signatures[0].problem_codes == ["revocation_unknown"]


def test_staff_check_never_chases_aia_or_checks_revocation_for_an_untrusted_chain(
    client, case_manager, seal_pki, settings, recording_listener, decision
):
    settings.SIGNATURE_VALIDATION_FETCH = True
    settings.SIGNATURE_REVOCATION_INTERNAL_URLS = f"{recording_listener.url}/"
    signed = homemade_signed_pdf(decision, url=recording_listener.url)
    client.force_login(case_manager)

    response = client.post(reverse("signatures:check"), _upload(signed.pdf))

    assert "untrusted" in response.context["report"].signatures[0].problem_codes
    assert recording_listener.requests == []


def test_client_check_fetches_nothing(
    client, seal_pki, settings, recording_listener, decision, client_user
):
    """A signed-in client is an outside person: no fetch, even from an in-house URL."""
    settings.SIGNATURE_VALIDATION_FETCH = True
    settings.SIGNATURE_REVOCATION_INTERNAL_URLS = f"{recording_listener.url}/"
    signed = homemade_signed_pdf(decision, url=recording_listener.url)
    TrustRoot.objects.create(name="Home-made", **trust_root_parse(pem_or_der=signed.root_pem))
    client.force_login(client_user)

    response = client.post(reverse("signatures:check"), _upload(signed.pdf))

    assert response.context["report"].signatures[0].problem_codes == ["revocation_unknown"]
    assert recording_listener.requests == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("127.255.255.254", False),
        ("::1", False),
        ("0.0.0.0", False),  # noqa: S104 - an address under test, not a bind
        ("::", False),
        ("10.0.0.1", False),
        ("10.255.255.255", False),
        ("172.16.0.1", False),
        ("172.31.255.254", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata service
        ("100.64.0.1", False),  # CGNAT
        ("100.127.255.254", False),
        ("192.0.0.8", False),
        ("198.18.0.1", False),  # benchmarking
        ("224.0.0.1", False),  # multicast
        ("239.255.255.250", False),
        ("240.0.0.1", False),  # reserved
        ("255.255.255.255", False),
        ("fe80::1", False),
        ("fe80::1%1", False),
        ("fc00::1", False),
        ("fd12:3456:789a::1", False),
        ("fec0::1", False),  # deprecated site-local
        ("ff02::1", False),  # multicast
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:10.1.2.3", False),
        ("::ffff:169.254.169.254", False),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2001:db8::1", False),  # documentation
        ("not an address", False),
        ("", False),
        ("93.184.215.14", True),
        ("8.8.8.8", True),
        ("172.32.0.1", True),  # just outside 172.16/12
        ("100.128.0.1", True),  # just outside 100.64/10
        ("2a00:1450:4001:80e::200e", True),
        ("::ffff:8.8.8.8", True),  # IPv4-mapped public
        ("2002:808:808::", True),  # 6to4 of 8.8.8.8
    ],
)
def test_address_filter(address, public):
    assert address_is_public(address) is public


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://ocsp.intern:8080/ca1/ocsp", True),
        ("http://OCSP.intern:8080/ca1/", True),
        ("http://ocsp.intern:8080/ca2/ocsp", False),
        ("http://ocsp.intern/ca1/ocsp", False),  # other port
        ("https://ocsp.intern:8080/ca1/ocsp", False),  # other scheme
        ("http://ocsp.intern:8080@evil.example/ca1/", False),
        ("http://ocsp.intern.evil.example:8080/ca1/", False),
        ("ldap://ocsp.intern:8080/ca1/", False),
    ],
)
def test_in_house_url_prefixes_match_by_parts(url, allowed):
    assert url_is_internal_allowed(url, ["http://ocsp.intern:8080/ca1/"]) is allowed


def _download(backend: RevocationFetcherBackend, url: str, max_bytes: int = 1024) -> bytes:
    async def run() -> bytes:
        return await backend.download(url, body=None, accept="*/*", max_bytes=max_bytes)

    return asyncio.run(run())


@pytest.mark.parametrize(
    "url_template",
    [
        "http://127.0.0.1:{port}/x.crl",
        "http://localhost:{port}/x.crl",  # a name that resolves to loopback
        "http://[::ffff:127.0.0.1]:{port}/x.crl",
        "ftp://127.0.0.1:{port}/x.crl",
        "file:///etc/passwd",
    ],
)
def test_fetcher_refuses_before_connecting(recording_listener, url_template):
    backend = RevocationFetcherBackend(online=True)
    with pytest.raises(FetchRefused):
        _download(backend, url_template.format(port=recording_listener.port))
    assert recording_listener.requests == []
    assert [attempt.outcome for attempt in backend.attempts] == ["refused"]


def test_offline_fetcher_sends_nothing_even_to_an_in_house_url(recording_listener):
    backend = RevocationFetcherBackend(
        online=False, internal_url_prefixes=[f"{recording_listener.url}/"]
    )
    with pytest.raises(FetchRefused):
        _download(backend, f"{recording_listener.url}/x.crl")
    assert recording_listener.requests == []


def test_fetcher_caps_the_response_size():
    listener = RecordingListener(body=b"x" * (MAX_OCSP_BYTES + 1))
    try:
        backend = RevocationFetcherBackend(online=True, internal_url_prefixes=[f"{listener.url}/"])
        assert _download(backend, f"{listener.url}/small", max_bytes=MAX_OCSP_BYTES * 2)
        with pytest.raises(FetchRefused):
            _download(backend, f"{listener.url}/large", max_bytes=MAX_OCSP_BYTES)
        assert [attempt.outcome for attempt in backend.attempts] == ["fetched", "failed"]
    finally:
        listener.close()


def test_fetcher_connects_to_the_address_it_checked(recording_listener):
    """A host name is resolved once and the connection goes to that checked address (here an
    in-house name, so loopback is allowed): the request arrives, and only this one."""
    url = f"http://localhost:{recording_listener.port}/x.crl"
    backend = RevocationFetcherBackend(
        online=True, internal_url_prefixes=[f"http://localhost:{recording_listener.port}/"]
    )
    with pytest.raises(FetchRefused):  # the listener answers 404
        _download(backend, url)
    assert recording_listener.requests == [("GET", "/x.crl")]
    assert [attempt.outcome for attempt in backend.attempts] == ["failed"]
