"""Background jobs of video calls: the sweep that ends what nobody ended and records
attendance once a call's join window is over."""

from __future__ import annotations

from django_tasks import task


@task()
def calls_finish_due_task() -> int:
    """Finish every call whose join window is over (see services.calls_finish_due)."""
    from .services import calls_finish_due

    return calls_finish_due()
