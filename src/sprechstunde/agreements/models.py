"""Cooperation plans (Kooperationsplan, § 15 SGB II), decisions (Bescheide) with their
delivery log, client confirmations, and the admin-edited, versioned templates behind them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.models import AppendOnlyModel
from sprechstunde.clients.models import Client

from .choices import (
    CommentSide,
    ConfirmationStatus,
    DecisionStatus,
    DeliveryChannel,
    DeliveryEventKind,
    PlanStatus,
)

# --- Templates: data, edited by admins, one row per version ----------------------------------


class VersionedTemplate(models.Model):
    """A template version. Published versions are never changed: an edit saves a new draft
    version (services/templates.py), so every plan and decision names the exact text it was
    made from."""

    key = models.SlugField(_("key"), max_length=60, help_text=_("Same key = same template."))
    version = models.PositiveIntegerField(_("version"), default=1)
    title = models.CharField(_("title"), max_length=200)
    is_active = models.BooleanField(
        _("offered to staff"), default=True, help_text=_("Only the newest active version is.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A version is a draft until it is published; only the newest published version of a
    # key is offered to staff, older ones stay for the documents made from them (ADR 0079).
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class PlanTemplate(VersionedTemplate):
    """The frame of a cooperation plan: introduction, suggested support, closing words.
    Never a Rechtsfolgenbelehrung (checked by `plan_template_lint`)."""

    intro = models.TextField(_("introduction"), blank=True)
    support_suggestions = models.TextField(
        _("support the Jobcenter usually offers"),
        blank=True,
        help_text=_("One per line; the case manager picks and edits them."),
    )
    closing = models.TextField(_("closing words"), blank=True)

    class Meta:
        ordering = ["key", "-version"]
        verbose_name = _("plan template")
        verbose_name_plural = _("plan templates")
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="plan_template_version_unique")
        ]

    def clean(self) -> None:
        from .rendering import plan_template_lint

        plan_template_lint(self)


class DecisionTemplate(VersionedTemplate):
    """A decision's text with {{ placeholders }} for typed fields (see rendering.py: the
    placeholders are the whole language, so template authors can reach no code)."""

    body = models.TextField(_("text"))
    fields = models.JSONField(
        _("fields"),
        default=list,
        blank=True,
        help_text=_(
            'A list like [{"name": "amount", "label": "Amount", "type": "money", '
            '"required": true}]; types: text, textarea, date, money, number, choice '
            '(with "choices": [...]).'
        ),
    )
    legal_remedy = models.TextField(_("legal remedy instruction (Rechtsbehelfsbelehrung)"))

    class Meta:
        ordering = ["key", "-version"]
        verbose_name = _("decision template")
        verbose_name_plural = _("decision templates")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "version"], name="decision_template_version_unique"
            )
        ]

    def clean(self) -> None:
        from .rendering import decision_template_check

        decision_template_check(self)


# --- Cooperation plans -----------------------------------------------------------------------


class CooperationPlan(models.Model):
    """A client's Kooperationsplan: the draft being worked on, and `current_version`, the
    number of the newest issued `PlanVersion` (0 before the first issue)."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="plans"
    )
    template = models.ForeignKey(PlanTemplate, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    goals = models.JSONField(_("goals"), default=list)
    steps = models.JSONField(_("steps"), default=list)
    support = models.JSONField(_("support by the Jobcenter"), default=list)
    review_on = models.DateField(_("review on"), null=True, blank=True)
    shared_at = models.DateTimeField(_("draft shown to the client at"), null=True, blank=True)
    current_version = models.PositiveIntegerField(_("issued version"), default=0)
    # The newest issued version the client has opened in the portal: the postbox marks a
    # plan as new while this lags behind `current_version`.
    client_seen_version = models.PositiveIntegerField(
        _("version last opened by the client"), default=0
    )
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("cooperation plan")
        verbose_name_plural = _("cooperation plans")

    def __str__(self) -> str:
        return f"Cooperation plan {self.pk}"

    @property
    def is_visible_to_client(self) -> bool:
        return self.current_version > 0 or self.shared_at is not None


class PlanVersion(AppendOnlyModel):
    """One issued version, frozen: the content as the client received it, its PDF/A and the
    hash of that PDF. Never changed or deleted through the ORM."""

    plan = models.ForeignKey(CooperationPlan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    content = models.JSONField(_("content"))
    review_on = models.DateField(_("review on"))
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    pdf = models.BinaryField(_("PDF/A"))
    pdf_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["plan", "-number"]
        verbose_name = _("issued plan version")
        verbose_name_plural = _("issued plan versions")
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_unique")
        ]

    def __str__(self) -> str:
        return f"Plan {self.plan_id} v{self.number}"

    @property
    def client_id(self) -> int:
        return self.plan.client_id


class PlanComment(models.Model):
    """A remark or proposed change on a plan, by the client or by staff. `version` is the
    issued version it refers to (0: the draft)."""

    plan = models.ForeignKey(CooperationPlan, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    side = models.CharField(max_length=10, choices=CommentSide.choices)
    version = models.PositiveIntegerField(default=0)
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "created_at", "pk"]
        verbose_name = _("plan comment")
        verbose_name_plural = _("plan comments")

    def __str__(self) -> str:
        return f"Comment {self.pk} on plan {self.plan_id}"


class PlanReviewReminder(models.Model):
    """The reminder that an issued plan is due for review; the notice names no one."""

    version = models.OneToOneField(PlanVersion, on_delete=models.CASCADE, related_name="reminder")
    due_on = models.DateField(_("due on"), db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("plan review reminder")
        verbose_name_plural = _("plan review reminders")

    def __str__(self) -> str:
        return f"Review reminder for {self.version}"


# --- Decisions -------------------------------------------------------------------------------


class Decision(models.Model):
    """A Bescheid made from a template version: filled in, rendered to PDF/A-2b, sealed
    (PAdES B-LT) and delivered to the portal postbox or by post. Never delivered unsealed."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="decisions"
    )
    template = models.ForeignKey(DecisionTemplate, on_delete=models.PROTECT, related_name="+")
    values = models.JSONField(_("field values"), default=dict)
    status = models.CharField(
        _("status"), max_length=20, choices=DecisionStatus.choices, default=DecisionStatus.DRAFT
    )
    channel = models.CharField(
        _("delivery"), max_length=10, choices=DeliveryChannel.choices, blank=True
    )
    reference = models.CharField(_("reference"), max_length=40, blank=True)
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible official"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    unsealed_pdf = models.BinaryField(null=True, blank=True)
    pdf = models.BinaryField(_("sealed PDF"), null=True, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    seal_attempts = models.PositiveIntegerField(default=0)
    next_seal_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The outside service the last failed seal attempt could not reach, when known ("tsa":
    # the time-stamp service), so the staff page can say what the seal waits for.
    seal_waiting_for = models.CharField(max_length=10, blank=True, default="")
    announced_on = models.DateField(_("counts as announced on"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")

    def __str__(self) -> str:
        return f"Decision {self.pk}"


class DeliveryEvent(AppendOnlyModel):
    """One entry of a decision's delivery log. `entry_hash` chains it to the entry before
    (per decision), so a changed, removed or reordered entry shows (`delivery_log_verify`)."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="events")
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=DeliveryEventKind.choices)
    at = models.DateTimeField()
    actor_label = models.CharField(max_length=200)
    detail = models.CharField(max_length=200, blank=True)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["decision", "sequence"]
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "sequence"], name="delivery_event_sequence_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.decision_id}#{self.sequence} {self.kind}"

    @property
    def client_id(self) -> int:
        return self.decision.client_id


