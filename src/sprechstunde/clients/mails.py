"""The invitation by e-mail (or by SMS for a client without e-mail): the link, how long it is
valid, the Jobcenter's name. Nothing else.

Notifications carry no social data, so the mail neither names the client nor says why the
Jobcenter writes beyond the invitation itself. It is sent after commit (the token exists only
in memory and in this mail), in the client's preferred language.
"""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation

from sprechstunde.core.sms import sms_queue, sms_render

from .models import Invitation

logger = logging.getLogger(__name__)


def invitation_url(token: str) -> str:
    """The absolute link that opens the acceptance page for a token."""
    return settings.SITE_URL + reverse("clients:invitation_accept", kwargs={"token": token})


def invitation_mail_send(*, invitation_id: int, token: str) -> bool:
    """Send one invitation mail; record on the invitation whether it left. True when sent."""
    invitation = Invitation.objects.select_related("client").get(pk=invitation_id)
    client = invitation.client
    language = client.preferred_language or settings.LANGUAGE_CODE
    context = {
        "url": invitation_url(token),
        "expires_at": invitation.expires_at,
        "jobcenter_name": settings.JOBCENTER_NAME,
        "jobcenter_phone": getattr(settings, "JOBCENTER_PHONE", ""),
    }
    with translation.override(language):
        subject = " ".join(render_to_string("clients/mail/invitation_subject.txt", context).split())
        text = render_to_string("clients/mail/invitation.txt", context)
        html = render_to_string("clients/mail/invitation.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[client.email])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError):
        logger.warning("Invitation mail %s could not be sent", invitation_id, exc_info=True)
        Invitation.objects.filter(pk=invitation_id).update(mail_failed_at=timezone.now())
        return False
    Invitation.objects.filter(pk=invitation_id).update(
        mail_sent_at=timezone.now(), mail_failed_at=None
    )
    return True


def invitation_sms_send(*, invitation_id: int, token: str) -> bool:
    """Queue the invitation as a text message (a client without e-mail): the link, how long
    it is valid, the Jobcenter's name; in the client's language. True when queued."""
    invitation = Invitation.objects.select_related("client").get(pk=invitation_id)
    client = invitation.client
    language = client.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):
        until = formats.date_format(timezone.localtime(invitation.expires_at), "SHORT_DATE_FORMAT")
    text = sms_render(
        kind="invitation",
        context={"url": invitation_url(token), "until": until},
        language=language,
    )
    message = sms_queue(
        to=client.mobile_number,
        kind="invitation",
        text=text,
        dedupe_key=f"invitation:{invitation_id}",
    )
    if message is None:
        logger.warning("Invitation SMS %s could not be queued", invitation_id)
        Invitation.objects.filter(pk=invitation_id).update(mail_failed_at=timezone.now())
        return False
    Invitation.objects.filter(pk=invitation_id).update(sms=message)
    return True
