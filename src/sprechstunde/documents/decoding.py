"""Looking inside untrusted files under one budget per document: every stream of a PDF is
unpacked through its whole filter chain in small pieces, counted as it comes out and never
held in full; images count by their declared pixels, and no image may exceed a pixel limit.

Runs in the child process (`decode_worker`), never in the web process, and imports nothing
from Django: the limits come in as arguments. Raises `Refused` with a short reason code; the
parent turns the code into a message in the sender's language.
"""

from __future__ import annotations

import base64
import binascii
import io
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Reason codes shared with the parent (isolation.py).
TOO_LARGE = "too-large"  # unpacks beyond the budget, out of memory or out of time
PIXELS = "pixels"  # an image with too many pixels
ENCRYPTED = "encrypted"
UNREADABLE = "unreadable"

_CHUNK = 64 * 1024
# Bytes of an image stream kept to read its own header (JPEG SOF, JPEG 2000 ihdr).
_IMAGE_HEAD = 64 * 1024
_WHITESPACE = b" \t\r\n\f\x00"

_ABBREVIATIONS = {
    "/AHx": "/ASCIIHexDecode",
    "/A85": "/ASCII85Decode",
    "/LZW": "/LZWDecode",
    "/Fl": "/FlateDecode",
    "/RL": "/RunLengthDecode",
    "/CCF": "/CCITTFaxDecode",
    "/DCT": "/DCTDecode",
}
# Decoded by the image decoder (PDFium), not here: counted by their pixels instead.
_IMAGE_FILTERS = frozenset({"/DCTDecode", "/JPXDecode", "/JBIG2Decode", "/CCITTFaxDecode"})
_COMPONENTS = {
    "/DeviceGray": 1,
    "/CalGray": 1,
    "/G": 1,
    "/DeviceRGB": 3,
    "/CalRGB": 3,
    "/Lab": 3,
    "/RGB": 3,
    "/DeviceCMYK": 4,
    "/CMYK": 4,
}


class Refused(Exception):
    """The file is not accepted; `reason` is one of the codes above."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Budget:
    """What one document may cost: `max_bytes` of everything decoded (images at their
    declared size), `max_unpacked` of what the stream filters unpack (a ratio of the file
    size: the classic bomb), `max_pixels` per image, and a deadline on the monotonic clock."""

    max_bytes: int
    max_unpacked: int
    max_pixels: int
    deadline: float
    spent: int = 0
    unpacked: int = 0

    def spend(self, count: int, *, unpacked: bool) -> None:
        self.spent += count
        if unpacked:
            self.unpacked += count
        if self.spent > self.max_bytes or self.unpacked > self.max_unpacked:
            raise Refused(TOO_LARGE)
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise Refused(TOO_LARGE)


def inspect_pdf(data: bytes, *, budget: Budget) -> int:
    """Open the PDF, refuse encrypted or broken ones, unpack every stream under the budget
    (object streams included, before anything reads objects out of them) and return the
    page count."""
    import pikepdf

    try:
        # Without inherit_page_attributes pikepdf does not walk the page tree on opening,
        # which would make qpdf unpack object streams in full before they were counted.
        pdf = pikepdf.open(io.BytesIO(data), inherit_page_attributes=False)
    except pikepdf.PasswordError as error:
        raise Refused(ENCRYPTED) from error
    except (pikepdf.PdfError, ValueError, OSError) as error:
        raise Refused(UNREADABLE) from error
    with pdf:
        if pdf.is_encrypted:
            raise Refused(ENCRYPTED)
        try:
            # Streams are never inside object streams, so walking the uncompressed entries
            # reaches every stream without making qpdf unpack an object stream unchecked.
            for objgen, entry in pdf.get_xref_table().items():
                if entry.type != 1:
                    continue
                obj = pdf.get_object(objgen)
                if isinstance(obj, pikepdf.Stream):
                    _spend_on_stream(obj, budget)
            return len(pdf.pages)
        except (pikepdf.PdfError, ValueError, TypeError, KeyError) as error:
            raise Refused(UNREADABLE) from error


def inspect_image(data: bytes, *, max_pixels: int) -> str:
    """Read only the header of a photo: its format ("JPEG", "PNG", "WEBP") and size."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            found = image.format or ""
            width, height = image.size
    except Image.DecompressionBombError as error:
        raise Refused(PIXELS) from error
    except (OSError, ValueError, SyntaxError) as error:
        raise Refused(UNREADABLE) from error
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise Refused(PIXELS)
    return found


