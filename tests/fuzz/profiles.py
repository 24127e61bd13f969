"""Hypothesis profiles for the fuzz tests (tests/fuzz).

"ci" (the default in every test run): a few hundred cases per property, derandomised so
that a CI failure is the same failure on a developer's machine, no deadline because the
machine is shared and noisy. "fuzz" (`make fuzz`): 10,000 cases per property with fresh
randomness on every run, failures kept in .hypothesis/ so the next run tries them first.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI = "ci"
FUZZ = "fuzz"
FUZZ_EXAMPLES = 10_000

_QUIET_CHECKS = [
    # Strategies that build PDFs or open sockets are slow by nature; data size is the point.
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    # A property that reuses one live websocket for every example does so on purpose.
    HealthCheck.function_scoped_fixture,
]

settings.register_profile(
    CI,
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=_QUIET_CHECKS,
)
settings.register_profile(
    FUZZ,
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    print_blob=True,
    suppress_health_check=_QUIET_CHECKS,
)


def active_profile() -> str:
    return os.environ.get("HYPOTHESIS_PROFILE", CI)


def budget(*, ci: int) -> settings:
    """Settings for one property: `ci` cases in the CI profile (for properties that are
    expensive per case), the profile's own count (10,000) under `make fuzz`."""
    if active_profile() == CI:
        return settings(max_examples=ci)
    return settings()
