"""Small valid files and structure-aware strategies shared by the fuzz tests: real files are
the best starting point for mutations, because random bytes almost never get past the
first check of a parser."""

from __future__ import annotations

import io
import zlib

import pikepdf
from hypothesis import strategies as st
from PIL import Image

MAGIC = {
    "pdf": b"%PDF-1.7\n",
    "jpeg": b"\xff\xd8\xff\xe0",
    "png": b"\x89PNG\r\n\x1a\n",
    "webp": b"RIFF\x00\x00\x00\x00WEBP",
    "zip": b"PK\x03\x04",
    "gzip": b"\x1f\x8b",
    "elf": b"\x7fELF",
    "exe": b"MZ",
    "heic": b"\x00\x00\x00\x18ftypheic",
    "html": b"<!DOCTYPE html><script>",
}


def _image(fmt: str, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (16, 12), (200, 30, 30) if mode == "RGB" else 128).save(out, format=fmt)
    return out.getvalue()


def _pdf(pages: int = 1) -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(200, 300))
    content = pikepdf.Stream(pdf, zlib.compress(b"BT /F1 12 Tf 10 10 Td (Hallo) Tj ET"))
    content["/Filter"] = pikepdf.Name.FlateDecode
    pdf.pages[0].obj["/Contents"] = pdf.make_indirect(content)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


VALID_PDF = _pdf()
VALID = {
    "pdf": VALID_PDF,
    "pdf_3_pages": _pdf(3),
    "jpeg": _image("JPEG"),
    "png": _image("PNG"),
    "png_palette": _image("PNG", "P"),
    "webp": _image("WEBP"),
}


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` truncated, with bytes overwritten, inserted or deleted, or garbage appended."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 8))):
        if not data:
            break
        where = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "copy"]))
        if action == "flip":
            data[where] = draw(st.integers(0, 255))
        elif action == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=64))
        elif action == "delete":
            del data[where : where + draw(st.integers(1, 64))]
        else:
            # Repeat a slice: duplicated objects, xref entries and chunks confuse parsers.
            end = min(len(data), where + draw(st.integers(1, 256)))
            data[where:where] = data[where:end]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        data += draw(st.binary(max_size=256))
    return bytes(data)


def any_file_bytes() -> st.SearchStrategy[bytes]:
    """Random bytes, a magic number and garbage, or a mutated real file."""
    return st.one_of(
        st.binary(max_size=2048),
        st.builds(
            lambda magic, rest: magic + rest,
            st.sampled_from(list(MAGIC.values())),
            st.binary(max_size=2048),
        ),
        st.sampled_from(list(VALID.values())).flatmap(mutated),
        st.sampled_from(list(VALID.values())),
    )
