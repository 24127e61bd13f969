"""Upload type checks on arbitrary bytes and names: a file is either accepted with a type we
accept, or refused with a message for the sender; no other exception ever reaches the view.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sprechstunde.documents import file_checks
from sprechstunde.documents.file_checks import CheckedFile, FileRefused

from .profiles import budget
from .seeds import VALID, any_file_bytes

pytestmark = pytest.mark.fuzz


def _assert_refusal_is_explained(error: FileRefused) -> None:
    assert str(error.message).strip()


@budget(ci=100)
@given(data=any_file_bytes())
def test_any_bytes_are_accepted_as_a_known_type_or_refused_with_a_message(data, tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(data)
    try:
        # The whole upload check: the header checks, then the contents in the limited child.
        [checked] = file_checks.check_batch([path])
    except FileRefused as error:
        _assert_refusal_is_explained(error)
        return
    assert isinstance(checked, CheckedFile)
    assert checked.content_type in file_checks.ACCEPTED_TYPES
    assert checked.content_type == file_checks.sniff(data[:64])
    assert checked.size == len(data)
    assert 1 <= checked.pages <= file_checks.limits()["max_pages"]


@budget(ci=100)
@given(batch=st.lists(any_file_bytes(), max_size=4))
def test_any_batch_is_accepted_or_refused_with_a_message(batch, tmp_path):
    paths = []
    for number, data in enumerate(batch):
        path = tmp_path / f"part-{number}"
        path.write_bytes(data)
        paths.append(path)
    try:
        checked = file_checks.check_batch(paths)
    except FileRefused as error:
        _assert_refusal_is_explained(error)
        return
    assert len(checked) == len(batch) >= 1
    if len(checked) > 1:
        assert all(item.content_type in file_checks.IMAGE_TYPES for item in checked)


def test_the_seeds_themselves_are_accepted(tmp_path):
    """The mutations start from files the checks accept; otherwise they would test little."""
    for name, data in VALID.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert file_checks.check_file(path).content_type in file_checks.ACCEPTED_TYPES


_NAME_CHARACTERS = st.one_of(
    st.characters(codec=None),
    st.sampled_from(list('/\\.:<>|?*"\x00\n\r\t \u202e\u200b\u2028\u2029\ufeff\u0301')),
)


@given(
    name=st.one_of(
        st.text(_NAME_CHARACTERS, max_size=300),
        st.builds(
            lambda stem, ext: f"{stem}.{ext}",
            st.text(_NAME_CHARACTERS, max_size=150),
            st.text(_NAME_CHARACTERS, max_size=300),
        ),
        # Long names and long "extensions" are rare in plain text strategies; ask for them.
        st.builds(
            lambda stem, ext: f"{stem}.{ext}",
            st.text(_NAME_CHARACTERS, min_size=90, max_size=200),
            st.text(_NAME_CHARACTERS, min_size=1, max_size=300),
        ),
    ),
    content_type=st.sampled_from(["", *sorted(file_checks.ACCEPTED_TYPES), "text/html"]),
)
def test_any_name_becomes_a_short_plain_display_name(name, content_type):
    shown = file_checks.safe_display_name(name, content_type=content_type)
    assert shown
    assert len(shown) <= 120
    assert "/" not in shown and "\\" not in shown
    assert not shown.startswith(".")
    assert not any(
        unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"} for ch in shown
    )
    assert not set(shown) & set('<>:"|?*')
    wanted = file_checks.EXTENSIONS.get(content_type)
    if wanted:
        assert shown.endswith(wanted)


def _pdf_with_stream_dictionary(entries: bytes) -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/MediaBox[0 0 10 10]/Parent 2 0 R>>endobj\n"
        b"4 0 obj<</Length 0" + entries + b">>stream\n\nendstream endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def test_a_filter_name_that_is_not_utf8_does_not_break_the_check(tmp_path):
    """Found by the fuzzer: /Filter /#80 made the inflate check raise UnicodeDecodeError. A
    filter nobody knows cannot be decoded under the budget: the file is refused as damaged,
    with the message, and never ends in a server error."""
    path = tmp_path / "odd-filter.pdf"
    for entries in (b"/Filter/\x80", b"/Filter[/\x80 /FlateDecode]"):
        path.write_bytes(_pdf_with_stream_dictionary(entries))
        with pytest.raises(FileRefused) as caught:
            file_checks.check_batch([path])
        assert str(caught.value.message) == "This PDF could not be read. It may be damaged."


def test_a_long_extension_does_not_make_the_display_name_long():
    """Found by the fuzzer: without a known type, "a." + 300 letters stayed 302 long."""
    assert file_checks.safe_display_name("a." + "x" * 300) == "a." + "x" * 19
    assert file_checks.safe_display_name("scan.pdf") == "scan.pdf"


def test_a_page_tree_qpdf_cannot_flatten_is_refused(tmp_path):
    """Found by the fuzzer (make fuzz): qpdf raised QpdfRuntimeError, a RuntimeError, while
    opening this PDF, and the upload ended in a server error."""
    path = tmp_path / "broken-tree.pdf"
    path.write_bytes(
        b"%PDF-\n1\x000\x00obj<</Pages\x002\x000\x00R/Type/Catalog>>\n2\x000\x00obj<</Kids"
        b"[3\x000\x00R\x00\x01]>>\n3\x000\x00obj\x00<<6/MediaBox[0\x000\x002\x003]>>\x01\ne"
    )
    with pytest.raises(FileRefused) as caught:
        file_checks.check_batch([path])
    assert str(caught.value.message) == "This PDF could not be read. It may be damaged."
