"""Start-up checks: what a decision must name before the app may issue one (issue 15, item 4).

Decisions are enabled once a seal key source is configured (SEAL_KEY_SOURCE: a decision is
delivered only sealed). From then on every decision names the Jobcenter's address and phone in
its letterhead and where an objection is lodged in its legal-remedy instruction (§ 36 SGB X,
§ 84 SGG), so an empty setting would issue decisions that point nowhere. Django runs system
checks before `serve`, `migrate` and `runserver`; an Error stops the start and names the
variable.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

# Setting name, check id, what it is for.
REQUIRED_WITH_DECISIONS: tuple[tuple[str, str, str], ...] = (
    ("JOBCENTER_ADDRESS", "agreements.E001", "the postal address in the decisions' letterhead"),
    ("JOBCENTER_PHONE", "agreements.E002", "the phone number on decisions"),
    (
        "JOBCENTER_OBJECTION_ADDRESS",
        "agreements.E003",
        "where an objection is lodged, named in every legal-remedy instruction",
    ),
)


def decisions_enabled() -> bool:
    """Decisions can be issued and delivered: a seal key source is configured."""
    return bool(str(getattr(settings, "SEAL_KEY_SOURCE", "") or "").strip())


@checks.register()
def jobcenter_settings_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """One Error per missing Jobcenter setting that decisions need (only when enabled)."""
    if not decisions_enabled():
        return []
    errors: list[checks.CheckMessage] = []
    for name, check_id, purpose in REQUIRED_WITH_DECISIONS:
        if not str(getattr(settings, name, "") or "").strip():
            errors.append(
                checks.Error(
                    f"{name} is not set, but decisions are enabled (SEAL_KEY_SOURCE="
                    f"{settings.SEAL_KEY_SOURCE!r}): it is {purpose}.",
                    hint=f"Set {name} in the environment (see .env.example).",
                    id=check_id,
                )
            )
    return errors
