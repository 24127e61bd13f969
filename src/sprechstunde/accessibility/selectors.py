"""Reads of accessibility feedback, for the administrators' task list."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import AccessibilityFeedback
from .permissions import can_handle_accessibility_feedback


def feedback_list_for_user(*, user: Any, answered: bool = False) -> QuerySet[AccessibilityFeedback]:
    """Open feedback by due date (the most urgent first), or the answered ones, newest first;
    nothing for anyone but admins."""
    if not can_handle_accessibility_feedback(user=user):
        return AccessibilityFeedback.objects.none()
    if answered:
        return AccessibilityFeedback.objects.filter(answered_at__isnull=False).order_by(
            "-answered_at", "-pk"
        )
    return AccessibilityFeedback.objects.filter(answered_at__isnull=True).order_by("due_on", "pk")


def feedback_open_count_for_user(*, user: Any) -> int:
    return feedback_list_for_user(user=user).count()
