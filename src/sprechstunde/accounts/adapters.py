"""django-allauth adapters: who may sign up, how codes look, where logins land."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Nobody signs up: staff are created by an admin, clients by invitation."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


class MFAAdapter(DefaultMFAAdapter):
    pass


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """SSO may log in existing staff accounts only; it never creates accounts."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return False
