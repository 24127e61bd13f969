"""Test data for accounts: users by role and teams."""

import datetime

import factory
from django.utils import timezone

from .choices import STAFF_ROLES, Role
from .models import Substitution, Team, User


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@jobcenter.example")
    first_name = factory.Faker("first_name", locale="de_DE")
    last_name = factory.Faker("last_name", locale="de_DE")
    role = Role.CASE_MANAGER
    team = factory.SubFactory(TeamFactory)
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def with_totp(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        """Staff made by the factory have set up an authenticator app, as every staff member
        must before working (StaffMFARequiredMiddleware). Pass `with_totp=False` for one who
        has not. The secret is kept on the instance as `totp_secret` for tests."""
        wanted = extracted if extracted is not None else self.role in STAFF_ROLES
        if not (create and wanted):
            return
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

        secret = generate_totp_secret()
        TOTP.activate(self, secret)
        self.totp_secret = secret


class CaseManagerFactory(UserFactory):
    role = Role.CASE_MANAGER


class TeamLeadFactory(UserFactory):
    role = Role.TEAM_LEAD


class AdminFactory(UserFactory):
    role = Role.ADMIN
    team = None  # type: ignore[assignment]
    # Like staff_create: admins may open Django admin, but nobody is a superuser.
    is_staff = True


class DPOFactory(UserFactory):
    role = Role.DATA_PROTECTION_OFFICER
    team = None  # type: ignore[assignment]


class ClientUserFactory(UserFactory):
    role = Role.CLIENT
    team = None  # type: ignore[assignment]
    password = factory.django.Password(None)  # unusable: clients log in by code


class SubstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Substitution

    absent = factory.SubFactory(CaseManagerFactory)
    substitute = factory.SubFactory(CaseManagerFactory)
    starts_on = factory.LazyFunction(timezone.localdate)
    ends_on = factory.LazyAttribute(lambda o: o.starts_on + datetime.timedelta(days=6))
