"""Upload form for having a signed PDF checked."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from sprechstunde.documents import decoding, isolation

PDF_MAGIC = b"%PDF-"


class PdfCheckForm(forms.Form):
    """One PDF, at most SIGNATURE_VALIDATION_MAX_BYTES, that really starts like a PDF."""

    document = forms.FileField(
        label=_("Signed PDF"),
        help_text=_("The file is only checked, not stored."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    def clean_document(self) -> bytes:
        upload = self.cleaned_data["document"]
        limit = int(settings.SIGNATURE_VALIDATION_MAX_BYTES)
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is too large. The limit is %(limit)s."),
                params={"limit": filesizeformat(limit)},
            )
        data = upload.read()
        if not data.startswith(PDF_MAGIC):
            raise forms.ValidationError(_("This file is not a PDF."))
        # pyHanko unpacks object streams in this process: a decompression bomb must be caught
        # before, under the same budget and in the same limited child as uploads (ADR 0043).
        try:
            isolation.isolated_check(
                [("application/pdf", data)], limits=isolation.DecodeLimits.for_document()
            )
        except isolation.DecodeRefused as refusal:
            # Only the bomb is refused here; a damaged or encrypted file gets pyHanko's report.
            if refusal.reason.endswith((decoding.TOO_LARGE, decoding.PIXELS)):
                raise forms.ValidationError(str(refusal.message)) from refusal
        return bytes(data)
