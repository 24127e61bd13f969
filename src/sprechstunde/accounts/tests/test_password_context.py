"""Passwords built around the service's own words are refused (OWASP ASVS 6.1.2, 6.2.11)."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings

from sprechstunde.accounts.password_validation import CONTEXT_WORDS, ContextWordsValidator


@pytest.mark.parametrize(
    "password",
    [
        "MeinJobcenter2026!",
        "Spr3chstund3-lang-genug",
        "b.u.e.r.g.e.r.g.e.l.d-99",
        "fallmanagerin-2026-x",
    ],
)
def test_a_password_with_a_context_word_is_refused(password):
    with pytest.raises(ValidationError) as refused:
        validate_password(password)

    assert "password_context_word" in [error.code for error in refused.value.error_list]


@override_settings(JOBCENTER_NAME="Jobcenter Musterstadt-Land")
def test_the_jobcenters_own_name_counts_as_a_context_word():
    with pytest.raises(ValidationError):
        ContextWordsValidator().validate("musterstadt-ist-schoen")

    ContextWordsValidator().validate("kastanienbaum-am-fluss")


def test_an_ordinary_long_password_is_accepted():
    validate_password("kastanienbaum am fluss im herbst")


def test_the_documented_list_is_lower_case_and_long_enough():
    assert all(word == word.lower() and len(word) >= 4 for word in CONTEXT_WORDS)
    assert ContextWordsValidator().get_help_text()
