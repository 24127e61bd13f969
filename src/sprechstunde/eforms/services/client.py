"""The client's side of a form: start it, save it section by section (a draft she can go on
with on another device), attach files through the documents upload pipeline, confirm with
a one-time code and submit. Submitting renders the PDF/A and the JSON for the file.

Every write checks that the actor is the client herself (`permissions`), runs in one
transaction and leaves an audit entry. Wrong input never loses anything: valid answers are
saved, and what she typed comes back with the errors (`SectionOutcome`).
"""

# mypy: disallow-untyped-defs, disallow-incomplete-defs

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from sprechstunde.audit.services import audit_record
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.models import Client
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents.models import Document

from .. import fields, permissions, rendering
from ..choices import SubmissionStatus
from ..definitions import section_by_key, text_for
from ..models import FormAttachment, FormDefinition, FormEvent, FormSubmission

STALE_MESSAGE = _(
    "This form was changed meanwhile, perhaps on another device. Your entries on this page "
    "were not saved yet: please check them and save again."
)


class StaleRevision(ApplicationError):
    """The page was older than the saved form (another device saved in between)."""


# --- helpers ------------------------------------------------------------------------------


def _client_of(actor: Any) -> Client:
    client = client_permissions.client_profile_of(user=actor)
    if client is None:
        raise PermissionDeniedError(_("Only clients can fill in forms."))
    return client


def _require_editable(actor: Any, submission: FormSubmission) -> None:
    if not permissions.is_own_submission(user=actor, submission=submission):
        raise PermissionDeniedError(_("You cannot change this form."))
    if not permissions.client_can_edit(user=actor, submission=submission):
        raise ApplicationError(_("This form has been submitted and can no longer be changed."))


def _language_of(client: Client) -> str:
    account = client.user
    language = (account.preferred_language if account else "") or client.preferred_language
    return language if language in settings.CLIENT_LANGUAGES else settings.LANGUAGE_CODE


def _locked(submission: FormSubmission) -> FormSubmission:
    return (
        FormSubmission.objects.select_for_update()
        .select_related("definition", "client")
        .get(pk=submission.pk)
    )


def section_keys_visible(submission: FormSubmission) -> list[str]:
    """The sections she goes through, in order, as her answers decide them."""
    return [
        section["key"]
        for section in fields.visible_sections(submission.definition.spec, submission.answers)
    ]


def attachment_counts(submission: FormSubmission) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in submission.attachments.values_list("field_key", flat=True):
        counts[key] = counts.get(key, 0) + 1
    return counts


# --- start --------------------------------------------------------------------------------


def submission_start(
    *, actor: Any, definition: FormDefinition, request: HttpRequest | None = None
) -> FormSubmission:
    """Start the current version of a form, or go on with her open draft of the same form
    (one draft per form, so a second tap on "start" never splits her answers)."""
    client = _client_of(actor)
    if not definition.is_current:
        raise ApplicationError(_("This form has been replaced by a newer version."))
    with transaction.atomic():
        # Serialise starts of one client, so that two taps make one draft.
        Client.objects.select_for_update().filter(pk=client.pk).first()
        draft = (
            FormSubmission.objects.filter(
                client=client, definition__slug=definition.slug, status=SubmissionStatus.DRAFT
            )
            .select_related("definition")
            .first()
        )
        if draft is not None:
            return draft
        submission = FormSubmission.objects.create(
            client=client,
            definition=definition,
            current_section=definition.spec["sections"][0]["key"],
        )
        audit_record(actor=actor, action="eforms.start", target=submission, request=request)
    return submission


# --- saving a section ---------------------------------------------------------------------


@dataclass
class SectionOutcome:
    """What a save did: the submission as saved, the section's inputs and errors to show
    again (empty on success), and where to go next (a section key, "review", "leave", or
    "" to stay on the page)."""

    submission: FormSubmission
    section_key: str
    raw: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    go_to: str = ""
    stale: bool = False


ACTIONS = {"next", "back", "save", "add", "remove"}


def _group_changes(action: str, argument: str) -> dict[str, int]:
    if action == "add":
        return {argument: -1}
    if action == "remove":
        key, _sep, index = argument.rpartition(":")
        if index.isascii() and index.isdigit() and len(index) < 4:
            return {key: int(index)}
    return {}


