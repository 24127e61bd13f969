"""Template helpers for the trail page."""

from django import template

from sprechstunde.audit.actions import action_label as _action_label

register = template.Library()


@register.filter
def action_label(action: str) -> str:
    """The readable label of an action code."""
    return _action_label(action)
