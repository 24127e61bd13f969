"""Mobile forms: versioned definitions (data, checked by the validator when loaded), the
client's submissions with their answers, attachments and the renderings kept for the file.

A definition is a JSON document (format in docs/decisions/0087-form-definitions.md); each
load of a changed document makes a new version, and a submission keeps the version it was
started with, so its questions and its PDF never change under it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.clients.models import Client
from sprechstunde.documents.models import Document

from .choices import SubmissionOutcome, SubmissionStatus


class FormDefinition(models.Model):
    """One version of one form, as loaded from its JSON document."""

    slug = models.SlugField(_("form"), max_length=60)
    version = models.PositiveIntegerField(_("version"))
    # The definition document after validation (sections, fields, conditions, texts in the
    # seven client languages).
    spec = models.JSONField(_("definition"))
    spec_sha256 = models.CharField(max_length=64)
    # Only the newest version of a slug is offered for new submissions.
    is_current = models.BooleanField(_("current version"), default=True)
    loaded_at = models.DateTimeField(_("loaded at"), default=timezone.now)

    class Meta:
        ordering = ["slug", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "version"], name="eforms_definition_version")
        ]
        verbose_name = _("form definition")
        verbose_name_plural = _("form definitions")

    def __str__(self) -> str:
        return f"{self.slug} v{self.version}"


class FormSubmission(models.Model):
    """A client's filling of one form version: a draft until submitted, then the staff's."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="form_submissions"
    )
    definition = models.ForeignKey(
        FormDefinition, verbose_name=_("form"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=SubmissionStatus.choices, default=SubmissionStatus.DRAFT
    )
    # {field key: value}; repeatable groups hold a list of such dicts. Values are stored
    # in their clean form (dates ISO, money as a string of cents, IBAN without spaces).
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    # The section the client was on, so that another device goes on where she stopped.
    current_section = models.CharField(max_length=60, blank=True)
    # Raised on every saved change; a save from a stale page is refused, not merged.
    revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # How often it was submitted (a "needs more" and a new submission make 2, 3, ...).
    submission_count = models.PositiveIntegerField(default=0)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Staff side.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    needs_more_note = models.TextField(_("what is missing"), blank=True)
    outcome = models.CharField(
        _("decision"), max_length=20, choices=SubmissionOutcome.choices, blank=True, default=""
    )
    outcome_reason = models.TextField(_("reason"), blank=True)
    closed_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # When it went to the e-file (efile app); the retention period starts there.
    handed_over_at = models.DateTimeField(_("handed over to the e-file at"), null=True, blank=True)
    # The renderings of the newest submission, stored as the client's documents.
    pdf_document = models.ForeignKey(
        Document, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data_document = models.ForeignKey(
        Document, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The one-time-code confirmation before submitting (as agreements' confirmations).
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [
            models.Index(fields=["client", "status"], name="eforms_sub_client_status"),
            models.Index(fields=["status", "submitted_at"], name="eforms_sub_status_time"),
        ]
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self) -> str:
        return f"Form submission {self.pk}"


class FormAttachment(models.Model):
    """A file the client attached to a field of type "attachment", through the upload
    pipeline (virus check, PDF conversion) as a document of hers."""

    submission = models.ForeignKey(
        FormSubmission, on_delete=models.CASCADE, related_name="attachments"
    )
    field_key = models.CharField(max_length=60)
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "pk"]
        verbose_name = _("form attachment")
        verbose_name_plural = _("form attachments")

    def __str__(self) -> str:
        return f"Attachment {self.pk} of form submission {self.submission_id}"


class FormEvent(models.Model):
    """The submission's history as both sides see it: submitted, taken, needs more (with
    the note), answered, approved or refused (with the reason), done."""

    submission = models.ForeignKey(FormSubmission, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} on form submission {self.submission_id}"
