"""A received PDF rebuilt from an allow-list: a new PDF that holds page content, images and
fonts, and nothing else.

Cleaning a PDF (deleting keys we know to be dangerous) misses what we did not think of: an
action reached through `/Next`, an outline, a form field, a catalog `/AF`. So we do the
opposite: we make a NEW file and copy into it, per page, only what a page needs to look the
same, each dictionary filtered by the allow-list of its type (a font, an image, a colour
space...). What is not on a list is never copied, whatever it is called or wherever it hides
(indirect references, object streams). The only annotations kept are links to web or mail
addresses (never followed automatically); their addresses are listed for staff.

Streams are copied still encoded (their filters checked against a list), so the rebuild
itself decodes nothing. Pure: no Django, no settings; callers pass limits as arguments.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pikepdf

from .conversion import ConvertedPdf

logger = logging.getLogger(__name__)


class PdfRebuildError(ValueError):
    """The PDF cannot be read or is too complex to rebuild."""


# Keys and name values that mean active content, embedded files or forms. The allow-lists
# below never copy them; resource names (`/F1`, `/Im0`, chosen by the file) that happen to
# spell one are dropped too, so that no such token appears anywhere in a rebuilt file.
FORBIDDEN_TOKENS = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/Launch",
        "/GoToE",
        "/GoToR",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/AA",
        "/OpenAction",
        "/Rendition",
        "/SubmitForm",
        "/ImportData",
        "/RichMedia",
        "/XFA",
        "/AcroForm",
        "/AF",
        "/Next",
    }
)

# What the staff note says was left out, by what the received file held (checked in order).
_LEFT_OUT = (
    ({"/JavaScript", "/JS"}, "JavaScript"),
    ({"/Launch"}, "Launch actions"),
    ({"/SubmitForm", "/ImportData", "/ResetForm"}, "form submission actions"),
    (
        {"/GoToR", "/GoToE", "/GoTo", "/Next", "/Named", "/Thread", "/Hide", "/SetOCGState"},
        "other actions",
    ),
    ({"/Rendition", "/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"}, "media and 3D content"),
    ({"/OpenAction", "/AA"}, "automatic actions"),
    ({"/EmbeddedFiles", "/EmbeddedFile", "/AF", "/FileAttachment"}, "embedded files"),
    ({"/AcroForm", "/Widget"}, "form fields"),
    ({"/XFA"}, "XFA forms"),
    ({"/Outlines"}, "bookmarks"),
    ({"/Metadata", "/PieceInfo"}, "XMP metadata"),
    ({"/OCProperties"}, "layers (all content is shown)"),
    ({"/StructTreeRoot"}, "tagged structure"),
)

_STREAM_FILTERS = frozenset(
    {
        "/FlateDecode",
        "/LZWDecode",
        "/ASCIIHexDecode",
        "/ASCII85Decode",
        "/RunLengthDecode",
        "/DCTDecode",
        "/JPXDecode",
        "/CCITTFaxDecode",
        "/JBIG2Decode",
    }
)
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_MAX_DEPTH = 40
_MAX_LINKS_LISTED = 10

Copier = Callable[[Any, "_Rebuild", int], Any]


class _Drop:
    """Returned by a copier for a value that is not copied."""


DROP = _Drop()


class _Rebuild:
    """One rebuild: the target file, the copies made so far (one per source object and
    type, which also ends reference cycles) and a budget of objects."""

    def __init__(self, target: pikepdf.Pdf, *, max_objects: int) -> None:
        self.target = target
        self.copies: dict[tuple[int, int, str], Any] = {}
        self.budget = max_objects
        self.links: list[str] = []
        self.dropped_annotations = False
        self.dropped_links = False

    def spend(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise PdfRebuildError("too many objects")


# --- scalar copiers ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A name as text; "" for anything else and for a name that is not valid UTF-8."""
    if not isinstance(value, pikepdf.Name):
        return ""
    try:
        return str(value)
    except UnicodeDecodeError:
        return ""


