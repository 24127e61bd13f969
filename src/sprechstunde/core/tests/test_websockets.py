"""The one parser of websocket frames: size, then depth, then JSON, then an object."""

from __future__ import annotations

import pytest

from sprechstunde.core.websockets import FrameError, json_frame_parse


def parse(text, *, max_bytes=20_000, max_depth=3):
    return json_frame_parse(text, max_bytes=max_bytes, max_depth=max_depth)


def code_of(text, **limits):
    with pytest.raises(FrameError) as caught:
        parse(text, **limits)
    return caught.value.code


def test_an_object_within_the_limits_is_returned():
    assert parse('{"a": {"b": [1, "x"]}}') == {"a": {"b": [1, "x"]}}


def test_depth_counts_brackets_outside_strings_only():
    assert parse('{"a": "[[[[{{{{", "b": "\\"[[[["}') == {"a": "[[[[{{{{", "b": '"[[[['}
    assert code_of('{"a": {"b": [[]]}}') == "too_deep"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[" * 5000 + "]" * 5000, "too_deep"),
        ("{" * 5000, "too_deep"),
        ("x" * 20_001, "too_large"),
        ('{"a": "' + "€" * 7000 + '"}', "too_large"),  # 21,008 bytes in 7,008 characters
        ('{"a": "' + chr(0xD800) + '"}', "malformed"),
        ('{"a": 1', "malformed"),
        ("[1, 2]", "malformed"),
        ('"text"', "malformed"),
        ("null", "malformed"),
        ("", "malformed"),
        (b'{"a": 1}', "malformed"),
        (None, "malformed"),
    ],
)
def test_frames_outside_the_rules_are_refused_with_a_code(text, code):
    assert code_of(text) == code


def test_an_unterminated_string_full_of_escaped_quotes_is_scanned_once():
    # Quadratic scanning would take minutes here; the limit keeps the frame in range.
    text = '{"a": "' + '\\"' * 200_000
    assert code_of(text, max_bytes=1 << 20) == "malformed"