def _spend_on_stream(stream: object, budget: Budget) -> None:
    import pikepdf

    assert isinstance(stream, pikepdf.Stream)
    filters, parms = _filter_chain(stream)
    raw = stream.read_raw_bytes()
    budget.check_time()
    source: Iterable[bytes] = _pieces(raw)
    image_filter = ""
    for name, parm in zip(filters, parms, strict=False):
        if name in _IMAGE_FILTERS:
            image_filter = name
            break
        decoder = _DECODERS.get(name)
        if decoder is None:
            # Crypt or unknown: nobody can decode it, PDFium neither; nothing more to count.
            return
        source = decoder(source, parm)
    is_image = str(stream.get("/Subtype", "")) == "/Image"
    head = bytearray()
    counted = 0
    for piece in source:
        counted += len(piece)
        budget.spend(len(piece), unpacked=True)
        if (is_image or image_filter) and len(head) < _IMAGE_HEAD:
            head += piece[: _IMAGE_HEAD - len(head)]
    if is_image or image_filter:
        declared = _image_bytes(stream, bytes(head), image_filter, budget.max_pixels)
        if declared > counted:
            budget.spend(declared - counted, unpacked=False)


def _filter_chain(stream: object) -> tuple[list[str], list[object]]:
    import pikepdf

    assert isinstance(stream, pikepdf.Stream)
    filters = stream.get("/Filter")
    parms = stream.get("/DecodeParms")
    if filters is None:
        return [], []
    given = list(filters) if isinstance(filters, pikepdf.Array) else [filters]
    names = [_ABBREVIATIONS.get(str(name), str(name)) for name in given]
    if isinstance(parms, pikepdf.Array):
        parm_list: list[object] = list(parms)
    else:
        parm_list = [parms]
    parm_list += [None] * (len(names) - len(parm_list))
    return names, parm_list


def _pieces(raw: bytes) -> Iterator[bytes]:
    view = memoryview(raw)
    for start in range(0, len(view), _CHUNK):
        yield bytes(view[start : start + _CHUNK])


def _flate(source: Iterable[bytes], _parm: object) -> Iterator[bytes]:
    # A PNG or TIFF predictor only takes bytes away, so the unpredicted size is an upper bound.
    inflater = zlib.decompressobj()
    try:
        for piece in source:
            data = piece
            while data:
                out = inflater.decompress(data, _CHUNK)
                if out:
                    yield out
                data = inflater.unconsumed_tail
                if inflater.eof:
                    return
        rest = inflater.flush()
        if rest:
            yield rest
    except zlib.error:
        # Damaged data ends here for every decoder; what came out so far was counted.
        return


def _ascii_hex(source: Iterable[bytes], _parm: object) -> Iterator[bytes]:
    # Characters that are not hex digits are skipped, not taken as the end: counting more
    # than a lenient decoder would decode is safe, counting less is not.
    pending = b""
    for piece in source:
        end = piece.find(b">")
        digits = pending + _only(piece if end < 0 else piece[:end], _HEX_DIGITS)
        cut = len(digits) - len(digits) % 2
        pending = digits[cut:]
        yield binascii.unhexlify(digits[:cut])
        if end >= 0:
            break
    if pending:
        yield binascii.unhexlify(pending + b"0")


def _ascii85(source: Iterable[bytes], _parm: object) -> Iterator[bytes]:
    pending = b""
    started = False
    for piece in source:
        if not started:
            started = True
            piece = piece.lstrip(_WHITESPACE)
            if piece.startswith(b"<~"):
                piece = piece[2:]
        end = piece.find(b"~")
        # "z" stands for a whole group of zeros: "!!!!!" says the same in five characters.
        # Other characters outside the alphabet are skipped (see _ascii_hex).
        digits = pending + _only(piece if end < 0 else piece[:end], _A85_DIGITS).replace(
            b"z", b"!!!!!"
        )
        cut = len(digits) - len(digits) % 5
        pending = digits[cut:]
        try:
            yield base64.a85decode(digits[:cut])
        except ValueError:
            return
        if end >= 0:
            break
    if len(pending) > 1:
        try:
            yield base64.a85decode(pending)
        except ValueError:
            return


_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_A85_DIGITS = frozenset(range(ord("!"), ord("u") + 1)) | {ord("z")}
_DROP: dict[frozenset[int], bytes] = {}


def _only(data: bytes, allowed: frozenset[int]) -> bytes:
    """`data` without the bytes outside `allowed` (bytes.translate with a cached table)."""
    drop = _DROP.get(allowed)
    if drop is None:
        drop = _DROP[allowed] = bytes(value for value in range(256) if value not in allowed)
    return data.translate(None, drop)


def _run_length(source: Iterable[bytes], _parm: object) -> Iterator[bytes]:
    buffer = b""
    for piece in source:
        buffer += piece
        index = 0
        out = bytearray()
        while index < len(buffer):
            length = buffer[index]
            if length == 128:
                yield bytes(out)
                return
            if length < 128:
                if index + length + 2 > len(buffer):
                    break
                out += buffer[index + 1 : index + length + 2]
                index += length + 2
            else:
                if index + 1 >= len(buffer):
                    break
                out += buffer[index + 1 : index + 2] * (257 - length)
                index += 2
            if len(out) >= _CHUNK:
                yield bytes(out)
                out = bytearray()
        buffer = buffer[index:]
        if out:
            yield bytes(out)


