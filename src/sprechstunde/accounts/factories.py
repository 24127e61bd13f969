"""Test data for accounts: users by role and teams."""

import factory

from .choices import Role
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


class CaseManagerFactory(UserFactory):
    role = Role.CASE_MANAGER


class TeamLeadFactory(UserFactory):
    role = Role.TEAM_LEAD


class AdminFactory(UserFactory):
    role = Role.ADMIN
    team = None
    is_staff = True
    is_superuser = True


class DPOFactory(UserFactory):
    role = Role.DATA_PROTECTION_OFFICER
    team = None


class ClientUserFactory(UserFactory):
    role = Role.CLIENT
    team = None
    password = None


class SubstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Substitution

    absent = factory.SubFactory(CaseManagerFactory)
    substitute = factory.SubFactory(CaseManagerFactory)
    starts_on = factory.Faker("date_this_month")
    ends_on = factory.LazyAttribute(lambda o: o.starts_on)
