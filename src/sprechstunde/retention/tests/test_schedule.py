"""The daily run's slot, and the job itself (dry by setting, deleting otherwise)."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from sprechstunde.core.models import OutboxMessage
from sprechstunde.retention.services import _next_slot
from sprechstunde.retention.tasks import retention_run_task


def _local(hour: int) -> datetime.datetime:
    return datetime.datetime(2026, 12, 7, hour, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))


def test_the_next_run_is_at_the_configured_hour_today_or_tomorrow(settings):
    settings.RETENTION_RUN_HOUR = 3

    assert timezone.localtime(_next_slot(_local(1))) == _local(3).replace(minute=0)
    assert timezone.localtime(_next_slot(_local(4))) == (
        _local(3).replace(minute=0) + datetime.timedelta(days=1)
    )


@pytest.mark.django_db
def test_the_job_only_lists_in_dry_run_mode_and_deletes_otherwise(settings):
    mail = OutboxMessage.objects.create(subject="Code", from_email="a@b", to="c@d", body="1")
    OutboxMessage.objects.filter(pk=mail.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=8)
    )
    settings.RETENTION_DRY_RUN = True

    result = retention_run_task.call()

    assert result["outbox_mail"] == 1
    assert OutboxMessage.objects.filter(pk=mail.pk).exists()

    settings.RETENTION_DRY_RUN = False
    assert retention_run_task.call()["outbox_mail"] == 1
    assert not OutboxMessage.objects.filter(pk=mail.pk).exists()
