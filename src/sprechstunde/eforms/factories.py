"""Test data for forms: a definition (the engine's sample by default) and submissions."""

from __future__ import annotations

import factory

from .definitions import spec_sha256
from .models import FormDefinition, FormSubmission


def _sample() -> dict:
    from .testing import sample_spec

    return sample_spec()


class FormDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormDefinition

    spec = factory.LazyFunction(_sample)
    slug = factory.LazyAttribute(lambda obj: obj.spec["slug"])
    version = factory.Sequence(lambda n: n + 1)
    spec_sha256 = factory.LazyAttribute(lambda obj: spec_sha256(obj.spec))
    is_current = True


class FormSubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormSubmission

    client = factory.SubFactory("sprechstunde.clients.factories.ClientFactory")
    definition = factory.SubFactory(FormDefinitionFactory)
    current_section = factory.LazyAttribute(lambda obj: obj.definition.spec["sections"][0]["key"])
