"""Roles of user accounts."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """What a user account is for; staff roles decide what they may see."""

    CASE_MANAGER = "case_manager", _("Case manager")
    TEAM_LEAD = "team_lead", _("Team lead")
    ADMIN = "admin", _("Administrator")
    DATA_PROTECTION_OFFICER = "dpo", _("Data protection officer")
    CLIENT = "client", _("Client")


STAFF_ROLES = frozenset(
    {Role.CASE_MANAGER, Role.TEAM_LEAD, Role.ADMIN, Role.DATA_PROTECTION_OFFICER}
)

# Roles an administrator can give a staff account (clients get accounts by invitation only).
STAFF_ROLE_CHOICES = [
    (Role.CASE_MANAGER.value, Role.CASE_MANAGER.label),
    (Role.TEAM_LEAD.value, Role.TEAM_LEAD.label),
    (Role.ADMIN.value, Role.ADMIN.label),
    (Role.DATA_PROTECTION_OFFICER.value, Role.DATA_PROTECTION_OFFICER.label),
]
# Roles that work with a caseload and therefore belong to a team.
TEAM_ROLES = frozenset({Role.CASE_MANAGER, Role.TEAM_LEAD})