def submission_section_save(
    *,
    actor: Any,
    submission: FormSubmission,
    section_key: str,
    data: Mapping[str, Any],
    revision: int | None,
    action: str,
    argument: str = "",
    request: HttpRequest | None = None,
    today: datetime.date | None = None,
) -> SectionOutcome:
    """Save one section. `action`: "next" (required questions must be answered, then the
    next section or the review), "back", "save" (save and leave), "add"/"remove" (an entry
    of the group `argument`, "key" or "key:index"). Valid answers are always saved; with
    errors the client stays on the page and sees what she typed. A `revision` older than
    the saved one saves nothing and shows her input back (another device saved)."""
    _require_editable(actor, submission)
    if action not in ACTIONS:
        action = "save"
    spec = submission.definition.spec
    section = section_by_key(spec, section_key)
    if section is None:
        raise ApplicationError(_("This part of the form does not exist."))
    with transaction.atomic():
        locked = _locked(submission)
        parsed = fields.section_parse(
            spec,
            section,
            data,
            locked.answers,
            complete=action == "next",
            today=today,
            group_changes=_group_changes(action, argument),
        )
        if revision is not None and revision != locked.revision:
            return SectionOutcome(
                submission=locked,
                section_key=section_key,
                raw=parsed.raw,
                errors={"__all__": STALE_MESSAGE},
                stale=True,
            )
        locked.answers = fields.answers_merge(spec, locked.answers, parsed)
        locked.revision += 1
        locked.updated_at = timezone.now()
        visible = section_keys_visible(locked)
        go_to = ""
        if not parsed.errors:
            if action == "next":
                after = visible[visible.index(section_key) + 1 :] if section_key in visible else []
                go_to = after[0] if after else "review"
            elif action == "back":
                before = visible[: visible.index(section_key)] if section_key in visible else []
                go_to = before[-1] if before else section_key
            elif action == "save":
                go_to = "leave"
        if action == "next" and not parsed.errors:
            # Required attachments of the section: the files are added on their own page.
            counts = attachment_counts(locked)
            for item in section["fields"]:
                if (
                    item["type"] == "attachment"
                    and item.get("required")
                    and fields.condition_met(item.get("show_if"), locked.answers)
                    and not counts.get(item["key"])
                ):
                    parsed.errors[item["key"]] = _("Please attach at least one file.")
                    go_to = ""
        locked.current_section = go_to if go_to in visible else section_key
        locked.save(update_fields=["answers", "revision", "updated_at", "current_section"])
        audit_record(actor=actor, action="eforms.save", target=locked, request=request)
    return SectionOutcome(
        submission=locked,
        section_key=section_key,
        raw=parsed.raw,
        errors=dict(parsed.errors),
        go_to=go_to,
    )


# --- attachments --------------------------------------------------------------------------


def _attachment_field(submission: FormSubmission, field_key: str) -> dict[str, Any]:
    for section in submission.definition.spec["sections"]:
        for item in section["fields"]:
            if item["key"] == field_key and item["type"] == "attachment":
                return dict(item)
    raise ApplicationError(_("This part of the form does not exist."))


def attachment_room(*, submission: FormSubmission, field_key: str) -> int:
    """How many more files the field takes."""
    spec = _attachment_field(submission, field_key)
    maximum = int(spec.get("max_files") or 5)
    return max(0, maximum - submission.attachments.filter(field_key=field_key).count())


def attachment_add(
    *,
    actor: Any,
    submission: FormSubmission,
    field_key: str,
    document: Document,
    request: HttpRequest | None = None,
) -> FormAttachment:
    """Link a document she just sent (through the upload pipeline) to an attachment field."""
    _require_editable(actor, submission)
    if document.client_id != submission.client_id:
        raise PermissionDeniedError(_("You cannot attach this file."))
    with transaction.atomic():
        locked = _locked(submission)
        if attachment_room(submission=locked, field_key=field_key) <= 0:
            raise ApplicationError(
                _("No more files can be attached here. Remove one first."), field="files"
            )
        attachment = FormAttachment.objects.create(
            submission=locked, field_key=field_key, document=document
        )
        locked.revision += 1
        locked.updated_at = timezone.now()
        locked.save(update_fields=["revision", "updated_at"])
        audit_record(actor=actor, action="eforms.attach", target=locked, request=request)
    return attachment


