"""Background jobs of the eforms app: the content-free notice to the client that there is
news about a form she sent."""

from __future__ import annotations

from django_tasks import task


@task()
def submission_notice_task(submission_id: int, kind: str) -> str:
    """After a staff step (needs more, decision, done): tell the client, without content."""
    from .services.staff import submission_notice_deliver

    return submission_notice_deliver(submission_id=submission_id, kind=kind)