def _entry(source: Any, key: str) -> Any:
    """`source[key]` or None; a key pikepdf cannot hand back (not valid UTF-8) is skipped."""
    try:
        return source.get(key)
    except (TypeError, UnicodeError):
        return None


def _number(value: Any, _rebuild: _Rebuild, _depth: int) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal | float):
        return value
    return DROP


def _boolean(value: Any, _rebuild: _Rebuild, _depth: int) -> Any:
    return value if isinstance(value, bool) else DROP


def _name(value: Any, _rebuild: _Rebuild, _depth: int) -> Any:
    text = _text(value)
    if text and text not in FORBIDDEN_TOKENS:
        return pikepdf.Name(text)
    return DROP


def _name_in(*allowed: str) -> Copier:
    def copy(value: Any, _rebuild: _Rebuild, _depth: int) -> Any:
        text = _text(value)
        if text in allowed:
            return pikepdf.Name(text)
        return DROP

    return copy


def _string(value: Any, _rebuild: _Rebuild, _depth: int) -> Any:
    return pikepdf.String(bytes(value)) if isinstance(value, pikepdf.String) else DROP


def _data(value: Any, rebuild: _Rebuild, depth: int) -> Any:
    """Plain data: numbers, names, strings and arrays of them (widths, matrices, boxes)."""
    if depth > _MAX_DEPTH:
        return DROP
    if isinstance(value, pikepdf.Array):
        rebuild.spend()
        items = [_data(item, rebuild, depth + 1) for item in value]
        return pikepdf.Array([item for item in items if item is not DROP])
    for copier in (_number, _name, _string):
        copied = copier(value, rebuild, depth)
        if copied is not DROP:
            return copied
    return DROP


def _either(
    *,
    name: Copier | None = None,
    dict_: Copier | None = None,
    stream: Copier | None = None,
    array: Copier | None = None,
    number: Copier | None = None,
) -> Copier:
    """Dispatch on the type of the value (a value of a type not named is dropped)."""

    def copy(value: Any, rebuild: _Rebuild, depth: int) -> Any:
        if isinstance(value, pikepdf.Stream):
            chosen = stream
        elif isinstance(value, pikepdf.Dictionary):
            chosen = dict_
        elif isinstance(value, pikepdf.Array):
            chosen = array
        elif isinstance(value, pikepdf.Name):
            chosen = name
        elif isinstance(value, int | Decimal | float):
            chosen = number
        else:
            chosen = None
        return chosen(value, rebuild, depth) if chosen is not None else DROP

    return copy


def _array_of(item: Copier) -> Copier:
    def copy(value: Any, rebuild: _Rebuild, depth: int) -> Any:
        if not isinstance(value, pikepdf.Array) or depth > _MAX_DEPTH:
            return DROP
        rebuild.spend()
        items = [item(entry, rebuild, depth + 1) for entry in value]
        return pikepdf.Array([entry for entry in items if entry is not DROP])

    return copy


# --- dictionaries and streams -----------------------------------------------------------------


def _memo(value: Any, rebuild: _Rebuild, kind: str) -> tuple[tuple[int, int, str] | None, Any]:
    if value.is_indirect:
        key = (*value.objgen, kind)
        return key, rebuild.copies.get(key)
    return None, None


def _fill(
    source: Any, target: Any, schema: dict[str, Copier], rebuild: _Rebuild, depth: int
) -> None:
    for key, copier in schema.items():
        if key not in source:
            continue
        copied = copier(_entry(source, key), rebuild, depth + 1)
        if copied is not DROP:
            target[key] = copied


