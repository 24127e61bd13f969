import uuid

import pytest


@pytest.fixture
def client():
    """The test client as an English-speaking browser: the assertions use the English msgids."""
    from django.test import Client

    return Client(headers={"accept-language": "en"})


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Each test starts with empty public-check counters: its own local-memory cache."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"signatures-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def client_user(db):
    from sprechstunde.accounts.factories import ClientUserFactory

    return ClientUserFactory()
