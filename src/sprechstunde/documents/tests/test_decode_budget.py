"""The decoding budget and the limited child process (ADR 0043): bombs through every kind of
filter chain are refused with a message in the sender's language, the process that plays the
web server stays small, and the child really is limited in memory and time."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.urls import reverse

from sprechstunde.documents import decoding, isolation, services
from sprechstunde.documents.choices import DocumentStatus
from sprechstunde.documents.factories import _assemble_pdf, jpeg_bytes, pdf_bytes
from sprechstunde.documents.models import Document

from . import pdf_bombs
from .conftest import browser_for, stored_files

MB = pdf_bombs.MB
GB = pdf_bombs.GB
TOO_LARGE_MESSAGE = (
    "This PDF contains data that unpacks to an unreasonable size and is not accepted."
)
ROOT = Path(__file__).resolve().parents[4]

BOMBS = {
    "hex+flate": lambda: pdf_bombs.hex_flate_bomb(GB),
    "hex+flate-probe-size": lambda: pdf_bombs.hex_flate_bomb(384 * MB),
    "lzw": lambda: pdf_bombs.lzw_bomb(GB),
    "runlength": lambda: pdf_bombs.runlength_bomb(192 * MB),
    "flate+runlength": lambda: pdf_bombs.flate_runlength_bomb(GB),
    "flate+flate": lambda: pdf_bombs.double_flate_bomb(8 * GB),
    "object-stream": lambda: pdf_bombs.objstm_bomb(GB),
    "object-stream-hex+flate": lambda: pdf_bombs.objstm_bomb(
        GB, filters=("ASCIIHexDecode", "FlateDecode")
    ),
}


def small_budget() -> decoding.Budget:
    return decoding.Budget(
        max_bytes=10**12,
        max_unpacked=64 * MB,
        max_pixels=50_000_000,
        deadline=time.monotonic() + 600,
    )


@pytest.mark.parametrize("name", list(BOMBS))
def test_the_budget_stops_every_filter_chain_without_holding_the_data(name):
    data = BOMBS[name]()
    budget = small_budget()
    with pytest.raises(decoding.Refused) as refused:
        decoding.inspect_pdf(data, budget=budget)
    assert refused.value.reason == decoding.TOO_LARGE
    # Stopped at the budget, a piece beyond it at most: nothing was unpacked in full.
    assert 64 * MB < budget.unpacked <= 64 * MB + 64 * 1024 * 1024


def test_the_budget_counts_what_an_ordinary_pdf_unpacks():
    budget = small_budget()
    assert decoding.inspect_pdf(pdf_bytes(3), budget=budget) == 3
    assert 0 < budget.unpacked < 64 * 1024


def test_a_bomb_just_below_the_budget_is_counted_exactly():
    budget = small_budget()
    decoding.inspect_pdf(pdf_bombs.lzw_bomb(16 * MB), budget=budget)
    assert 16 * MB <= budget.unpacked < 16 * MB + 8 * 1024


def image_pdf(width: int, height: int, *, filters: str = "/DCTDecode", data: bytes = b"") -> bytes:
    data = data or jpeg_bytes(64, 64)
    return _assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>",
            f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
            f"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter {filters} "
            f"/Length {len(data)} >>\nstream\n".encode()
            + data
            + b"\nendstream",
            b"<< /Length 31 >>\nstream\nq 595 0 0 842 0 0 cm /Im1 Do Q\nendstream",
        ]
    )


def test_an_image_is_counted_by_its_pixels_not_its_compressed_size():
    budget = small_budget()
    decoding.inspect_pdf(image_pdf(64, 64), budget=budget)
    assert budget.spent >= 64 * 64 * 3
    budget = small_budget()
    with pytest.raises(decoding.Refused) as refused:
        decoding.inspect_pdf(image_pdf(100_000, 100_000), budget=budget)
    assert refused.value.reason == decoding.PIXELS


def test_a_jpeg_larger_than_declared_counts_by_its_own_header():
    budget = small_budget()
    budget.max_pixels = 1_000_000
    with pytest.raises(decoding.Refused):
        decoding.inspect_pdf(image_pdf(10, 10, data=jpeg_bytes(1200, 1000)), budget=budget)


WEB_PROCESS = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    sys.path[:0] = [sys.argv[1] + "/src", sys.argv[1]]
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django
    django.setup()
    from django.utils import translation
    from sprechstunde.documents import file_checks

    def high_water_mb():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

    translation.activate("en")
    # Warm up: everything the check imports is loaded before the baseline.
    file_checks.check_batch([Path(sys.argv[2])])
    baseline = high_water_mb()
    refusals = {}
    for path in sys.argv[3:]:
        try:
            file_checks.check_batch([Path(path)])
            refusals[Path(path).stem] = "accepted"
        except file_checks.FileRefused as refused:
            refusals[Path(path).stem] = str(refused.message)
    print(json.dumps({"baseline": baseline, "peak": high_water_mb(), "refusals": refusals}))
    """
)