def _dict(kind: str, schema: dict[str, Copier]) -> Copier:
    """A dictionary with only the keys in `schema`, each value copied by its copier."""

    def copy(value: Any, rebuild: _Rebuild, depth: int) -> Any:
        if not isinstance(value, pikepdf.Dictionary) or depth > _MAX_DEPTH:
            return DROP
        key, done = _memo(value, rebuild, kind)
        if done is not None:
            return done
        rebuild.spend()
        target = pikepdf.Dictionary()
        if key is not None:
            target = rebuild.target.make_indirect(target)
            rebuild.copies[key] = target
        _fill(value, target, schema, rebuild, depth)
        return target

    return copy


def _filters(value: Any) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, pikepdf.Name):
        names = [_text(value)]
    elif isinstance(value, pikepdf.Array):
        names = [_text(item) for item in value]
    else:
        return None
    return names if all(name in _STREAM_FILTERS for name in names) else None


_DECODE_PARMS: dict[str, Copier] = dict.fromkeys(
    (
        "/Predictor",
        "/Colors",
        "/BitsPerComponent",
        "/Columns",
        "/EarlyChange",
        "/K",
        "/EndOfLine",
        "/EncodedByteAlign",
        "/Rows",
        "/EndOfBlock",
        "/BlackIs1",
        "/DamagedRowsBeforeError",
        "/ColorTransform",
    ),
    _number,
)


def _stream(kind: str, schema: dict[str, Copier]) -> Copier:
    """A stream: its data still encoded (only listed filters), the keys in `schema`."""

    def copy(value: Any, rebuild: _Rebuild, depth: int) -> Any:
        if not isinstance(value, pikepdf.Stream) or depth > _MAX_DEPTH:
            return DROP
        key, done = _memo(value, rebuild, kind)
        if done is not None:
            return done
        filters = _filters(value.get("/Filter"))
        if filters is None or "/F" in value:
            return DROP  # an unknown filter, or data in an external file
        rebuild.spend()
        target = rebuild.target.make_indirect(pikepdf.Stream(rebuild.target, b""))
        if key is not None:
            rebuild.copies[key] = target
        parms = value.get("/DecodeParms")
        parms_copy: Any = None
        if parms is not None and filters:
            parms_copy = _either(dict_=_decode_parms, array=_array_of(_decode_parms_or_null))(
                parms, rebuild, depth + 1
            )
            parms_copy = None if parms_copy is DROP else parms_copy
        try:
            raw = value.read_raw_bytes()
        except pikepdf.PdfError as error:
            raise PdfRebuildError("unreadable stream") from error
        names = [pikepdf.Name(name) for name in filters]
        target.write(
            raw,
            filter=(names[0] if len(names) == 1 else pikepdf.Array(names)) if names else None,
            decode_parms=parms_copy,
            type_check=False,
        )
        _fill(value, target, schema, rebuild, depth)
        return target

    return copy


def _decode_parms(value: Any, rebuild: _Rebuild, depth: int) -> Any:
    copied = _dict("decode-parms", {**_DECODE_PARMS, "/JBIG2Globals": _stream("jbig2-globals", {})})
    return copied(value, rebuild, depth)


def _decode_parms_or_null(value: Any, rebuild: _Rebuild, depth: int) -> Any:
    if value is None:
        return pikepdf.Dictionary()
    return _decode_parms(value, rebuild, depth)


def _map_of(item: Copier, kind: str) -> Copier:
    """A dictionary of names chosen by the file (`/F1`, `/Im0`) to values of one type."""

    def copy(value: Any, rebuild: _Rebuild, depth: int) -> Any:
        if not isinstance(value, pikepdf.Dictionary) or depth > _MAX_DEPTH:
            return DROP
        key, done = _memo(value, rebuild, kind)
        if done is not None:
            return done
        rebuild.spend()
        target = pikepdf.Dictionary()
        if key is not None:
            target = rebuild.target.make_indirect(target)
            rebuild.copies[key] = target
        for name in value.keys():  # noqa: SIM118 - typed as str, iteration is not
            if name in FORBIDDEN_TOKENS:
                continue
            copied = item(_entry(value, name), rebuild, depth + 1)
            if copied is not DROP:
                target[name] = copied
        return target

    return copy


