"""Numbers of the configuration written the way a reader expects them."""

from __future__ import annotations


def size_text(value: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= factor and value % factor == 0:
            return f"{value // factor} {unit}"
    return f"{value} bytes"


def duration_text(seconds: int) -> str:
    for unit, factor in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= factor and seconds % factor == 0:
            count = seconds // factor
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{seconds} seconds"


def on_off(value: bool) -> str:
    return "on" if value else "off"


def or_none(value: str, none: str = "not configured") -> str:
    return value or none
