"""Admin: the public holidays of the Land, filled in by administrators.

Appointments themselves are not in the admin: they are client data, and administrators see
no client data.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from sprechstunde.accounts.choices import Role

from .models import PublicHoliday


def _is_administrator(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        user.is_active
        and (getattr(user, "is_superuser", False) or getattr(user, "role", None) == Role.ADMIN)
    )


@admin.register(PublicHoliday)
class PublicHolidayAdmin(admin.ModelAdmin[PublicHoliday]):
    """Administrators (by role, not by Django's per-model permissions) keep the list."""

    list_display = ["day", "name"]
    ordering = ["day"]
    search_fields = ["name"]
    date_hierarchy = "day"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_administrator(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_administrator(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_administrator(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_administrator(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_administrator(request)
