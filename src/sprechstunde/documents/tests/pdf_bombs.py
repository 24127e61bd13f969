"""Decoding bombs for the tests: small PDFs whose streams unpack to hundreds of megabytes or
more through every kind of filter chain. Built from raw bytes in well under a second each
(a deflated gigabyte of zeros is one flushed block repeated, not a gigabyte compressed)."""

from __future__ import annotations

import binascii
import zlib

from sprechstunde.documents.factories import _assemble_pdf

MB = 1024 * 1024
GB = 1024 * MB

_BLOCK = MB


def deflated_zeros(size: int) -> bytes:
    """A zlib stream of `size` zero bytes (a multiple of 1 MB): after a full flush the
    compressor starts afresh, so every megabyte compresses to the same bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(b"\x00" * _BLOCK) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    # Adler-32 of n zeros: a stays 1, b grows by 1 per byte.
    adler = ((size % 65521) << 16) | 1
    return b"\x78\xda" + piece * (size // _BLOCK) + tail + adler.to_bytes(4, "big")


def lzw_zeros(size: int, *, early_change: int = 1) -> bytes:
    """LZW codes (PDF flavour, 9 to 12 bits) that decode to at least `size` zero bytes: each
    new code is the previous string plus one zero, so one 12-bit code yields ~3,800 bytes."""
    codes: list[tuple[int, int]] = []
    produced = 0
    width = 9
    while produced < size:
        codes.append((256, width))  # clear
        next_code, width = 258, 9
        codes.append((0, width))
        produced += 1
        previous_length = 1
        while next_code + early_change < 4095 and produced < size:
            codes.append((next_code, width))
            previous_length += 1
            produced += previous_length
            next_code += 1
            width = _lzw_width(next_code + early_change)
    codes.append((257, width))  # end of data
    bits = 0
    count = 0
    out = bytearray()
    for code, code_width in codes:
        bits = (bits << code_width) | code
        count += code_width
        while count >= 8:
            count -= 8
            out.append((bits >> count) & 0xFF)
        bits &= (1 << count) - 1
    if count:
        out.append((bits << (8 - count)) & 0xFF)
    return bytes(out)


def _lzw_width(position: int) -> int:
    if position < 512:
        return 9
    if position < 1024:
        return 10
    if position < 2048:
        return 11
    return 12


def runlength_zeros(size: int) -> bytes:
    """RunLength data of `size` zero bytes: runs of 128 (the longest), two bytes each."""
    return b"\x81\x00" * (size // 128) + b"\x80"


def pdf_with_stream(data: bytes, filters: list[str], *, extra: bytes = b"") -> bytes:
    """A one-page PDF whose content stream is `data` under the filter chain `filters`."""
    filter_array = b"[" + b" ".join(f"/{name}".encode() for name in filters) + b"]"
    return _assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length "
            + str(len(data)).encode()
            + b" /Filter "
            + filter_array
            + extra
            + b" >>\nstream\n"
            + data
            + b"\nendstream",
        ]
    )


def hex_flate_bomb(size: int = GB) -> bytes:
    """The probe's bomb: `/Filter [/ASCIIHexDecode /FlateDecode]`, a first filter that the
    old check did not look behind."""
    return pdf_with_stream(
        binascii.hexlify(deflated_zeros(size)) + b">", ["ASCIIHexDecode", "FlateDecode"]
    )


def lzw_bomb(size: int = GB) -> bytes:
    return pdf_with_stream(lzw_zeros(size), ["LZWDecode"])


def runlength_bomb(size: int = 256 * MB) -> bytes:
    """Plain RunLength (at most 64:1, so a few MB on disk)."""
    return pdf_with_stream(runlength_zeros(size), ["RunLengthDecode"])


def flate_runlength_bomb(size: int = GB) -> bytes:
    """RunLength runs of 128 zeros, deflated: the two ratios multiply."""
    return pdf_with_stream(
        zlib.compress(runlength_zeros(size), 9), ["FlateDecode", "RunLengthDecode"]
    )


def double_flate_bomb(size: int = 8 * GB) -> bytes:
    """Flate inside Flate: a few kilobytes on disk for gigabytes of zeros."""
    return pdf_with_stream(zlib.compress(deflated_zeros(size), 9), ["FlateDecode", "FlateDecode"])


def objstm_bomb(size: int = GB, *, filters: tuple[str, ...] = ("FlateDecode",)) -> bytes:
    """A PDF 1.5 file whose page object sits in an object stream (/Type /ObjStm) that
    unpacks to `size` bytes: whoever resolves the page inflates the whole object stream."""
    body = b"3 0 "
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
    inner = body + page + b"\n"
    payload = inner + b" " * (MB - len(inner))
    data = deflated_with_prefix(payload, size)
    if "ASCIIHexDecode" in filters:
        data = binascii.hexlify(data) + b">"
    filter_array = b"[" + b" ".join(f"/{name}".encode() for name in filters) + b"]"
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"",  # 3: compressed, in object 4
        b"<< /Type /ObjStm /N 1 /First "
        + str(len(body)).encode()
        + b" /Length "
        + str(len(data)).encode()
        + b" /Filter "
        + filter_array
        + b" >>\nstream\n"
        + data
        + b"\nendstream",
    ]
    return _assemble_with_xref_stream(objects, compressed={3: (4, 0)})


def deflated_with_prefix(first_block: bytes, size: int) -> bytes:
    """A zlib stream of `first_block` (1 MB) followed by spaces up to `size` bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(first_block) + compressor.flush(zlib.Z_FULL_FLUSH)
    piece = compressor.compress(b" " * _BLOCK) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    blocks = size // _BLOCK - 1
    adler = zlib.adler32(first_block)
    spaces = zlib.adler32(b" " * _BLOCK)
    for _ in range(blocks):
        adler = _adler_combine(adler, spaces, _BLOCK)
    return b"\x78\xda" + head + piece * blocks + tail + adler.to_bytes(4, "big")


