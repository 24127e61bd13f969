"""E-mail backend for development (DEBUG): keeps mails in the dev outbox and prints them."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage, EmailMultiAlternatives


class DevOutboxBackend(BaseEmailBackend):
    """Stores every message as an OutboxMessage and writes it to standard output."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from .models import OutboxMessage

        if not settings.DEV_OUTBOX_ENABLED:
            # The settings never pick this backend without DEBUG; refuse rather than keep
            # login codes where every staff member could read them.
            raise ImproperlyConfigured("The dev outbox is for development (DEBUG) only.")
        sent = 0
        for message in email_messages:
            html = ""
            if isinstance(message, EmailMultiAlternatives):
                for content, mimetype in message.alternatives:
                    if mimetype == "text/html":
                        html = str(content)
            OutboxMessage.objects.create(
                subject=str(message.subject),
                from_email=message.from_email,
                to=", ".join(message.to),
                body=str(message.body),
                html_body=html,
            )
            sys.stdout.write(
                f"\n--- mail to {', '.join(message.to)}: {message.subject}\n{message.body}\n---\n"
            )
            sent += 1
        sys.stdout.flush()
        return sent
