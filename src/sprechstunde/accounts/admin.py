"""Django admin (/verwaltung/) for staff accounts, teams and substitutions.

Only administrators reach it (and only after their second factor: config/urls.py wraps the
admin login with allauth). Client accounts are left out: an administrator sees no client data.
Day-to-day work happens in our own pages (accounts:staff_list); this is the fallback.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record

from .choices import STAFF_ROLES, Role
from .models import Substitution, Team, User
from .permissions import can_manage_staff


def _is_admin(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False) or can_manage_staff(request.user))


class AdministratorOnlyMixin:
    """Opens a model to users with the admin role, without Django's per-model permissions."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return _is_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StaffChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(AdministratorOnlyMixin, DjangoUserAdmin):
    """Staff accounts by e-mail address. New accounts are made on our own page (it sends the
    password link); deleting is off (deactivate instead). Changes are audited."""

    form = StaffChangeForm
    ordering = ("last_name", "first_name", "email")
    list_display = ("email", "first_name", "last_name", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "preferred_language")}),
        (_("Work"), {"fields": ("role", "team", "is_active")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ()

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).filter(role__in=STAFF_ROLES).select_related("team")

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        obj.is_staff = obj.role == Role.ADMIN
        super().save_model(request, obj, form, change)
        audit_record(actor=request.user, action="staff.update", target=obj, request=request)


@admin.register(Team)
class TeamAdmin(AdministratorOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(Substitution)
class SubstitutionAdmin(AdministratorOnlyMixin, admin.ModelAdmin):
    list_display = ("substitute", "absent", "starts_on", "ends_on", "ended_at")
    list_select_related = ("substitute", "absent")
    raw_id_fields = ("absent", "substitute", "created_by", "ended_by")
    readonly_fields = ("created_by", "ended_at", "ended_by")
    date_hierarchy = "starts_on"
