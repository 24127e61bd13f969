"""Our credentials against a real coturn on loopback: a fresh credential gets a relay,
a forged HMAC, a credential for another secret and an expired (replayed) one get 401."""

from __future__ import annotations

import time

import pytest

from sprechstunde.video_calls import turn

from .coturn import allocate, start_coturn


@pytest.fixture(scope="module")
def coturn():
    server = start_coturn()
    yield server
    server.stop()


def test_minted_credentials_get_a_relay_and_forged_or_expired_ones_are_refused(coturn, settings):
    settings.TURN_SHARED_SECRET = coturn.secret
    username, password = turn.turn_credentials(participant_id=7, ttl=300)
    assert allocate(coturn.port, username, password) == 0

    forged_password = password[:-4] + ("AAA=" if not password.endswith("AAA=") else "BBB=")
    assert allocate(coturn.port, username, forged_password) == 401

    settings.TURN_SHARED_SECRET = "not-the-secret"
    other_username, other_password = turn.turn_credentials(participant_id=7, ttl=300)
    assert allocate(coturn.port, other_username, other_password) == 401

    settings.TURN_SHARED_SECRET = coturn.secret
    # A credential that was valid once but whose expiry has passed (a replay) is refused.
    old_username, old_password = turn.turn_credentials(
        participant_id=7, now=time.time() - 3600, ttl=600
    )
    assert allocate(coturn.port, old_username, old_password) == 401
    # Changing the expiry in the username breaks the HMAC.
    later = f"{int(time.time()) + 99999}:7"
    assert allocate(coturn.port, later, password) == 401
