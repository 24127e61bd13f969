"""The retention rules as the data-protection officer's papers describe them (compliance app,
setting COMPLIANCE_RETENTION_SOURCE): one row per period, in English, from the same rules
the daily job applies, so the papers cannot drift from what is deleted."""

from __future__ import annotations

from typing import Any

from django.utils import translation

from .rules import RULES


def retention_rules_for_papers(settings_obj: Any) -> list[dict[str, str]]:
    """Kind, period in days, start event, legal source and setting, for every rule and for
    every extra period one of its sources has (documents never handed over)."""
    rows: list[dict[str, str]] = []
    with translation.override("en"):
        for rule in RULES:
            settings_seen = [rule.setting]
            for source in rule.sources:
                if source.setting and source.setting not in settings_seen:
                    settings_seen.append(source.setting)
            for name in settings_seen:
                starts = rule.start_event
                for source in rule.sources:
                    if source.setting == name and source.start_event is not None:
                        starts = source.start_event
                rows.append(
                    {
                        "kind": str(rule.kind.label),
                        "period": f"{int(getattr(settings_obj, name))} days",
                        "starts": str(starts),
                        "legal_basis": str(rule.legal_source),
                        "setting": name,
                    }
                )
    return rows
