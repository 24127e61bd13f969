"""Sample run by test_skip_policy.py in a child pytest: one pass, one skip, one xfail."""

import pytest


def test_passes():
    assert True


@pytest.mark.skip(reason="sample skip")
def test_is_skipped():
    raise AssertionError("never runs")


@pytest.mark.xfail(reason="sample expected failure", strict=True)
def test_fails_as_expected():
    raise AssertionError("expected")
