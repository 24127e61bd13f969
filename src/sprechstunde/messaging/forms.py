"""The message form: works as a plain POST without JavaScript; chat.js takes it over."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import MESSAGE_MAX_LENGTH


class MessageForm(forms.Form):
    """A message and the id that makes sending it twice harmless (made when the page is
    rendered, so a double tap or a resubmitted page stores the message once). The text may
    be empty when files are attached: services.message_send decides."""

    body = forms.CharField(
        label=_("Your message"),
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "maxlength": MESSAGE_MAX_LENGTH, "autocomplete": "off"}
        ),
        error_messages={"required": _("Please write a message.")},
    )
    client_msg_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not self.is_bound:
            self.initial.setdefault("client_msg_id", uuid.uuid4())