def attachment_remove(
    *,
    actor: Any,
    submission: FormSubmission,
    attachment_id: int,
    request: HttpRequest | None = None,
) -> None:
    """Take a file off the form; the document stays among her documents."""
    _require_editable(actor, submission)
    with transaction.atomic():
        locked = _locked(submission)
        deleted, _rows = FormAttachment.objects.filter(pk=attachment_id, submission=locked).delete()
        if not deleted:
            raise ApplicationError(_("This file is no longer attached."))
        locked.revision += 1
        locked.updated_at = timezone.now()
        locked.save(update_fields=["revision", "updated_at"])
        audit_record(actor=actor, action="eforms.detach", target=locked, request=request)


# --- review, code and submit --------------------------------------------------------------


@dataclass
class Problem:
    section_key: str
    section_title: str
    field_key: str
    label: str
    message: Any


def submission_problems(
    *, submission: FormSubmission, today: datetime.date | None = None
) -> list[Problem]:
    """What still keeps the form from being submitted, section by section (the review page
    lists these with links; submitting refuses while there are any)."""
    spec = submission.definition.spec
    language = translation.get_language() or settings.LANGUAGE_CODE
    by_key = fields.fields_by_key(spec)
    counts = attachment_counts(submission)
    problems: list[Problem] = []
    refused = submission.attachments.exclude(
        document__status__in=["ready", "processing", "receiving"]
    ).select_related("document")
    refused_fields = {attachment.field_key for attachment in refused}
    for section in fields.visible_sections(spec, submission.answers):
        found = fields.section_problems(spec, section, submission.answers, counts, today=today)
        for item in section["fields"]:
            if item["type"] == "attachment" and item["key"] in refused_fields:
                found.setdefault(
                    item["key"],
                    _("A file was not accepted (for example a virus was found). Remove it."),
                )
        for name, message in found.items():
            key = name.split("-")[0]
            problems.append(
                Problem(
                    section_key=section["key"],
                    section_title=text_for(section["title"], language),
                    field_key=name,
                    label=text_for(by_key.get(key, {}).get("label"), language),
                    message=message,
                )
            )
    return problems


def _code_settings() -> tuple[int, int, int]:
    """Length, lifetime (seconds) and attempts: the same as the clients' login codes."""
    length = int(getattr(settings, "ACCOUNT_LOGIN_BY_CODE_FORMAT", {}).get("length", 6))
    timeout = int(getattr(settings, "ACCOUNT_LOGIN_BY_CODE_TIMEOUT", 600))
    attempts = int(getattr(settings, "ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS", 5))
    return length, timeout, attempts


def _code_hash(submission: FormSubmission, code: str) -> str:
    key = settings.SECRET_KEY.encode("utf-8")
    message = f"form-submission:{submission.pk}:{submission.revision}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CodeChannel:
    """Where the code went: "email" or "sms", and the address shown masked."""

    kind: str
    shown: str


def code_channel(client: Client) -> CodeChannel | None:
    """The way she logs in: her login e-mail, else her mobile number (SMS, when a gateway
    is set up). None while processing is restricted (nothing is sent then) or when there
    is neither."""
    from sprechstunde.core.sms import sms_enabled

    if client.processing_restricted_at is not None:
        return None
    account = client.user
    address = (account.email if account else "") or client.email
    if address:
        name, _at, domain = address.partition("@")
        return CodeChannel(kind="email", shown=f"{name[:1]}…@{domain}")
    if client.mobile_number and sms_enabled():
        return CodeChannel(kind="sms", shown=f"…{client.mobile_number[-3:]}")
    return None


