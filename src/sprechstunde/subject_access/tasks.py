"""Background jobs: make a copy of a client's data, and delete it when its link expires."""

from __future__ import annotations

from django_tasks import task


@task()
def data_export_build_task(export_id: str) -> str:
    """Make the ZIP (see services.data_export_build); the progress page follows it."""
    from .services import data_export_build

    return data_export_build(export_id=export_id)


@task()
def data_export_expire_task(export_id: str) -> bool:
    """Queued for the moment a copy's link expires: delete its file and key."""
    from .services import data_export_expire

    return data_export_expire(export_id=export_id)
