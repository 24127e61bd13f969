"""The PDF staff open is made from the received one: for any PDF, well-formed with odd
structures (random dictionaries, arrays, names, strings and streams in the catalog, pages
and annotations, the usual active-content keys among them) or damaged bytes, the conversion
that passed the upload checks gives a readable PDF or refuses the file; no other exception
stops the processing task.
"""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sprechstunde.documents import file_checks, pdf_rebuild
from sprechstunde.documents.conversion import ConvertedPdf
from sprechstunde.documents.file_checks import FileRefused
from sprechstunde.documents.tests.pdf_corpus import active_content_tokens

from .profiles import budget
from .seeds import VALID_PDF, mutated

pytestmark = pytest.mark.fuzz

# The conversion under test: the allow-list rebuild (bytes in, ConvertedPdf, or a refusal:
# FileRefused from the checks, PdfRebuildError from the rebuild).
_convert = pdf_rebuild.rebuild_pdf
_REFUSALS = (FileRefused, pdf_rebuild.PdfRebuildError)

# Names that the conversion looks at, so that random structures hit its branches.
_INTERESTING_NAMES = [
    "/JS",
    "/JavaScript",
    "/S",
    "/A",
    "/AA",
    "/OpenAction",
    "/Launch",
    "/GoTo",
    "/GoToE",
    "/GoToR",
    "/URI",
    "/Next",
    "/Names",
    "/EmbeddedFiles",
    "/EmbeddedFile",
    "/AF",
    "/FS",
    "/F",
    "/Subtype",
    "/FileAttachment",
    "/Link",
    "/Widget",
    "/Annots",
    "/AcroForm",
    "/XFA",
    "/Fields",
    "/Rendition",
    "/SubmitForm",
    "/ImportData",
    "/ResetForm",
    "/RichMedia",
    "/Outlines",
    "/First",
    "/Dest",
    "/Kids",
    "/Type",
    "/Filter",
    "/FlateDecode",
    "/ASCIIHexDecode",
    "/Title",
    "/Author",
    "/Producer",
    "/Contents",
    "/Resources",
    "/MediaBox",
]

# pikepdf writes only UTF-8 names; this one is turned into the bytes /#80#FE after saving,
# because a PDF name may be any bytes and str() of such a name raises.
_NOT_UTF8 = "/Zq9NotUtf8"

_names = st.one_of(
    st.sampled_from([*_INTERESTING_NAMES, _NOT_UTF8]),
    st.text(st.characters(codec="ascii", exclude_characters="/\x00"), min_size=1, max_size=12).map(
        lambda text: "/" + "".join(ch if ch.isalnum() else "_" for ch in text)
    ),
)

_scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**31), 2**31 - 1),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=40).map(pikepdf.String),
    st.binary(max_size=40).map(pikepdf.String),
    _names.map(pikepdf.Name),
)


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.lists(children, max_size=4).map(pikepdf.Array),
        st.dictionaries(_names, children, max_size=5).map(
            lambda entries: pikepdf.Dictionary(dict(entries))
        ),
    )


_values = st.recursive(_scalars, _extend, max_leaves=12)

_ACTION_TYPES = ["/JavaScript", "/Launch", "/GoTo", "/GoToE", "/GoToR", "/URI", "/Rendition"]
_ACTION_TYPES += ["/SubmitForm", "/ImportData", "/ResetForm", "/Named", _NOT_UTF8]


