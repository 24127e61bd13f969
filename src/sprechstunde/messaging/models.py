"""Written conversations between a client and the Jobcenter staff who look after them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sprechstunde.clients.models import Client
from sprechstunde.documents.models import Document

from .choices import Side


class Conversation(models.Model):
    """The one conversation of a client with the Jobcenter (their case manager, substitutes,
    team lead). `last_sequence` is the counter from which message numbers are handed out."""

    client = models.OneToOneField(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="conversation"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Incremented only by services.message_send while it holds this row's lock.
    last_sequence = models.PositiveBigIntegerField(_("last message number"), default=0)
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self) -> str:
        return f"Conversation {self.pk}"


class Message(models.Model):
    """One message. `sequence` orders a conversation (1, 2, 3 … without gaps);
    `client_msg_id` is chosen by the sender's device and makes a resend harmless."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sequence = models.PositiveBigIntegerField(_("number"))
    client_msg_id = models.UUIDField(_("sender's message id"))
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sender"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    sender_side = models.CharField(_("sent by"), max_length=10, choices=Side.choices)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        ordering = ["conversation", "sequence"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "sequence"], name="message_sequence_unique"
            ),
            models.UniqueConstraint(
                fields=["conversation", "client_msg_id"], name="message_client_msg_id_unique"
            ),
        ]
        indexes = [
            # Unread counts (navigation, inbox, today page) count one side's messages after a
            # read position: answered from this index alone, without reading the messages.
            models.Index(
                fields=["conversation", "sender_side", "sequence"], name="message_side_sequence"
            ),
        ]

    def __str__(self) -> str:
        return f"Message {self.conversation_id}#{self.sequence}"

    @property
    def client_id(self) -> int:
        """The client the message belongs to (the audit trail files it under them)."""
        return self.conversation.client_id


class MessageAttachment(models.Model):
    """A photo or PDF sent with a message. The file itself is a document of the client
    (documents app: virus check, encryption, previews); this row only says which message
    carried it, in which order. A deleted document leaves the row with `document` empty,
    so the message can say that an attachment was removed."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    document = models.ForeignKey(
        Document,
        verbose_name=_("document"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="message_attachments",
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["message", "position", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return f"Attachment {self.message_id}/{self.position}"


class ReadState(models.Model):
    """How far one person has read a conversation, and up to where they were told by e-mail.

    Only addressees (the client, and staff who may answer) make read receipts; a team lead
    who only looks on keeps a read state for their own unread count, but no receipt.
    """

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="read_states"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_read_states"
    )
    side = models.CharField(max_length=10, choices=Side.choices)
    is_addressee = models.BooleanField(default=False)
    last_read_sequence = models.PositiveBigIntegerField(default=0)
    last_read_at = models.DateTimeField(null=True, blank=True)
    # The highest message number an e-mail notice went out for (one notice per unread batch).
    notified_sequence = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("read state")
        verbose_name_plural = _("read states")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="read_state_one_per_user")
        ]

    def __str__(self) -> str:
        return f"Read state {self.conversation_id}/{self.user_id}: {self.last_read_sequence}"
