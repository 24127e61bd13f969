import datetime

import pytest
from django.utils import timezone

from sprechstunde.agreements.factories import (
    DecisionTemplateFactory,
    PlanTemplateFactory,
    portal_client,
)


@pytest.fixture
def plan_template(db):
    return PlanTemplateFactory()


@pytest.fixture
def decision_template(db):
    return DecisionTemplateFactory()


@pytest.fixture
def client_record(case_manager):
    return portal_client(case_manager=case_manager, email="kim@example.org")


@pytest.fixture
def paper_client(case_manager):
    """A portal user without consent to electronic delivery: decisions go by post, to the
    postal address on her record."""
    client = portal_client(case_manager=case_manager, email="post@example.org", delivery=False)
    client.postal_street = "Lindenweg 7"
    client.postal_code = "88214"
    client.postal_city = "Ravensburg"
    client.save()
    return client


@pytest.fixture
def review_on():
    return timezone.localdate() + datetime.timedelta(days=90)


DECISION_VALUES = {
    "antragsdatum": "2026-01-15",
    "betrag": "1.234,50",
    "begruendung": "Die Bewerbungen sind belegt.",
}


@pytest.fixture
def admin_client_logged_in(admin_user):
    from django.test import Client as WebClient
    from tests.test_url_access import log_in

    admin_user.is_staff = True
    admin_user.is_superuser = True
    admin_user.save()
    browser = WebClient(headers={"accept-language": "en"})
    log_in(browser, admin_user)
    return browser
