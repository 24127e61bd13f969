"""Feedback on barriers, sent from the accessibility statement (BITV 2.0): each one is a task
for the administrators with the day by which it must be answered."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccessibilityFeedback(models.Model):
    """A report of a barrier, or a request for content in an accessible form. Contact details
    are optional: without them the report is still worked on, only not answered."""

    created_at = models.DateTimeField(_("received at"), default=timezone.now)
    due_on = models.DateField(_("answer due on"))
    page = models.CharField(_("page concerned"), max_length=300, blank=True)
    message = models.TextField(_("message"))
    name = models.CharField(_("name"), max_length=150, blank=True)
    email = models.EmailField(_("e-mail address for the answer"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    answer_note = models.TextField(_("what was done"), blank=True)

    class Meta:
        ordering = ["answered_at", "due_on", "pk"]
        verbose_name = _("accessibility feedback")
        verbose_name_plural = _("accessibility feedback")
        indexes = [models.Index(fields=["answered_at", "due_on"], name="a11y_feedback_open_due")]

    def __str__(self) -> str:
        return f"Accessibility feedback {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.answered_at is None

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_on < timezone.localdate()