def _action(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.builds(
        lambda kind, extra, following: pikepdf.Dictionary(
            {"/S": kind, **dict(extra), **({"/Next": following} if following else {})}
        ),
        # Mostly a name, as it should be; sometimes anything else (a dictionary cannot be
        # hashed, a string is no name).
        st.sampled_from(_ACTION_TYPES).map(pikepdf.Name) | _values,
        st.dictionaries(st.sampled_from(["/JS", "/F", "/URI", "/D", "/AN"]), _scalars, max_size=2),
        st.none() | children | st.lists(children, max_size=2).map(pikepdf.Array),
    )


# Actions, chains of actions (/Next) and the values around them.
_actions = st.recursive(_scalars, _action, max_leaves=4)


@st.composite
def structured_pdfs(draw: st.DrawFn) -> bytes:
    """A PDF that qpdf writes without complaint, full of random structure where a reader
    (or our conversion) looks for active content."""
    pdf = pikepdf.new()
    for _ in range(draw(st.integers(1, 3))):
        pdf.add_blank_page(page_size=(200, 200))

    def value() -> object:
        drawn = draw(st.one_of(_values, _actions))
        if draw(st.integers(0, 4)) == 0:
            stream = pikepdf.Stream(pdf, draw(st.binary(max_size=200)))
            if isinstance(drawn, pikepdf.Dictionary):
                for key, item in drawn.items():
                    stream[key] = item
            return pdf.make_indirect(stream)
        if isinstance(drawn, (pikepdf.Dictionary, pikepdf.Array)) and draw(st.booleans()):
            return pdf.make_indirect(drawn)
        return drawn

    for _ in range(draw(st.integers(0, 6))):
        pdf.Root[draw(_names)] = value()
    for key in ("/OpenAction", "/AA"):
        if draw(st.booleans()):
            pdf.Root[key] = (
                draw(_actions)
                if key == "/OpenAction"
                else pikepdf.Dictionary({"/O": draw(_actions)})
            )
    for key in draw(st.lists(st.sampled_from(["/Title", "/Author", "/Producer"]), max_size=3)):
        pdf.docinfo[key] = value()
    for page in pdf.pages:
        for _ in range(draw(st.integers(0, 3))):
            key = draw(_names)
            if key not in {"/Type", "/Parent", "/Kids"}:
                page.obj[key] = value()
        if draw(st.booleans()):
            page.obj["/Annots"] = pikepdf.Array(
                [value() for _ in range(draw(st.integers(0, 4)))]
                + [
                    pikepdf.Dictionary(
                        Type=pikepdf.Name.Annot,
                        Subtype=pikepdf.Name(draw(st.sampled_from(["/Link", "/FileAttachment"]))),
                        A=draw(_actions),
                        AA=pikepdf.Dictionary({"/E": draw(_actions)}),
                        FS=value(),
                    )
                ]
            )
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue().replace(_NOT_UTF8.encode(), b"/#80#FE")


def _assert_converted_or_refused(data: bytes, folder: Path) -> None:
    """As in the pipeline: the upload check first (a file it refuses is never converted),
    then the conversion, which may still refuse."""
    path = folder / "upload.pdf"
    path.write_bytes(data)
    try:
        file_checks.check_file(
            path
        )  # the header checks; the budget is fuzzed in test_upload_checks
        converted = _convert(data)
    except FileRefused as error:
        assert str(error.message).strip()
        return
    except pdf_rebuild.PdfRebuildError:
        return  # the pipeline's child reports it as a damaged file
    assert isinstance(converted, ConvertedPdf)
    with pikepdf.open(io.BytesIO(converted.data)) as result:
        assert len(result.pages) == converted.pages >= 1
    # Whatever went in, nothing active comes out (the structural walk of issue 11).
    assert active_content_tokens(converted.data) == set()
    assert all(isinstance(item, str) for item in converted.removed)
    assert all(isinstance(value, str) for value in converted.metadata.values())


@budget(ci=100)
@given(data=structured_pdfs())
def test_any_pdf_structure_is_converted_or_refused(data, tmp_path):
    _assert_converted_or_refused(data, tmp_path)


@budget(ci=100)
@given(
    data=st.one_of(
        mutated(VALID_PDF),
        structured_pdfs().flatmap(mutated),
        st.binary(max_size=512).map(lambda rest: b"%PDF-1.7\n" + rest),
    )
)
def test_damaged_pdf_bytes_are_converted_or_refused(data, tmp_path):
    _assert_converted_or_refused(data, tmp_path)


@pytest.mark.parametrize(
    "catalog_entry",
    [
        b"/OpenAction<</S/#80#FE/JS(x)>>",
        b"/AA<</O<</S/#80>>>>",
        b"/Names<</#80 1>>",
        b"/OpenAction<</S<</JS(x)>>>>",  # an /S that is no name (and cannot be hashed)
    ],
)
@pytest.mark.parametrize("info", [b"<</Title/#80#FE>>", b"<</Author(\xef\xbb\xbf\xff)>>"])
def test_names_and_text_that_are_not_utf8_are_converted(catalog_entry, info):
    """Found by the fuzzer: str() of such a name (an action's /S, an annotation's /Subtype, a
    /Title) or text string raised UnicodeDecodeError inside the conversion."""
    data = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R" + catalog_entry + b">>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/MediaBox[0 0 10 10]/Parent 2 0 R"
        b"/Annots[<</Subtype/#81/A<</S/#80>>>>]>>endobj\n"
        b"4 0 obj" + info + b"endobj\ntrailer<</Root 1 0 R/Info 4 0 R>>\n%%EOF\n"
    )
    converted = _convert(data)
    assert converted.pages == 1
