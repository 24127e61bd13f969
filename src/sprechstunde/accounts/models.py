"""Staff accounts, teams and substitutions. Clients also log in as a User (role client)."""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.core.models import TimeStampedModel

from .choices import STAFF_ROLES, Role


class UserManager(BaseUserManager["User"]):
    """Users are identified by e-mail address; there is no username."""

    use_in_migrations = True

    def create_user(self, email: str | None, password: str | None = None, **extra: object) -> User:
        # Staff log in with their address; a client reached only by text message has none
        # (she logs in with a code sent to the mobile number her case manager keeps).
        if not email and extra.get("role", Role.CLIENT) != Role.CLIENT:
            raise ValueError("An e-mail address is required.")
        address = self.normalize_email(email).lower() if email else None
        user = self.model(email=address, **extra)  # NULL: see User.email
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.ADMIN)
        return self.create_user(email, password, **extra)


class Team(TimeStampedModel):
    """An interdisciplinary team of case managers with one team lead."""

    name = models.CharField(_("name"), max_length=200, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who logs in: staff (case manager, team lead, admin, DPO) or a client."""

    username = None  # type: ignore[assignment]
    # Empty (NULL) only for a client without e-mail, who logs in by a code sent by SMS.
    email = models.EmailField(  # type: ignore[assignment]  # AbstractUser says str
        _("e-mail address"), unique=True, null=True, blank=True
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CLIENT)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, blank=True, default=""
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()  # type: ignore[misc,assignment]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_staff_member(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_client(self) -> bool:
        return self.role == Role.CLIENT

    @property
    def display_name(self) -> str:
        """The name shown for this account anywhere: first and last name, else the role.

        Never the e-mail address: it is how the account logs in, and for a client it is
        social data that interpreters and other callers must not see (issue 11).
        """
        return self.get_full_name() or str(self.get_role_display())


class Substitution(TimeStampedModel):
    """A case manager stands in for an absent colleague during a date range (Vertretung)."""

    absent = models.ForeignKey(
        User,
        verbose_name=_("absent colleague"),
        on_delete=models.CASCADE,
        related_name="substituted_by",
    )
    substitute = models.ForeignKey(
        User,
        verbose_name=_("substitute"),
        on_delete=models.CASCADE,
        related_name="substitutions",
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("created by")
    )
    # Ending early keeps the row (it is the record of who could see which caseload when):
    # from the day of `ended_at` on, the substitution no longer counts.
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ended by"),
    )

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("substitution")
        verbose_name_plural = _("substitutions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="substitution_range_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(absent=models.F("substitute")),
                name="substitution_not_self",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.substitute} → {self.absent} ({self.starts_on} - {self.ends_on})"

    @property
    def ended_on(self) -> datetime.date | None:
        """The local day on which the substitution was ended early, if it was."""
        if self.ended_at is None:
            return None
        return timezone.localdate(self.ended_at)

    def is_active_on(self, day: datetime.date) -> bool:
        """Whether the substitute stands in on `day` (the end day itself no longer counts)."""
        ended_on = self.ended_on
        if ended_on is not None and day >= ended_on:
            return False
        return self.starts_on <= day <= self.ends_on
