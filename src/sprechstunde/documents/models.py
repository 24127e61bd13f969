"""Documents exchanged between a client and the Jobcenter, the requests for them, and the
resumable upload sessions through which files arrive."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.clients.models import Client

from .choices import DocumentStatus, RequestStatus, ScanStatus, Side, UploadStatus


class DocumentRequest(models.Model):
    """Staff ask a client for a document ("Lohnabrechnung März") by a due date; documents
    the client sends for it point back here."""

    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.CASCADE,
        related_name="document_requests",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=200)
    note = models.TextField(_("note"), blank=True)
    due_on = models.DateField(_("due on"))
    status = models.CharField(
        _("status"), max_length=12, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    # The last day a reminder went out, so that a reminder is never sent twice on one day.
    reminded_on = models.DateField(_("last reminded on"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("document request")
        verbose_name_plural = _("document requests")
        indexes = [models.Index(fields=["client", "status"], name="docreq_client_status")]

    def __str__(self) -> str:
        return f"Document request {self.pk}"


class Document(models.Model):
    """One file of a client: the encrypted original as received, and (for images and PDFs)
    an encrypted PDF rendering with page previews. Only READY documents are ever served."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="documents"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    uploaded_by_side = models.CharField(_("sent by"), max_length=10, choices=Side.choices)
    request = models.ForeignKey(
        DocumentRequest,
        verbose_name=_("request"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="documents",
    )
    title = models.CharField(_("title"), max_length=200)
    # Sanitised for display and download names only; storage names never derive from it.
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("file type"), max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    page_count = models.PositiveIntegerField(_("pages"), default=0)
    sha256 = models.CharField(_("SHA-256 of the original"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=DocumentStatus.choices, default=DocumentStatus.RECEIVING
    )
    scan_status = models.CharField(
        _("virus check"), max_length=10, choices=ScanStatus.choices, default=ScanStatus.PENDING
    )
    # The signature name or the scanner's error; never file content.
    scan_detail = models.CharField(_("virus check detail"), max_length=300, blank=True)
    scanned_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    scan_attempts = models.PositiveIntegerField(_("check attempts"), default=0)
    refusal_reason = models.CharField(_("reason for refusal"), max_length=300, blank=True)
    # What processing removed from a PDF (e.g. "JavaScript"), for staff; never content.
    sanitised_detail = models.CharField(_("removed from the PDF"), max_length=300, blank=True)
    # PDF metadata shown to staff (title, author, producer, creation date, ...).
    pdf_metadata = models.JSONField(_("PDF metadata"), default=dict, blank=True)
    is_in_efile = models.BooleanField(_("in the e-file"), default=False)
    efile_marked_at = models.DateTimeField(_("marked for the e-file at"), null=True, blank=True)
    efile_marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked for the e-file by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    # Storage names (random, in the documents storage) of the encrypted blobs.
    original_storage_name = models.CharField(max_length=200, blank=True)
    original_content_type = models.CharField(max_length=100, blank=True)
    pdf_storage_name = models.CharField(max_length=200, blank=True)
    # The per-file data key, wrapped (AES-GCM) by the master key `key_id`.
    wrapped_key = models.BinaryField(null=True, blank=True, editable=False)
    # Encrypted received files waiting for the virus check and conversion:
    # [{"name": storage name, "type": content type, "size": bytes}], in page order.
    incoming = models.JSONField(default=list, blank=True, editable=False)
    key_id = models.CharField(_("master key id"), max_length=40, blank=True)
    # The processing lease: a run holds the document from processing_started_at until it
    # ends or the grace period passes (then its worker is taken for dead). Attempts count
    # runs that did not end; past DOCUMENT_PROCESSING_MAX_ATTEMPTS the document fails.
    processing_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    processing_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    # When the pipeline was last queued (upload or sweep); the sweep queues again only after
    # the grace period, so a slow queue does not fill with copies.
    processing_queued_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        indexes = [
            models.Index(fields=["client", "status"], name="document_client_status"),
            models.Index(fields=["scan_status"], name="document_scan_status"),
        ]

    def __str__(self) -> str:
        return f"Document {self.pk}"

    @property
    def refusal_message(self) -> str:
        """Why the file was not accepted, in the reader's language, when the decoding child
        refused it (isolation.DecodeRefused); "" otherwise."""
        from .isolation import stored_refusal_message

        return stored_refusal_message(self.refusal_reason)

    @property
    def is_ready(self) -> bool:
        return self.status == DocumentStatus.READY


class DocumentPreview(models.Model):
    """An encrypted image of one page of a document's PDF (same data key as the document)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="previews")
    page_number = models.PositiveIntegerField(_("page"))
    storage_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50, default="image/webp")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["document", "page_number"]
        verbose_name = _("page preview")
        verbose_name_plural = _("page previews")
        constraints = [
            models.UniqueConstraint(
                fields=["document", "page_number"], name="document_preview_page_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Preview {self.document_id}/{self.page_number}"


class UploadSession(models.Model):
    """A resumable upload: the browser sends chunks at an offset; the server keeps them (a file
    on local disk, or one encrypted object per chunk in the documents storage, see
    `upload_parts.py`) and answers the received offset, so an interrupted upload continues
    where it stopped. `id` is random and unguessable; only the owner may use it."""

    id = models.CharField(primary_key=True, max_length=43, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="document_uploads"
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="document_uploads")
    # A batch groups the photos that become one PDF; `position` is their page order.
    batch = models.CharField(max_length=43, blank=True, db_index=True)
    position = models.PositiveIntegerField(default=0)
    original_name = models.CharField(max_length=200)
    expected_size = models.PositiveBigIntegerField()
    received_size = models.PositiveBigIntegerField(default=0)
    # Hex state is recomputed from the file on completion; kept here for the client's check.
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=10, choices=UploadStatus.choices, default=UploadStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Parts in object storage (DOCUMENT_UPLOAD_PARTS="storage"): [{"name", "size"}] in order,
    # each encrypted with this upload's data key, wrapped by the master key `key_id`.
    parts = models.JSONField(default=list, blank=True, editable=False)
    wrapped_key = models.BinaryField(null=True, blank=True, editable=False)
    key_id = models.CharField(max_length=40, blank=True, editable=False)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")

    def __str__(self) -> str:
        return f"Upload {self.pk}"


class DocumentSweep(models.Model):
    """One queued sweep job per interval slot (DOCUMENT_SWEEP_INTERVAL_MINUTES): however many
    workers start or sweeps run, the unique slot lets only one of them queue the next job."""

    run_at = models.DateTimeField(unique=True)

    class Meta:
        verbose_name = _("documents sweep")
        verbose_name_plural = _("documents sweeps")

    def __str__(self) -> str:
        return f"Documents sweep at {self.run_at:%Y-%m-%d %H:%M}"