def _lazy(get: Callable[[], Copier]) -> Copier:
    """A copier defined further down (the schemas refer to each other)."""

    def copy(value: Any, rebuild: _Rebuild, depth: int) -> Any:
        return get()(value, rebuild, depth)

    return copy


# --- the allow-lists by type ------------------------------------------------------------------

_CONTENT = _stream("content", {})
_FUNCTION_KEYS: dict[str, Copier] = dict.fromkeys(
    (
        "/FunctionType",
        "/Domain",
        "/Range",
        "/Size",
        "/BitsPerSample",
        "/Order",
        "/Encode",
        "/Decode",
        "/C0",
        "/C1",
        "/N",
        "/Bounds",
    ),
    _data,
)
_FUNCTION: Copier = _either(
    dict_=_dict("function", {**_FUNCTION_KEYS, "/Functions": _lazy(lambda: _FUNCTIONS)}),
    stream=_stream("function-stream", {**_FUNCTION_KEYS, "/Functions": _lazy(lambda: _FUNCTIONS)}),
)
_FUNCTIONS: Copier = _array_of(_FUNCTION)
_FUNCTION_OR_NAME = _either(dict_=_FUNCTION, stream=_FUNCTION, name=_name, array=_FUNCTIONS)

# Colour spaces: a name, or an array whose parts are names, numbers, strings (lookup tables),
# nested colour spaces, ICC profiles, CIE parameter dictionaries and tint functions.
_COLOUR_PART_KEYS: dict[str, Copier] = {
    **_FUNCTION_KEYS,
    "/Functions": _FUNCTIONS,
    "/Alternate": _lazy(lambda: _COLOUR_SPACE),
    "/WhitePoint": _data,
    "/BlackPoint": _data,
    "/Gamma": _data,
    "/Matrix": _data,
    "/Subtype": _name_in("/DeviceN", "/NChannel"),
    "/Colorants": _lazy(lambda: _map_of(_COLOUR_SPACE, "colorants")),
    "/Process": _lazy(
        lambda: _dict("process", {"/ColorSpace": _COLOUR_SPACE, "/Components": _data})
    ),
}


def _colour_part(value: Any, rebuild: _Rebuild, depth: int) -> Any:
    if isinstance(value, pikepdf.Stream):
        return _stream("colour-stream", _COLOUR_PART_KEYS)(value, rebuild, depth)
    if isinstance(value, pikepdf.Dictionary):
        return _dict("colour-dict", _COLOUR_PART_KEYS)(value, rebuild, depth)
    if isinstance(value, pikepdf.Array):
        return _array_of(_colour_part)(value, rebuild, depth)
    return _data(value, rebuild, depth)


_COLOUR_SPACE: Copier = _either(name=_name, array=_array_of(_colour_part))

_IMAGE_KEYS: dict[str, Copier] = {
    "/Type": _name_in("/XObject"),
    "/Subtype": _name_in("/Image"),
    "/Width": _number,
    "/Height": _number,
    "/ColorSpace": _COLOUR_SPACE,
    "/BitsPerComponent": _number,
    "/ImageMask": _boolean,
    "/Decode": _data,
    "/Interpolate": _boolean,
    "/Intent": _name,
    "/SMaskInData": _number,
    "/Matte": _data,
}
_IMAGE: Copier = _stream(
    "image",
    {
        **_IMAGE_KEYS,
        "/Mask": _either(stream=_lazy(lambda: _IMAGE), array=_data),
        "/SMask": _lazy(lambda: _IMAGE),
    },
)
_GROUP = _dict(
    "group",
    {
        "/Type": _name_in("/Group"),
        "/S": _name_in("/Transparency"),
        "/CS": _COLOUR_SPACE,
        "/I": _boolean,
        "/K": _boolean,
    },
)
_FORM: Copier = _stream(
    "form",
    {
        "/Type": _name_in("/XObject"),
        "/Subtype": _name_in("/Form"),
        "/FormType": _number,
        "/BBox": _data,
        "/Matrix": _data,
        "/Resources": _lazy(lambda: _RESOURCES),
        "/Group": _GROUP,
    },
)


