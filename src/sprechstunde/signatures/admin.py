"""Admins manage the trust roots used to check incoming signed PDFs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sprechstunde.accounts.admin import AdministratorOnlyMixin
from sprechstunde.audit.services import audit_record

from .models import TrustRoot
from .trust_roots import TrustRootInvalid, trust_root_parse


class TrustRootForm(forms.ModelForm):
    """Paste a CA certificate (PEM); fingerprint, subject and expiry are read from it."""

    class Meta:
        model = TrustRoot
        fields = ["name", "certificate_pem", "is_active", "note"]

    def clean_certificate_pem(self) -> str:
        text = str(self.cleaned_data["certificate_pem"]).strip()
        try:
            self._parsed = trust_root_parse(pem_or_der=text.encode("ascii", "replace"))
        except TrustRootInvalid as exc:
            raise forms.ValidationError(str(exc.message)) from exc
        return str(self._parsed["certificate_pem"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        parsed = getattr(self, "_parsed", None)
        if parsed:
            duplicate = TrustRoot.objects.filter(fingerprint_sha256=parsed["fingerprint_sha256"])
            if self.instance.pk:
                duplicate = duplicate.exclude(pk=self.instance.pk)
            if duplicate.exists():
                raise forms.ValidationError(_("This certificate is already a trust root."))
        return cleaned


@admin.register(TrustRoot)
class TrustRootAdmin(AdministratorOnlyMixin, admin.ModelAdmin):
    """Administrators only; a root is switched off (`is_active`), never deleted."""

    form = TrustRootForm
    list_display = ["name", "subject", "not_valid_after", "source", "is_active"]
    list_filter = ["is_active", "source"]
    readonly_fields = ["fingerprint_sha256", "subject", "not_valid_after", "source", "created_by"]

    def save_model(self, request: HttpRequest, obj: TrustRoot, form: Any, change: bool) -> None:
        for name, value in form._parsed.items():
            setattr(obj, name, value)
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="trust_root.change" if change else "trust_root.create",
            target=obj,
            request=request,
        )
