import pytest


@pytest.fixture
def client():
    """The test client as an English-speaking browser: the assertions use the English msgids."""
    from django.test import Client

    return Client(headers={"accept-language": "en"})