def _xobject(value: Any, rebuild: _Rebuild, depth: int) -> Any:
    if not isinstance(value, pikepdf.Stream):
        return DROP
    subtype = _text(value.get("/Subtype"))
    if subtype == "/Image":
        return _IMAGE(value, rebuild, depth)
    if subtype == "/Form":
        return _FORM(value, rebuild, depth)
    return DROP  # PostScript XObjects and anything else


_SOFT_MASK = _dict(
    "soft-mask",
    {
        "/Type": _name_in("/Mask"),
        "/S": _name_in("/Alpha", "/Luminosity"),
        "/G": _FORM,
        "/BC": _data,
        "/TR": _FUNCTION_OR_NAME,
    },
)
_EXTGSTATE = _dict(
    "extgstate",
    {
        **dict.fromkeys(
            (
                "/LW",
                "/LC",
                "/LJ",
                "/ML",
                "/D",
                "/RI",
                "/OP",
                "/op",
                "/OPM",
                "/FL",
                "/SM",
                "/SA",
                "/BM",
                "/CA",
                "/ca",
                "/AIS",
                "/TK",
                "/UseBlackPtComp",
            ),
            _data,
        ),
        "/Type": _name_in("/ExtGState"),
        "/Font": _array_of(_either(dict_=_lazy(lambda: _FONT), number=_number)),
        "/BG": _FUNCTION_OR_NAME,
        "/BG2": _FUNCTION_OR_NAME,
        "/UCR": _FUNCTION_OR_NAME,
        "/UCR2": _FUNCTION_OR_NAME,
        "/TR": _FUNCTION_OR_NAME,
        "/TR2": _FUNCTION_OR_NAME,
        "/SMask": _either(name=_name_in("/None"), dict_=_SOFT_MASK),
    },
)
_SHADING_KEYS: dict[str, Copier] = {
    **dict.fromkeys(
        (
            "/ShadingType",
            "/Background",
            "/BBox",
            "/AntiAlias",
            "/Domain",
            "/Coords",
            "/Matrix",
            "/Extend",
            "/BitsPerCoordinate",
            "/BitsPerComponent",
            "/BitsPerFlag",
            "/Decode",
            "/VerticesPerRow",
        ),
        _data,
    ),
    "/ColorSpace": _COLOUR_SPACE,
    "/Function": _either(dict_=_FUNCTION, stream=_FUNCTION, array=_FUNCTIONS),
}
_SHADING = _either(
    dict_=_dict("shading", _SHADING_KEYS), stream=_stream("shading-stream", _SHADING_KEYS)
)
_PATTERN_KEYS: dict[str, Copier] = {
    **dict.fromkeys(
        ("/PatternType", "/PaintType", "/TilingType", "/BBox", "/XStep", "/YStep", "/Matrix"), _data
    ),
    "/Type": _name_in("/Pattern"),
    "/Resources": _lazy(lambda: _RESOURCES),
    "/Shading": _SHADING,
    "/ExtGState": _EXTGSTATE,
}
_PATTERN = _either(
    dict_=_dict("shading-pattern", _PATTERN_KEYS), stream=_stream("tiling-pattern", _PATTERN_KEYS)
)
# Marked-content property lists: no optional content (layers are not copied, so everything
# in the file is shown), only what names or labels a passage.
_PROPERTIES = _dict("properties", {"/Type": _name_in("/OCG", "/OCMD"), "/Name": _string})

# --- fonts ------------------------------------------------------------------------------------

