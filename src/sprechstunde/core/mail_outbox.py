"""E-mail backend for development (DEBUG): keeps mails in the dev outbox and prints them."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from email.mime.base import MIMEBase

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage, EmailMultiAlternatives


class DevOutboxBackend(BaseEmailBackend):
    """Stores every message as an OutboxMessage and writes it to standard output."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from .models import OutboxAttachment, OutboxMessage

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
            stored = OutboxMessage.objects.create(
                subject=str(message.subject),
                from_email=message.from_email,
                to=", ".join(message.to),
                body=str(message.body),
                html_body=html,
            )
            OutboxAttachment.objects.bulk_create(
                OutboxAttachment(
                    message=stored,
                    filename=filename,
                    mimetype=mimetype,
                    content=content,
                    size=len(content),
                )
                for filename, content, mimetype in _attachments(message)
            )
            sys.stdout.write(
                f"\n--- mail to {', '.join(message.to)}: {message.subject}\n{message.body}\n---\n"
            )
            sent += 1
        sys.stdout.flush()
        return sent


def _attachments(message: EmailMessage) -> Iterator[tuple[str, bytes, str]]:
    """(filename, bytes, type) of each attachment, as the recipient's mail program gets it:
    text is sent as UTF-8 (what Django's own encoding does), bytes stay as they are."""
    for number, attachment in enumerate(message.attachments, start=1):
        if isinstance(attachment, MIMEBase):
            payload = attachment.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
            filename = attachment.get_filename() or f"attachment-{number}"
            mimetype = attachment.get_content_type()
        else:
            filename, raw, mimetype = attachment
            content = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
            filename = filename or f"attachment-{number}"
            mimetype = mimetype or "application/octet-stream"
        yield str(filename), content, str(mimetype)
