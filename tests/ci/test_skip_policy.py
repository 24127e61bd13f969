"""The CI rule in the root conftest.py: under CI=true a skip is a failure, elsewhere a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = Path(__file__).resolve().parent / "samples"


def run_child_pytest(sample: str, *, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rA",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--rootdir",
            str(REPO),
            str(SAMPLES / sample),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_skip_is_only_a_skip_outside_ci():
    result = run_child_pytest("sample_skips.py", ci=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped, 1 xfailed" in result.stdout


@pytest.mark.parametrize("ci_value", ["true", "1"])
def test_skip_fails_the_run_under_ci(ci_value):
    result = run_child_pytest("sample_skips.py", ci=ci_value)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Skipped under CI=true" in result.stdout
    assert "sample skip" in result.stdout
    # The passing test still passes and the xfail stays an xfail, not a failure.
    assert "1 passed" in result.stdout
    assert "1 xfailed" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]


def test_module_level_skip_fails_the_run_under_ci():
    outside = run_child_pytest("sample_module_skip.py", ci=None)
    # Exit code 5: pytest ran no test (the only module skipped itself).
    assert outside.returncode == 5, outside.stdout + outside.stderr
    assert "1 skipped" in outside.stdout

    under_ci = run_child_pytest("sample_module_skip.py", ci="true")
    assert under_ci.returncode not in (0, 5), under_ci.stdout + under_ci.stderr
    assert "Skipped under CI=true" in under_ci.stdout
    assert "sample module skip" in under_ci.stdout