_FONT_FILE = _stream(
    "font-file",
    {
        "/Length1": _number,
        "/Length2": _number,
        "/Length3": _number,
        "/Subtype": _name_in("/Type1C", "/CIDFontType0C", "/OpenType"),
    },
)
_FONT_DESCRIPTOR_KEYS: dict[str, Copier] = {
    **dict.fromkeys(
        (
            "/FontName",
            "/FontFamily",
            "/FontStretch",
            "/FontWeight",
            "/Flags",
            "/FontBBox",
            "/ItalicAngle",
            "/Ascent",
            "/Descent",
            "/Leading",
            "/CapHeight",
            "/XHeight",
            "/StemV",
            "/StemH",
            "/AvgWidth",
            "/MaxWidth",
            "/MissingWidth",
            "/CharSet",
            "/Lang",
        ),
        _data,
    ),
    "/Type": _name_in("/FontDescriptor"),
    "/FontFile": _FONT_FILE,
    "/FontFile2": _FONT_FILE,
    "/FontFile3": _FONT_FILE,
    "/CIDSet": _stream("cid-set", {}),
    "/Style": _dict("style", {"/Panose": _string}),
}
_FONT_DESCRIPTOR = _dict(
    "font-descriptor",
    {
        **_FONT_DESCRIPTOR_KEYS,
        "/FD": _map_of(_dict("font-descriptor-fd", _FONT_DESCRIPTOR_KEYS), "fd"),
    },
)
_CID_SYSTEM_INFO = _dict(
    "cid-system-info", {"/Registry": _string, "/Ordering": _string, "/Supplement": _number}
)
_CMAP: Copier = _stream(
    "cmap",
    {
        "/Type": _name_in("/CMap"),
        "/CMapName": _name,
        "/CIDSystemInfo": _CID_SYSTEM_INFO,
        "/WMode": _number,
        "/UseCMap": _either(name=_name, stream=_lazy(lambda: _CMAP)),
    },
)
_ENCODING = _either(
    name=_name,
    dict_=_dict(
        "encoding",
        {"/Type": _name_in("/Encoding"), "/BaseEncoding": _name, "/Differences": _data},
    ),
    stream=_CMAP,
)
_CID_FONT = _dict(
    "cid-font",
    {
        "/Type": _name_in("/Font"),
        "/Subtype": _name_in("/CIDFontType0", "/CIDFontType2"),
        "/BaseFont": _name,
        "/CIDSystemInfo": _CID_SYSTEM_INFO,
        "/FontDescriptor": _FONT_DESCRIPTOR,
        "/DW": _number,
        "/W": _data,
        "/DW2": _data,
        "/W2": _data,
        "/CIDToGIDMap": _either(name=_name_in("/Identity"), stream=_stream("cid-to-gid", {})),
    },
)
_FONT: Copier = _dict(
    "font",
    {
        "/Type": _name_in("/Font"),
        "/Subtype": _name_in("/Type0", "/Type1", "/MMType1", "/Type3", "/TrueType"),
        "/BaseFont": _name,
        "/Name": _name,
        "/FirstChar": _number,
        "/LastChar": _number,
        "/Widths": _data,
        "/FontDescriptor": _FONT_DESCRIPTOR,
        "/Encoding": _ENCODING,
        "/ToUnicode": _stream("to-unicode", {}),
        "/DescendantFonts": _array_of(_CID_FONT),
        # Type 3 fonts draw their glyphs with content streams of their own.
        "/FontBBox": _data,
        "/FontMatrix": _data,
        "/CharProcs": _map_of(_CONTENT, "char-procs"),
        "/Resources": _lazy(lambda: _RESOURCES),
    },
)

_RESOURCES: Copier = _dict(
    "resources",
    {
        "/Font": _map_of(_FONT, "fonts"),
        "/XObject": _map_of(_xobject, "xobjects"),
        "/ExtGState": _map_of(_EXTGSTATE, "extgstates"),
        "/ColorSpace": _map_of(_COLOUR_SPACE, "colour-spaces"),
        "/Pattern": _map_of(_PATTERN, "patterns"),
        "/Shading": _map_of(_SHADING, "shadings"),
        "/ProcSet": _data,
        "/Properties": _map_of(_PROPERTIES, "property-lists"),
    },
)

