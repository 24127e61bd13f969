"""Sample run by test_skip_policy.py in a child pytest: the whole module skips itself."""

import pytest

pytest.skip("sample module skip", allow_module_level=True)


def test_never_collected():
    raise AssertionError("never runs")