def submission_code_send(
    *,
    actor: Any,
    submission: FormSubmission,
    revision: int | None = None,
    request: HttpRequest | None = None,
) -> CodeChannel:
    """Send a fresh one-time code (the message holds the code and nothing else). The code
    is bound to the revision she reviewed: a change after that makes it void."""
    _require_editable(actor, submission)
    if revision is not None and revision != submission.revision:
        raise StaleRevision(STALE_MESSAGE)
    if submission_problems(submission=submission):
        raise ApplicationError(_("Some answers are still missing. Please complete them first."))
    channel = code_channel(submission.client)
    if channel is None:
        raise ApplicationError(
            _(
                "We cannot send you a code: there is no e-mail address or mobile number for "
                "your login. Please contact your Jobcenter."
            )
        )
    length, timeout, _attempts = _code_settings()
    code = "".join(secrets.choice("0123456789") for _ in range(length))
    with transaction.atomic():
        locked = _locked(submission)
        locked.code_hash = _code_hash(locked, code)
        locked.code_expires_at = timezone.now() + datetime.timedelta(seconds=timeout)
        locked.code_attempts = 0
        locked.save(update_fields=["code_hash", "code_expires_at", "code_attempts"])
        audit_record(actor=actor, action="eforms.code", target=locked, request=request)
    _deliver_code(locked.client, channel, code, minutes=timeout // 60)
    return channel


def _deliver_code(client: Client, channel: CodeChannel, code: str, *, minutes: int) -> None:
    language = _language_of(client)
    context = {"code": code, "minutes": minutes, "jobcenter_name": settings.JOBCENTER_NAME}
    if channel.kind == "sms":
        from sprechstunde.core.sms import sms_queue, sms_render

        text = sms_render(kind="form_code", context=context, language=language)
        sms_queue(to=client.mobile_number, kind="form_code", text=text)
        return
    account = client.user
    address = (account.email if account else "") or client.email
    with translation.override(language):
        subject = render_to_string("eforms/mail/code_subject.txt", context).strip()
        body = render_to_string("eforms/mail/code.txt", context)
    send_mail(subject, body, None, [address])


def _check_code(actor: Any, submission: FormSubmission, code: Any, request: Any) -> None:
    _length, _timeout, max_attempts = _code_settings()
    entered = "".join(str(code or "").split())
    with transaction.atomic():
        locked = _locked(submission)
        if not locked.code_hash or locked.code_expires_at is None:
            raise ApplicationError(_("Please request a code first."), field="code")
        if locked.code_expires_at <= timezone.now() or locked.code_attempts >= max_attempts:
            raise ApplicationError(
                _("This code is no longer valid. Please request a new one."), field="code"
            )
        if hmac.compare_digest(_code_hash(locked, entered), locked.code_hash):
            return
        FormSubmission.objects.filter(pk=locked.pk).update(code_attempts=locked.code_attempts + 1)
        audit_record(actor=actor, action="eforms.code_wrong", target=locked, request=request)
    raise ApplicationError(_("The code is not correct. Please check it."), field="code")


def submission_submit(
    *,
    actor: Any,
    submission: FormSubmission,
    code: Any,
    revision: int | None = None,
    request: HttpRequest | None = None,
) -> FormSubmission:
    """Check the one-time code and submit: status received, the PDF/A and the JSON stored
    as her documents (a resubmission after "needs more" adds new ones; the old stay), an
    event for both sides and an audit entry. A wrong code changes nothing but the attempt
    counter; a change since the code was sent makes the code void (it is bound to the
    revision)."""
    from sprechstunde.documents.services import document_store_generated

    _require_editable(actor, submission)
    if revision is not None and revision != submission.revision:
        raise StaleRevision(STALE_MESSAGE)
    _check_code(actor, submission, code, request)
    with transaction.atomic():
        locked = _locked(submission)
        if locked.status not in permissions.CLIENT_EDITABLE:
            raise ApplicationError(_("This form has already been submitted."))
        if submission_problems(submission=locked):
            raise ApplicationError(_("Some answers are still missing. Please complete them first."))
        again = locked.status == SubmissionStatus.NEEDS_MORE or locked.submission_count > 0
        now = timezone.now()
        locked.status = SubmissionStatus.RECEIVED
        locked.submitted_at = now
        locked.submitted_by = actor
        locked.submission_count += 1
        locked.updated_at = now
        locked.code_hash = ""
        locked.code_expires_at = None
        locked.code_attempts = 0
        language = _language_of(locked.client)
        title = text_for(locked.definition.spec["title"], "de")
        stamp = timezone.localtime(now).strftime("%Y-%m-%d")
        base_name = f"formular-{locked.definition.slug}-{stamp}-{locked.submission_count}"
        locked.pdf_document = document_store_generated(
            client=locked.client,
            actor=actor,
            title=f"{title} ({stamp})",
            file_name=f"{base_name}.pdf",
            content_type="application/pdf",
            data=rendering.submission_pdf(submission=locked, language=language),
            request=request,
        )
        locked.data_document = document_store_generated(
            client=locked.client,
            actor=actor,
            title=f"{title} ({stamp}), Daten",
            file_name=f"{base_name}.json",
            content_type="application/json",
            data=rendering.submission_json(submission=locked, language=language),
            request=request,
        )
        locked.save()
        FormEvent.objects.create(
            submission=locked, kind="resubmitted" if again else "submitted", actor=actor
        )
        audit_record(actor=actor, action="eforms.submit", target=locked, request=request)
    return locked