def _lzw(source: Iterable[bytes], parm: object) -> Iterator[bytes]:
    early = _int_parm(parm, "/EarlyChange", 1)
    table: list[bytes] = [bytes([value]) for value in range(256)] + [b"", b""]
    width = 9
    previous: bytes | None = None
    bits = 0
    count = 0
    out = bytearray()
    for piece in source:
        for byte in piece:
            bits = (bits << 8) | byte
            count += 8
            while count >= width:
                count -= width
                code = (bits >> count) & ((1 << width) - 1)
                bits &= (1 << count) - 1
                if code == 256:
                    del table[258:]
                    width = 9
                    previous = None
                    continue
                if code == 257:
                    yield bytes(out)
                    return
                if code < len(table):
                    entry = table[code]
                    if previous is not None and len(table) < 4096:
                        table.append(previous + entry[:1])
                elif code == len(table) and previous is not None:
                    entry = previous + previous[:1]
                    table.append(entry)
                else:
                    yield bytes(out)
                    return
                out += entry
                previous = entry
                width = min(12, _lzw_width(len(table) + early))
                if len(out) >= _CHUNK:
                    yield bytes(out)
                    out = bytearray()
    if out:
        yield bytes(out)


def _lzw_width(position: int) -> int:
    if position < 512:
        return 9
    if position < 1024:
        return 10
    if position < 2048:
        return 11
    return 12


_DECODERS = {
    "/FlateDecode": _flate,
    "/ASCIIHexDecode": _ascii_hex,
    "/ASCII85Decode": _ascii85,
    "/RunLengthDecode": _run_length,
    "/LZWDecode": _lzw,
}


def _int_parm(parm: object, key: str, default: int) -> int:
    try:
        value = parm.get(key, default) if parm is not None else default  # type: ignore[attr-defined]
        return int(value)
    except (AttributeError, TypeError, ValueError):
        return default


def _image_bytes(stream: object, head: bytes, image_filter: str, max_pixels: int) -> int:
    """The bytes an image takes once decoded, by the larger of its declared size and the
    size its own header states; refuses an image beyond `max_pixels`."""
    import pikepdf

    assert isinstance(stream, pikepdf.Stream)
    width = _int_parm(stream, "/Width", 0)
    height = _int_parm(stream, "/Height", 0)
    components = _components(stream.get("/ColorSpace"))
    bits = _int_parm(stream, "/BitsPerComponent", 8)
    if image_filter == "/DCTDecode":
        found = _jpeg_size(head)
    elif image_filter == "/JPXDecode":
        found = _jpx_size(head)
    elif image_filter == "/CCITTFaxDecode":
        parms = _filter_chain(stream)[1]
        parm = parms[-1] if parms else None
        found = (_int_parm(parm, "/Columns", 1728), _int_parm(parm, "/Rows", 0))
        components, bits = 1, 1
    else:
        found = (0, 0)
    width, height = max(width, found[0]), max(height, found[1])
    if width < 0 or height < 0 or width * height > max_pixels:
        raise Refused(PIXELS)
    return width * height * components * max(1, min(bits, 16)) // 8


def _components(colour_space: object) -> int:
    import pikepdf

    if colour_space is None:
        return 4
    if isinstance(colour_space, pikepdf.Array) and len(colour_space) > 0:
        family = str(colour_space[0])
        if family == "/Indexed":
            return 1
        if family == "/ICCBased" and len(colour_space) > 1:
            return max(1, min(_int_parm(colour_space[1], "/N", 4), 32))
        if family in {"/DeviceN", "/NChannel"} and len(colour_space) > 1:
            names = colour_space[1]
            return max(1, min(len(names), 32)) if isinstance(names, pikepdf.Array) else 4
        return _COMPONENTS.get(family, 4)
    return _COMPONENTS.get(str(colour_space), 4)


def _jpeg_size(head: bytes) -> tuple[int, int]:
    """Width and height from the first SOF marker of a JPEG, or (0, 0)."""
    index = 2
    while index + 9 < len(head):
        if head[index] != 0xFF:
            index += 1
            continue
        marker = head[index + 1]
        if marker in {0xD8, 0x01} or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            index += 1 if marker == 0xFF else 2
            continue
        length = int.from_bytes(head[index + 2 : index + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in {0xC4, 0xC8, 0xCC}:
            height = int.from_bytes(head[index + 5 : index + 7], "big")
            width = int.from_bytes(head[index + 7 : index + 9], "big")
            return width, height
        index += 2 + length
    return 0, 0


def _jpx_size(head: bytes) -> tuple[int, int]:
    """Width and height from a JPEG 2000 image header box or codestream SIZ, or (0, 0)."""
    at = head.find(b"ihdr")
    if at >= 0 and at + 12 <= len(head):
        height = int.from_bytes(head[at + 4 : at + 8], "big")
        width = int.from_bytes(head[at + 8 : at + 12], "big")
        return width, height
    at = head.find(b"\xff\x51")
    if at >= 0 and at + 14 <= len(head):
        width = int.from_bytes(head[at + 6 : at + 10], "big")
        height = int.from_bytes(head[at + 10 : at + 14], "big")
        return width, height
    return 0, 0