class PostalDelivery(models.Model):
    """The staff task "send this decision by post", open until someone marks it sent."""

    decision = models.OneToOneField(Decision, on_delete=models.CASCADE, related_name="postal")
    created_at = models.DateTimeField(default=timezone.now)
    sent_on = models.DateField(_("handed to the post on"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("postal delivery")
        verbose_name_plural = _("postal deliveries")

    def __str__(self) -> str:
        return f"Postal delivery of {self.decision}"


# --- Client confirmations (simple electronic signature) ---------------------------------------


class Confirmation(models.Model):
    """A declaration the client confirms in the portal after reading it in full, with a
    one-time code as re-authentication; recorded as a simple electronic signature with an
    evidence page and sealed by the platform. Never for written-form (Schriftform) cases."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="confirmations"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    status = models.CharField(
        max_length=20, choices=ConfirmationStatus.choices, default=ConfirmationStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    text_sha256 = models.CharField(max_length=64)
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    unsealed_pdf = models.BinaryField(null=True, blank=True)
    pdf = models.BinaryField(null=True, blank=True)
    seal_attempts = models.PositiveIntegerField(default=0)
    next_seal_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("confirmation")
        verbose_name_plural = _("confirmations")

    def __str__(self) -> str:
        return f"Confirmation {self.pk}"