# --- pages and links --------------------------------------------------------------------------


def _uri(value: Any, rebuild: _Rebuild, _depth: int) -> Any:
    if not isinstance(value, pikepdf.String):
        return DROP
    raw = bytes(value)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return DROP
    if not text.lower().startswith(_LINK_SCHEMES) or any(ord(c) < 33 for c in text):
        return DROP
    if text not in rebuild.links:
        rebuild.links.append(text)
    return pikepdf.String(raw)


_URI_ACTION = _dict(
    "uri-action", {"/Type": _name_in("/Action"), "/S": _name_in("/URI"), "/URI": _uri}
)
_LINK = _dict(
    "link",
    {
        "/Type": _name_in("/Annot"),
        "/Subtype": _name_in("/Link"),
        "/Rect": _data,
        "/Border": _data,
        "/C": _data,
        "/QuadPoints": _data,
        "/H": _name_in("/N", "/I", "/O", "/P"),
        "/A": _URI_ACTION,
    },
)


def _annotation(value: Any, rebuild: _Rebuild, depth: int) -> Any:
    """Only a link whose action is a URI and nothing else (no `/Next`, no destination)."""
    if not isinstance(value, pikepdf.Dictionary):
        return DROP
    action = value.get("/A")
    is_plain_link = (
        _text(value.get("/Subtype")) == "/Link"
        and isinstance(action, pikepdf.Dictionary)
        and _text(action.get("/S")) == "/URI"
        and set(action.keys()) <= {"/Type", "/S", "/URI"}
        and "/AA" not in value
    )
    if not is_plain_link:
        if _text(value.get("/Subtype")) == "/Link":
            rebuild.dropped_links = True
        elif _text(value.get("/Subtype")) != "/Popup":
            rebuild.dropped_annotations = True
        return DROP
    copied = _LINK(value, rebuild, depth)
    return copied if copied is not DROP and "/A" in copied and "/URI" in copied.A else DROP


_PAGE_KEYS: dict[str, Copier] = {
    "/MediaBox": _data,
    "/CropBox": _data,
    "/Rotate": _number,
    "/UserUnit": _number,
    "/Contents": _either(stream=_CONTENT, array=_array_of(_CONTENT)),
    "/Resources": _RESOURCES,
    "/Group": _GROUP,
    "/Annots": _array_of(_annotation),
}
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


def _inherited(page: pikepdf.Dictionary, key: str) -> Any:
    """A page attribute, looked up through its `/Parent` chain as the format allows."""
    node: Any = page
    for _level in range(_MAX_DEPTH):
        if not isinstance(node, pikepdf.Dictionary):
            return None
        if key in node:
            return node.get(key)
        node = node.get("/Parent")
    return None


def _copy_page(page: pikepdf.Dictionary, rebuild: _Rebuild) -> pikepdf.Dictionary:
    target = pikepdf.Dictionary(Type=pikepdf.Name.Page)
    for key, copier in _PAGE_KEYS.items():
        value = _inherited(page, key) if key in _INHERITED else page.get(key)
        if value is None:
            continue
        copied = copier(value, rebuild, 1)
        if copied is not DROP:
            target[key] = copied
    if "/MediaBox" not in target:
        target.MediaBox = pikepdf.Array([0, 0, 612, 792])  # the format's default, US Letter
    if "/Annots" in target and not len(target.Annots):
        del target.Annots
    return rebuild.target.make_indirect(target)


# --- what the received file held, for the staff note -------------------------------------------