def test_bombs_leave_the_web_process_small_and_are_refused(tmp_path):
    """A fresh process plays the web server (test settings, the real upload check); its own
    peak resident memory (VmHWM) may grow by less than 300 MB while every bomb is checked."""
    ordinary = tmp_path / "ordinary.pdf"
    ordinary.write_bytes(pdf_bytes(2))
    paths = []
    for name, make in BOMBS.items():
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(make())
        paths.append(str(path))
    result = subprocess.run(
        [sys.executable, "-c", WEB_PROCESS, str(ROOT), str(ordinary), *paths],
        capture_output=True,
        check=True,
        timeout=600,
    )
    report = json.loads(result.stdout.decode().strip().splitlines()[-1])
    print("web process VmHWM MB:", report["baseline"], "->", report["peak"])
    assert report["refusals"] == dict.fromkeys(BOMBS, TOO_LARGE_MESSAGE)
    assert report["peak"] - report["baseline"] < 300


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "name", ["hex+flate-probe-size", "lzw", "flate+runlength", "object-stream-hex+flate"]
)
def test_a_bomb_upload_is_refused_in_the_senders_language(portal_client, storage_dir, name):
    portal_client.user.preferred_language = "de"
    portal_client.user.save(update_fields=["preferred_language"])
    upload = io.BytesIO(BOMBS[name]())
    upload.name = "bomb.pdf"
    browser = browser_for(portal_client.user)
    response = browser.post(reverse("documents:upload"), {"files": [upload]})
    assert response.status_code == 400
    assert (
        "Diese PDF-Datei enthält Daten, die sich auf eine unvernünftige Größe entpacken"
        in response.content.decode()
    )
    assert not Document.objects.exists()
    assert stored_files(storage_dir) == []


def tall_page_pdf(height: int) -> bytes:
    """An ordinary, tiny PDF whose one page is 250 x `height` points: its preview is a
    bitmap of 1000 x 4*`height` pixels, tens of megabytes while it is rendered."""
    content = b"0 0 1 rg 0 0 250 %d re f" % height
    return _assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 250 %d] /Contents 4 0 R >>" % height,
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        ]
    )


def received(tmp_path: Path, name: str, data: bytes) -> services.ReceivedFile:
    path = tmp_path / name
    path.write_bytes(data)
    return services.ReceivedFile(path=path, name=name)


@pytest.mark.django_db(transaction=True)
def test_the_child_is_limited_in_memory_and_its_refusal_reaches_the_sender(
    portal_client, tmp_path, settings, storage_dir
):
    """Rendering the preview needs more than the child may have: the child dies of it, the
    document fails with the reason shown to the sender, nothing is stored, and this process
    (the web process) goes on."""
    settings.DOCUMENT_DECODE_MEMORY_MB = 150
    document = services.document_create(
        uploader=portal_client.user,
        client=portal_client,
        files=[received(tmp_path, "tall.pdf", tall_page_pdf(4000))],
    )
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert document.refusal_reason == "pdf-too-large"
    assert document.pdf_storage_name == ""
    assert not document.previews.exists()
    assert stored_files(storage_dir) == []
    page = browser_for(portal_client.user).get(reverse("documents:detail", args=[document.pk]))
    assert TOO_LARGE_MESSAGE in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_same_file_is_accepted_with_the_default_memory_limit(portal_client, tmp_path):
    document = services.document_create(
        uploader=portal_client.user,
        client=portal_client,
        files=[received(tmp_path, "tall.pdf", tall_page_pdf(4000))],
    )
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert document.previews.get().height == 16000


