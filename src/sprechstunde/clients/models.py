"""Clients (Leistungsberechtigte), their invitations to the portal and their consents."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.core.models import TimeStampedModel

from . import numbers
from .choices import (
    ConsentMethod,
    ConsentPurpose,
    InterpreterNeed,
    InvitationChannel,
    InvitationStatus,
)


class Client(TimeStampedModel):
    """A benefit recipient looked after by one case manager. All fields are social data."""

    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    email = models.EmailField(_("e-mail address"), blank=True, default="")
    mobile_number = models.CharField(_("mobile number"), max_length=32, blank=True, default="")
    customer_number = models.CharField(
        _("customer number"), max_length=10, blank=True, default="", db_index=True
    )
    bg_number = models.CharField(
        _("BG number"), max_length=14, blank=True, default="", db_index=True
    )
    # Derived keys for search (clients.numbers), kept in step by save(): the name folded
    # without diacritics, the mobile number as national digits.
    search_name = models.CharField(max_length=620, blank=True, default="", editable=False)
    phone_digits = models.CharField(max_length=32, blank=True, default="", editable=False)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, default="de", choices=settings.LANGUAGES
    )
    # Talks need an interpreter, and for which language (free text: "Dari", "Kurmanji", "DGS"),
    # so that booking an appointment offers the interpreter link (issue 13, point 6).
    interpreter = models.CharField(
        _("interpreter"), max_length=10, blank=True, default="", choices=InterpreterNeed.choices
    )
    interpreter_language = models.CharField(
        _("interpreting language"), max_length=60, blank=True, default=""
    )
    case_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("case manager"),
        on_delete=models.PROTECT,
        related_name="caseload",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("portal account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="client_profile",
    )
    # The postal address for decisions and letters by post (DIN 5008 window). Optional: all
    # empty, or street, postcode and city given (clients.services.postal_address_clean).
    postal_street = models.CharField(_("street and number"), max_length=60, blank=True, default="")
    postal_supplement = models.CharField(
        _("address supplement"), max_length=60, blank=True, default=""
    )
    postal_code = models.CharField(_("postcode"), max_length=5, blank=True, default="")
    postal_city = models.CharField(_("city"), max_length=50, blank=True, default="")
    # The case closed (no more benefits, moved away): the start of most retention periods
    # (docs/retention.md). Reopening clears it.
    case_closed_at = models.DateTimeField(_("case closed at"), null=True, blank=True)
    # Art. 18 GDPR / § 84 SGB X: while set, nobody but the data-protection officer reaches
    # this client's data (clients.permissions), and retention deletes nothing of it.
    processing_restricted_at = models.DateTimeField(
        _("processing restricted since"), null=True, blank=True
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=~models.Q(email=""),
                name="client_email_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_name = numbers.name_search_key(self.first_name, self.last_name)
        self.phone_digits = numbers.phone_digits(self.mobile_number)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "search_name", "phone_digits"}
        super().save(*args, **kwargs)

    @property
    def postal_address_lines(self) -> list[str]:
        """The address under the name in a window envelope; empty without a postal address."""
        if not (self.postal_street and self.postal_code and self.postal_city):
            return []
        town = f"{self.postal_code} {self.postal_city}"
        lines = [self.postal_street, self.postal_supplement, town]
        return [line for line in lines if line]

    @property
    def full_name(self) -> str:
        """The name as the Jobcenter knows it (what staff see)."""
        return f"{self.first_name} {self.last_name}"

    @property
    def short_name(self) -> str:
        """First name and the last name's initial ("Lena H."): what an interpreter sees."""
        initial = self.last_name.strip()[:1]
        return f"{self.first_name} {initial}." if initial else self.first_name


class Invitation(TimeStampedModel):
    """A single-use link to the portal. Only the SHA-256 of the token is stored."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=20, choices=InvitationChannel.choices)
    expires_at = models.DateTimeField(_("valid until"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Set by the mail hook after commit, so staff can see whether the e-mail really left.
    mail_sent_at = models.DateTimeField(_("e-mail sent at"), null=True, blank=True)
    mail_failed_at = models.DateTimeField(_("e-mail failed at"), null=True, blank=True)
    # An invitation by text message (a client without e-mail): the outbox row tells staff
    # whether it was sent, delivered or given up.
    sms = models.ForeignKey(
        "core.SmsMessage",
        verbose_name=_("text message"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"Invitation {self.pk}"

    @staticmethod
    def hash_token(token: str) -> str:
        """The SHA-256 (hex) under which a token is stored; the token itself never is."""
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )

    @property
    def status(self) -> InvitationStatus:
        """Accepted and revoked are final; an untouched invitation expires with time."""
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING


class ConsentText(TimeStampedModel):
    """A versioned data-protection text for one purpose and language, edited by an admin.

    Published versions are never changed: an edit publishes a new version.
    """

    purpose = models.CharField(_("purpose"), max_length=30, choices=ConsentPurpose.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        ordering = ["purpose", "language", "-version"]
        verbose_name = _("consent text")
        verbose_name_plural = _("consent texts")
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "language", "version"], name="consent_text_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} ({self.language}) v{self.version}"


class Consent(TimeStampedModel):
    """One consent to one purpose, with the text version shown, when and how it was given."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=30, choices=ConsentPurpose.choices)
    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="+")
    given_at = models.DateTimeField(_("given at"))
    given_method = models.CharField(_("given by"), max_length=20, choices=ConsentMethod.choices)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_method = models.CharField(
        _("withdrawn by"), max_length=20, choices=ConsentMethod.choices, blank=True, default=""
    )

    class Meta:
        ordering = ["-given_at"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "purpose"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} ({self.given_at:%Y-%m-%d})"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None
