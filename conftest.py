"""Fixtures shared by every test: users named by role. Also the CI rule: no skips."""

import os

import pytest

from sprechstunde.accounts.factories import (
    AdminFactory,
    CaseManagerFactory,
    DPOFactory,
    TeamFactory,
    TeamLeadFactory,
)

# `seal_pki`: a loopback PKI (CA, OCSP, CRL, TSA, CSC) with the seal settings pointed at it.
# `clamd_daemon`, `documents_configured`: a real clamd and the documents settings for one test.
pytest_plugins = [
    "sprechstunde.signatures.testing",
    "sprechstunde.documents.testing",
    "sprechstunde.documents.object_storage_testing",
]


@pytest.fixture(autouse=True)
def _english_ui(request):
    """App tests assert on the English msgids; the German UI is tested where marked german_ui.

    Browser tests (tests/browser) run the real default: German.
    """
    if request.node.get_closest_marker("german_ui") or "tests/browser" in str(request.path):
        yield
        return
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def team(db):
    return TeamFactory(name="Team Nord")


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Team Süd")


@pytest.fixture
def case_manager(team):
    return CaseManagerFactory(team=team, email="fm@jobcenter.example")


@pytest.fixture
def other_case_manager(other_team):
    return CaseManagerFactory(team=other_team, email="fm2@jobcenter.example")


@pytest.fixture
def team_lead(team):
    return TeamLeadFactory(team=team, email="tl@jobcenter.example")


@pytest.fixture
def admin_user(db):
    return AdminFactory(email="admin@jobcenter.example")


@pytest.fixture
def dpo(db):
    return DPOFactory(email="dsb@jobcenter.example")


# --- Under CI=true nothing may be skipped: a skip (test or whole module) counts as a failure.


def _skips_forbidden() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _turn_skip_into_failure(report):
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"Skipped under CI=true, where skipping is not allowed: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # An expected failure (xfail) is reported as "skipped" too; it is not a skip.
    if report.skipped and not hasattr(report, "wasxfail") and _skips_forbidden():
        _turn_skip_into_failure(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    if report.skipped and _skips_forbidden():
        _turn_skip_into_failure(report)
    return report
