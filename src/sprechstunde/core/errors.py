"""Errors raised by services. Views turn them into form errors or friendly pages."""

from __future__ import annotations

from django.utils.functional import Promise


class ApplicationError(Exception):
    """A rule of the domain was broken; `message` is translatable and safe to show."""

    def __init__(self, message: str | Promise, *, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


class PermissionDeniedError(ApplicationError):
    """The actor may not do this; views answer 404 so that nothing leaks."""