def _tokens_of(pdf: pikepdf.Pdf, *, limit: int) -> set[str]:
    """Every key and name value reachable from the trailer (resolving references and object
    streams), up to `limit` objects: what the note about left-out parts is made from."""
    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [pdf.trailer]
    visited = 0
    while stack and visited < limit:
        item = stack.pop()
        visited += 1
        if (
            isinstance(item, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)
            and item.is_indirect
        ):
            if item.objgen in seen:
                continue
            seen.add(item.objgen)
        if isinstance(item, pikepdf.Dictionary | pikepdf.Stream):
            for key in item.keys():  # noqa: SIM118 - typed as str, iteration is not
                found.add(key)
                stack.append(_entry(item, key))
        elif isinstance(item, pikepdf.Array):
            stack.extend(item)
        elif isinstance(item, pikepdf.Name):
            found.add(_text(item))
    return found


def _left_out(source_tokens: set[str], rebuild: _Rebuild) -> list[str]:
    notes = [note for tokens, note in _LEFT_OUT if tokens & source_tokens]
    if rebuild.dropped_links:
        notes.append("links that do more than open a web or mail address")
    if rebuild.dropped_annotations:
        notes.append("annotations and comments")
    return notes


def _metadata(pdf: pikepdf.Pdf, links: list[str]) -> dict[str, str]:
    """The document information for staff (text only, shortened) and the link addresses."""
    info: dict[str, str] = {}
    try:
        docinfo = pdf.docinfo
    except (pikepdf.PdfError, ValueError):
        docinfo = pikepdf.Dictionary()
    for key in ("/Title", "/Author", "/Creator", "/Producer", "/CreationDate", "/ModDate"):
        value = docinfo.get(key)
        if value is None:
            continue
        try:
            text = str(value)
        except UnicodeDecodeError:  # a name, or a string marked UTF-8, that is not (fuzzing)
            continue
        info[key.lstrip("/").lower()] = text[:200]
    info["pdf_version"] = str(pdf.pdf_version)
    if links:
        shown = links[:_MAX_LINKS_LISTED]
        more = len(links) - len(shown)
        info["links"] = (" · ".join(shown) + (f" (+{more})" if more > 0 else ""))[:1000]
    return info


def _flatten_appearances(source: pikepdf.Pdf) -> None:
    """What form fields and comments look like on screen becomes page content (a form XObject
    per annotation, copied through the allow-list like any other): a filled-in form keeps its
    values visible although its fields are not copied. Links stay annotations."""
    try:
        source.generate_appearance_streams()
        source.flatten_annotations(mode="screen")
    except pikepdf.PdfError:
        logger.info("Annotation appearances could not be flattened; they are left out")


def rebuild_pdf(data: bytes, *, max_objects: int = 200_000) -> ConvertedPdf:
    """A new PDF with the pages of `data` (content, images, fonts and plain web links), what
    was left out (for the staff note) and the document information for staff.

    Raises PdfRebuildError when the file cannot be read, has no pages or holds more than
    `max_objects` objects worth copying."""
    try:
        source = pikepdf.open(io.BytesIO(data))
    except (pikepdf.PdfError, ValueError) as error:
        raise PdfRebuildError("unreadable pdf") from error
    with source:
        target = pikepdf.Pdf.new()
        rebuild = _Rebuild(target, max_objects=max_objects)
        out = io.BytesIO()
        try:
            # What the file held, before flattening turns form fields into page content.
            source_tokens = _tokens_of(source, limit=max_objects)
            _flatten_appearances(source)
            pages = list(source.pages)
            if not pages:
                raise PdfRebuildError("no pages")
            for page in pages:
                target.pages.append(pikepdf.Page(_copy_page(page.obj, rebuild)))
            metadata = _metadata(source, rebuild.links)
            version = source.pdf_version
            target.save(
                out,
                deterministic_id=True,
                fix_metadata_version=False,
                min_version=version if version > "1.3" else "",
                compress_streams=True,
                # Streams stay as they came (encoded): the rebuild decodes nothing.
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
            )
        except (pikepdf.PdfError, RecursionError) as error:
            raise PdfRebuildError("unreadable pdf") from error
        page_count = len(target.pages)
    return ConvertedPdf(
        data=out.getvalue(),
        pages=page_count,
        removed=_left_out(source_tokens, rebuild),
        metadata=metadata,
    )