def _adler_combine(adler1: int, adler2: int, length2: int) -> int:
    base = 65521
    remainder = length2 % base
    sum1 = adler1 & 0xFFFF
    sum2 = (remainder * sum1) % base
    sum1 += (adler2 & 0xFFFF) + base - 1
    sum2 += ((adler1 >> 16) & 0xFFFF) + ((adler2 >> 16) & 0xFFFF) + base - remainder
    sum1 %= base
    sum2 %= base
    return (sum2 << 16) | sum1


def _assemble_with_xref_stream(objects: list[bytes], *, compressed: dict[int, tuple[int, int]]):
    """PDF 1.5 bytes with a cross-reference stream; `compressed` maps an object number to
    (object stream number, index)."""
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number, body in enumerate(objects, start=1):
        if number in compressed:
            continue
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_number = len(objects) + 1
    offsets[xref_number] = len(out)
    rows = bytearray(b"\x00\x00\x00\x00\x00\xff\xff")
    for number in range(1, xref_number + 1):
        if number in compressed:
            stream, index = compressed[number]
            rows += b"\x02" + stream.to_bytes(4, "big") + index.to_bytes(2, "big")
        else:
            rows += b"\x01" + offsets[number].to_bytes(4, "big") + b"\x00\x00"
    out += (
        f"{xref_number} 0 obj\n<< /Type /XRef /Size {xref_number + 1} /W [1 4 2] "
        f"/Root 1 0 R /Length {len(rows)} >>\nstream\n".encode()
        + bytes(rows)
        + b"\nendstream\nendobj\n"
    )
    out += f"startxref\n{offsets[xref_number]}\n%%EOF\n".encode()
    return bytes(out)


def lzw_encode(data: bytes, *, early_change: int = 1) -> bytes:
    """Plain LZW (PDF flavour) of any data, for checking the decoder against qpdf."""
    codes: list[tuple[int, int]] = []
    table: dict[bytes, int] = {}
    next_code = 258

    def emit(code: int) -> None:
        codes.append((code, _lzw_width(next_code - 1 + early_change)))

    def reset() -> None:
        nonlocal next_code
        table.clear()
        table.update({bytes([value]): value for value in range(256)})
        next_code = 258

    reset()
    emit(256)
    word = b""
    for value in data:
        extended = word + bytes([value])
        if extended in table:
            word = extended
            continue
        emit(table[word])
        table[extended] = next_code
        next_code += 1
        if next_code >= 4000:
            emit(256)
            reset()
        word = bytes([value])
    if word:
        emit(table[word])
    emit(257)
    bits = count = 0
    out = bytearray()
    for code, width in codes:
        bits = (bits << width) | code
        count += width
        while count >= 8:
            count -= 8
            out.append((bits >> count) & 0xFF)
        bits &= (1 << count) - 1
    if count:
        out.append((bits << (8 - count)) & 0xFF)
    return bytes(out)


def runlength_encode(data: bytes) -> bytes:
    """RunLength of any data: literal runs, and repeated runs for three or more equal bytes."""
    out = bytearray()
    index = 0
    while index < len(data):
        run = 1
        while index + run < len(data) and run < 128 and data[index + run] == data[index]:
            run += 1
        if run >= 3:
            out += bytes([257 - run, data[index]])
            index += run
            continue
        literal = data[index : index + 128]
        out += bytes([len(literal) - 1]) + literal
        index += len(literal)
    return bytes(out) + b"\x80"
