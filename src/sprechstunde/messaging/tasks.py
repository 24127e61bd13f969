"""Background jobs of the messaging app: the delayed e-mail notice."""

from __future__ import annotations

from django_tasks import task


@task()
def message_notice_send(message_id: int) -> str:
    """Runs a while after a message was sent (MESSAGE_NOTICE_DELAY_SECONDS): tells the
    addressee by e-mail that there is a new message, unless they have read it by now."""
    from .services import message_notice_deliver

    return message_notice_deliver(message_id=message_id)
