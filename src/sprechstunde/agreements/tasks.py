"""Background jobs of the agreements app: sealing (retried with back-off while the
sealing service is down), the postbox notice, review reminders, and the sweep."""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tasks import task, task_backends

logger = logging.getLogger(__name__)


def _defer(job: object, run_after: object, *args: object) -> None:
    backend = task_backends[job.backend]  # type: ignore[attr-defined]
    if backend.supports_defer:
        job.using(run_after=run_after).enqueue(*args)  # type: ignore[attr-defined]


@task()
def decision_seal(decision_id: int) -> str:
    """Seal an issued decision and deliver it; while sealing is unavailable, try again later
    (the decision stays "waiting for seal" and is never delivered unsealed)."""
    from .models import Decision
    from .services import decision_seal_attempt

    outcome = decision_seal_attempt(decision_id=decision_id)
    if outcome == "waiting":
        run_after = Decision.objects.filter(pk=decision_id).values_list("next_seal_at", flat=True)
        _defer(decision_seal, run_after.first() or timezone.now(), decision_id)
    return outcome


@task()
def confirmation_seal(confirmation_id: int) -> str:
    """Seal a confirmed declaration; retried like decisions."""
    from .models import Confirmation
    from .services import confirmation_seal_attempt

    outcome = confirmation_seal_attempt(confirmation_id=confirmation_id)
    if outcome == "waiting":
        run_after = Confirmation.objects.filter(pk=confirmation_id).values_list(
            "next_seal_at", flat=True
        )
        _defer(confirmation_seal, run_after.first() or timezone.now(), confirmation_id)
    return outcome


@task()
def decision_notice_send(decision_id: int) -> str:
    """The content-free "new document in your postbox" e-mail; retried while SMTP is down."""
    from .services import decision_notice_deliver
    from .services.common import retry_delay

    try:
        return decision_notice_deliver(decision_id=decision_id)
    except Exception:
        logger.warning(
            "Decision notice %s could not be sent; will retry", decision_id, exc_info=True
        )
        _defer(decision_notice_send, timezone.now() + retry_delay(3), decision_id)
        raise


@task()
def agreements_sweep() -> dict[str, int]:
    """Safety net (also `manage.py agreements_dispatch`): seals that are due again,
    notices not yet sent, and due review reminders."""
    from .choices import DecisionStatus, DeliveryEventKind
    from .models import Decision
    from .services import (
        decision_notice_deliver,
        decision_seal_attempt,
        plan_review_reminders_send_due,
        seals_due_ids,
    )

    sealed = sum(decision_seal_attempt(decision_id=pk) == "sealed" for pk in seals_due_ids())
    notified = 0
    unnotified = Decision.objects.filter(status=DecisionStatus.IN_POSTBOX).exclude(
        events__kind=DeliveryEventKind.NOTIFIED
    )
    for pk in unnotified.values_list("pk", flat=True):
        try:
            notified += decision_notice_deliver(decision_id=pk) == "sent"
        except Exception:
            logger.warning("Decision notice %s failed in the sweep", pk, exc_info=True)
    reminders = plan_review_reminders_send_due()
    return {"sealed": sealed, "notified": notified, "reminders": reminders}
