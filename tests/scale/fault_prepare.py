"""Run by tests/scale/test_faults_database_redis.py in its nodes' environment (`python -m
tests.scale.fault_prepare`): what tests.scale.cluster_prepare makes (case manager, client,
conversation, login sessions), the client's language set to Ukrainian, and a video
appointment of the two that starts in five minutes, with the client's video consent, and its
call. Prints one JSON line."""

from __future__ import annotations

import contextlib
import io
import json

from tests.scale import cluster_prepare


def main() -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        cluster_prepare.main()
    fixtures = json.loads(printed.getvalue().strip().splitlines()[-1])

    from sprechstunde.messaging.models import Conversation
    from sprechstunde.video_calls import services
    from sprechstunde.video_calls.factories import VideoAppointmentFactory

    conversation = Conversation.objects.select_related("client").get(pk=fixtures["conversation"])
    client = conversation.client
    # A Ukrainian client (her own setting): what she is shown in an outage is Ukrainian.
    client.user.preferred_language = "uk"
    client.user.save(update_fields=["preferred_language"])
    # The cluster's client accepted the invitation with video consent (cluster_prepare).
    appointment = VideoAppointmentFactory(case_manager=client.case_manager, client=client)
    call = services.call_get_or_create(appointment=appointment)
    print(json.dumps({**fixtures, "call": call.pk}))


if __name__ == "__main__":
    main()