def test_the_child_is_stopped_after_its_time(settings, monkeypatch):
    """With the byte budget out of the way, only the time limit stands between a child and
    eight gigabytes of zeros: it ends the work and the file is refused."""
    monkeypatch.setattr(isolation, "UNPACKED_FLOOR", 10**15)
    settings.DOCUMENT_DECODE_MAX_BYTES = 10**15
    settings.DOCUMENT_DECODE_SECONDS = 1
    settings.DOCUMENT_DECODE_SECONDS_PER_PAGE = 0
    with pytest.raises(isolation.DecodeRefused) as refused:
        isolation.isolated_check(
            [("application/pdf", pdf_bombs.double_flate_bomb(16 * GB))],
            limits=isolation.DecodeLimits.for_document(),
        )
    assert refused.value.reason == "pdf-too-large"
    assert str(refused.value.message) == TOO_LARGE_MESSAGE


def test_the_child_sees_no_secrets_and_no_settings_module():
    environment = isolation._child_environment()
    assert set(environment) == {"PATH", "PYTHONPATH", "LC_ALL"}


def test_photos_are_checked_and_converted_in_the_child():
    limits = isolation.DecodeLimits.for_document(pages=2)
    assert isolation.isolated_check(
        [("image/jpeg", jpeg_bytes(400, 300)), ("image/jpeg", jpeg_bytes(300, 400))],
        limits=limits,
    ) == [1, 1]
    converted, rendered = isolation.isolated_convert(
        "images", [jpeg_bytes(400, 300), jpeg_bytes(300, 400)], limits=limits
    )
    assert converted.pages == 2
    assert converted.data.startswith(b"%PDF-")
    assert [page.page_number for page in rendered] == [1, 2]
    assert all(page.data.startswith(b"RIFF") for page in rendered)


def _encoders():
    import base64
    import binascii
    import zlib

    return {
        "FlateDecode": lambda data: zlib.compress(data, 6),
        "ASCIIHexDecode": lambda data: binascii.hexlify(data, b"\n", 32) + b">",
        "ASCII85Decode": lambda data: base64.a85encode(data, wrapcol=72) + b"~>",
        "RunLengthDecode": pdf_bombs.runlength_encode,
        "LZWDecode": pdf_bombs.lzw_encode,
    }


@pytest.mark.parametrize(
    "filters",
    [
        ["FlateDecode"],
        ["ASCIIHexDecode"],
        ["ASCII85Decode"],
        ["RunLengthDecode"],
        ["LZWDecode"],
        ["ASCII85Decode", "FlateDecode"],
        ["ASCIIHexDecode", "LZWDecode"],
        ["FlateDecode", "RunLengthDecode"],
        ["ASCII85Decode", "LZWDecode", "RunLengthDecode"],
    ],
    ids="+".join,
)
def test_the_budget_counts_exactly_what_qpdf_decodes(filters):
    """Our streaming decoders agree with qpdf's on ordinary data: a stream is never counted
    smaller than it unpacks."""
    import random

    import pikepdf

    generator = random.Random(11)
    content = b"".join(
        generator.randbytes(generator.randint(1, 300)) + bytes([generator.randint(0, 3)]) * 200
        for _ in range(400)
    )
    data = content
    for name in reversed(filters):
        data = _encoders()[name](data)
    pdf = pdf_bombs.pdf_with_stream(data, filters)
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        decoded = opened.pages[0].Contents.read_bytes(pikepdf.StreamDecodeLevel.specialized)
    assert decoded == content
    budget = small_budget()
    decoding.inspect_pdf(pdf, budget=budget)
    assert budget.unpacked == len(content)


def test_a_pdf_image_of_ten_gigapixels_is_refused_by_the_child_as_a_bomb():
    with pytest.raises(isolation.DecodeRefused) as refused:
        isolation.isolated_check(
            [("application/pdf", image_pdf(100_000, 100_000))],
            limits=isolation.DecodeLimits.for_document(),
        )
    assert refused.value.reason == "pdf-pixels"
    assert str(refused.value.message) == TOO_LARGE_MESSAGE
