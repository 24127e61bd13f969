"""Django admin for consent texts only.

Clients, invitations and consents are social data, which admins must not see; they are
therefore not registered here. Consent texts are: saving an edit never changes a published
version, it publishes version n+1 through `consent_text_publish`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sprechstunde.core.errors import ApplicationError

from . import permissions, services
from .models import ConsentText


class ConsentTextForm(forms.ModelForm[ConsentText]):
    class Meta:
        model = ConsentText
        fields = ["purpose", "language", "title", "body"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        instance = self.instance
        if (
            instance.pk
            and data.get("title", "").strip() == instance.title
            and (data.get("body", "").strip() == instance.body.strip())
        ):
            raise ValidationError(
                _("Nothing has changed, so no new version was published."),
                code="unchanged",
            )
        return data


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin[ConsentText]):
    form = ConsentTextForm
    list_display = ["purpose", "language", "version", "title", "published_at"]
    list_filter = ["purpose", "language"]
    ordering = ["purpose", "language", "-version"]

    # Administrators by role, without Django's per-model permissions (nobody is superuser).
    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.can_edit_consent_texts(user=request.user)

    def has_view_permission(self, request: HttpRequest, obj: ConsentText | None = None) -> bool:
        return permissions.can_edit_consent_texts(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return permissions.can_edit_consent_texts(user=request.user)

    def has_change_permission(self, request: HttpRequest, obj: ConsentText | None = None) -> bool:
        return permissions.can_edit_consent_texts(user=request.user)

    def get_readonly_fields(
        self, request: HttpRequest, obj: ConsentText | None = None
    ) -> tuple[str, ...]:
        # An edit publishes a new version of the same purpose and language.
        if obj is not None:
            return ("purpose", "language", "version", "published_at")
        return ("version", "published_at")

    def has_delete_permission(self, request: HttpRequest, obj: ConsentText | None = None) -> bool:
        # Given consents point at their text; a text that was shown is evidence.
        return False

    def save_model(self, request: HttpRequest, obj: ConsentText, form: Any, change: bool) -> None:
        """Never save `obj` itself: publish a new version and let the admin show that one."""
        original = ConsentText.objects.get(pk=obj.pk) if change else None
        try:
            published = services.consent_text_publish(
                purpose=original.purpose if original else obj.purpose,
                language=original.language if original else obj.language,
                title=obj.title,
                body=obj.body,
                actor=request.user,
                request=request,
            )
        except ApplicationError as error:
            # The form was validated already; this is a race with another publisher.
            raise ValidationError(str(error.message)) from error
        # From here on the admin (log entry, message, redirect) talks about the new version.
        for field in ("pk", "purpose", "language", "version", "published_at", "created_at"):
            setattr(obj, field, getattr(published, field))
        obj.updated_at = published.updated_at
        obj._state.adding = False
