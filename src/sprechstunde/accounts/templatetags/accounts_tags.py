"""Template helpers for the login pages and mails."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def login_code_minutes() -> int:
    """How many minutes an e-mailed login code stays valid."""
    return max(1, int(settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT) // 60)


@register.simple_tag
def login_code_by_sms() -> bool:
    """Whether clients may ask for the login code by SMS (a gateway is set up)."""
    from sprechstunde.core.sms import sms_enabled

    return sms_enabled()
