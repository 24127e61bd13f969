"""Forms of the documents app (the file inputs themselves are read from request.FILES)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class DocumentUploadForm(forms.Form):
    """The title of a document; files come as `files` (no JavaScript) or as finished
    resumable uploads `upload_ids` (in page order, from upload.js)."""

    title = forms.CharField(
        label=_("What is it? (optional)"),
        max_length=200,
        required=False,
        help_text=_("For example: payslip March"),
    )
