"""Admin for the templates (the app's own pages are agreements/template_pages.py): editing
saves a new draft version, published there; the checks
(Rechtsfolgenbelehrung lint for plans, placeholder syntax for decisions) run on every save
and show their errors at the field."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Max
from django.http import HttpRequest

from .models import DecisionTemplate, PlanTemplate


class VersionedTemplateAdmin(admin.ModelAdmin):
    list_display = ("title", "key", "version", "is_active", "published_at", "created_at")
    list_filter = ("is_active",)
    readonly_fields = ("version", "created_at", "published_at")
    search_fields = ("title", "key")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        model = type(obj)
        if change:
            # Never change a version: plans and decisions name the text they were made from.
            obj.pk = None
            obj._state.adding = True
        newest = model.objects.filter(key=obj.key).aggregate(newest=Max("version"))["newest"]
        obj.version = (newest or 0) + 1
        # A saved version is a draft; it is published on the app's template pages.
        obj.published_at = None
        obj.published_by = None
        obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PlanTemplate)
class PlanTemplateAdmin(VersionedTemplateAdmin):
    fields = ("key", "title", "intro", "support_suggestions", "closing", "is_active", "version")


@admin.register(DecisionTemplate)
class DecisionTemplateAdmin(VersionedTemplateAdmin):
    fields = ("key", "title", "body", "fields", "legal_remedy", "is_active", "version")
