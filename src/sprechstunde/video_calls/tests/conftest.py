"""Fixtures for the video call tests: a video appointment starting in five minutes between
`case_manager` and a portal client with video consent, logins and websockets."""

from __future__ import annotations

import pytest

from sprechstunde.messaging.factories import portal_client_create
from sprechstunde.messaging.tests.conftest import (  # noqa: F401 (fixtures)
    browser_for,
    communicator,
    english,
    fresh_channel_layer,
    receive_until,
    run,
    session_cookie,
)
from sprechstunde.video_calls import services
from sprechstunde.video_calls.factories import VideoAppointmentFactory, video_consent


@pytest.fixture
def portal_client(case_manager):
    client = portal_client_create(
        case_manager=case_manager, email="kim@example.org", first_name="Kim", last_name="Kunde"
    )
    video_consent(client)
    return client


@pytest.fixture
def foreign_client(other_case_manager):
    client = portal_client_create(
        case_manager=other_case_manager, email="fremd@example.org", first_name="Fritz"
    )
    video_consent(client)
    return client


@pytest.fixture
def appointment(case_manager, portal_client):
    return VideoAppointmentFactory(case_manager=case_manager, client=portal_client)


@pytest.fixture
def foreign_appointment(other_case_manager, foreign_client):
    return VideoAppointmentFactory(case_manager=other_case_manager, client=foreign_client)


@pytest.fixture
def call(appointment):
    return services.call_get_or_create(appointment=appointment)


def ws_path(call) -> str:
    return f"/ws/video/{call.pk}/"
