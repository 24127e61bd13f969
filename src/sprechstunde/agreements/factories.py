"""Test data for plans and decisions: the starter templates as factories."""

import copy
import datetime
from typing import Any, cast

import factory
from django.utils import timezone

from .demo import DECISION_TEMPLATE, PLAN_TEMPLATE
from .models import DecisionTemplate, PlanTemplate


class PlanTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanTemplate

    key = factory.Sequence(lambda n: f"plan-{n}")
    version = 1
    title = PLAN_TEMPLATE["title"]
    intro = PLAN_TEMPLATE["intro"]
    support_suggestions = PLAN_TEMPLATE["support_suggestions"]
    closing = PLAN_TEMPLATE["closing"]
    published_at = factory.LazyFunction(timezone.now)


class DecisionTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DecisionTemplate

    key = factory.Sequence(lambda n: f"decision-{n}")
    version = 1
    title = DECISION_TEMPLATE["title"]
    body = DECISION_TEMPLATE["body"]
    fields = factory.LazyFunction(lambda: copy.deepcopy(DECISION_TEMPLATE["fields"]))
    legal_remedy = DECISION_TEMPLATE["legal_remedy"]
    published_at = factory.LazyFunction(timezone.now)


def consent_give(client, purpose):
    """The client consents to `purpose` (text version 1), as in the portal."""
    from django.utils import timezone

    from sprechstunde.clients.choices import ConsentMethod
    from sprechstunde.clients.models import Consent, ConsentText

    text, _created = ConsentText.objects.get_or_create(
        purpose=purpose,
        language="de",
        version=1,
        defaults={"title": str(purpose), "body": "Text", "published_at": timezone.now()},
    )
    return Consent.objects.create(
        client=client,
        purpose=purpose,
        text=text,
        given_at=timezone.now(),
        given_method=ConsentMethod.PORTAL,
    )


def portal_client(*, case_manager, email, delivery=True):
    """A client with a portal account, consent to portal use and (by default) to
    electronic delivery of decisions (§ 37 (2a) SGB X)."""
    from sprechstunde.accounts.choices import Role
    from sprechstunde.accounts.models import User
    from sprechstunde.clients.choices import ConsentPurpose
    from sprechstunde.clients.factories import ClientFactory

    account = User.objects.create_user(
        email, role=Role.CLIENT, first_name="Kim", last_name="Kunde", preferred_language="en"
    )
    client = ClientFactory(
        case_manager=case_manager,
        user=account,
        email=email,
        preferred_language="en",
        first_name="Kim",
        last_name="Kunde",
    )
    consent_give(client, ConsentPurpose.PORTAL)
    if delivery:
        consent_give(client, ConsentPurpose.ELECTRONIC_DELIVERY)
    return client


# --- Objects of a given client, made directly (for the access and crawler tests) ----------


def plan_issued_for(client):
    """An issued plan (version 1) of `client`, visible to them and their caseload."""
    from django.utils import timezone

    from .models import CooperationPlan, PlanVersion

    plan = CooperationPlan.objects.create(
        client=client,
        template=cast(Any, PlanTemplateFactory()),
        goals=["Ziel"],
        steps=[{"what": "Schritt", "who": "Kundin", "by": ""}],
        support=["Beratung"],
        review_on=timezone.localdate() + datetime.timedelta(days=60),
        current_version=1,
        status="issued",
    )
    PlanVersion.objects.create(
        plan=plan,
        number=1,
        content={"title": "Plan", "goals": ["Ziel"], "steps": [], "support": []},
        review_on=cast(Any, plan.review_on),
        issued_at=timezone.now(),
        pdf=b"%PDF-1.7 sample",
        pdf_sha256="0" * 64,
    )
    return plan


def decision_in_postbox_for(client):
    """A sealed decision of `client` in their portal postbox."""
    from django.utils import timezone

    from .models import Decision

    return Decision.objects.create(
        client=client,
        template=cast(Any, DecisionTemplateFactory()),
        values={"antragsdatum": "2026-01-15", "betrag": "10.00", "begruendung": "Belegt"},
        status="in_postbox",
        channel="portal",
        reference="2026-000001",
        issued_at=timezone.now(),
        issued_by=client.case_manager,
        pdf=b"%PDF-1.7 sample",
    )


def postal_delivery_for(client):
    """A sealed decision of `client` waiting to be sent by post."""
    from .models import PostalDelivery

    decision = decision_in_postbox_for(client)
    decision.status = "awaiting_post"
    decision.channel = "post"
    decision.save()
    return PostalDelivery.objects.create(decision=decision)


def confirmation_for(client):
    from .models import Confirmation

    return Confirmation.objects.create(
        client=client, title="Erklärung", body="Ich erkläre …", text_sha256="0" * 64
    )
