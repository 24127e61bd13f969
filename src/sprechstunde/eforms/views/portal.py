"""The client's forms in the portal ("Formulare"): the list, one section per screen, the
attachment page (the documents upload pipeline, with a no-JavaScript fallback), the review,
the one-time-code confirmation and the done page.

Every page is for the logged-in client with consent to portal use; another client's form
is a 404 with an audit entry ("eforms.access_denied").
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.audit.services import audit_record
from sprechstunde.clients import permissions as client_permissions
from sprechstunde.clients.permissions import ConsentRequiredMixin
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.documents import file_checks
from sprechstunde.documents import services as document_services

from .. import fields, permissions, rendering, selectors, services
from ..choices import SubmissionOutcome, SubmissionStatus
from ..definitions import section_by_key, text_for
from ..models import FormSubmission

INPUT_TYPES = {
    "text": ("text", ""),
    "money": ("text", "decimal"),
    "integer": ("text", "numeric"),
    "iban": ("text", ""),
    "phone": ("tel", "tel"),
    "email": ("email", "email"),
}
AUTOCOMPLETE = {"phone": "tel", "email": "email", "iban": "off", "money": "off"}


def _language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


def _posted_revision(request: HttpRequest) -> int | None:
    """The draft's revision the page was made from (a hidden field); None if unreadable."""
    value = request.POST.get("revision", "")
    return int(value) if value.isascii() and value.isdigit() else None


class PortalFormMixin(ConsentRequiredMixin):
    """The logged-in client's own form by `pk`; anyone else's is a 404, audited."""

    def get_submission(self, request: HttpRequest, pk: int, *, action: str | None = None):
        submission = selectors.submission_get_for_client_user(
            user=request.user, pk=pk, request=request, action=action
        )
        if submission is None:
            audit_record(
                actor=request.user,
                action="eforms.access_denied",
                target_type="eforms.formsubmission",
                target_id=pk,
                request=request,
            )
            raise Http404
        return submission

    def editable(self, request: HttpRequest, pk: int) -> FormSubmission:
        submission = self.get_submission(request, pk)
        if not permissions.client_can_edit(user=request.user, submission=submission):
            raise _Closed(submission)
        return submission

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any):
        # Another client's form is refused (and audited) before anything else, also for a
        # client whose missing consent would otherwise be the answer.
        if "pk" in kwargs and client_permissions.is_client_user(user=request.user):
            self.get_submission(request, kwargs["pk"])
        try:
            return super().dispatch(request, *args, **kwargs)
        except _Closed as closed:
            messages.info(request, _("This form has been submitted and can no longer be changed."))
            return redirect("eforms:portal_detail", pk=closed.submission.pk)


class _Closed(Exception):
    def __init__(self, submission: FormSubmission) -> None:
        self.submission = submission


def _status_text(submission: FormSubmission) -> str:
    if submission.status == SubmissionStatus.DRAFT:
        return _("Draft: not sent yet")
    if submission.status == SubmissionStatus.NEEDS_MORE:
        return _("Your Jobcenter needs more from you")
    if submission.status == SubmissionStatus.DONE:
        if submission.outcome == SubmissionOutcome.APPROVED:
            return _("Approved")
        if submission.outcome == SubmissionOutcome.REFUSED:
            return _("Refused")
        return _("Done")
    if submission.status == SubmissionStatus.IN_PROGRESS:
        return _("Being handled")
    return _("Received")


def _card(submission: FormSubmission) -> dict[str, Any]:
    spec = submission.definition.spec
    language = _language()
    editable = submission.status in permissions.CLIENT_EDITABLE
    return {
        "submission": submission,
        "title": text_for(spec["title"], language),
        "status_text": _status_text(submission),
        "editable": editable,
        "continue_url": reverse(
            "eforms:portal_section",
            kwargs={
                "pk": submission.pk,
                "section": submission.current_section or spec["sections"][0]["key"],
            },
        )
        if editable
        else "",
    }


class PortalListView(ConsentRequiredMixin, View):
    """'Formulare': her forms (drafts to go on with, what staff asked for, decisions) and
    the forms she can start."""

    def get(self, request: HttpRequest) -> HttpResponse:
        mine = [
            _card(submission)
            for submission in selectors.submissions_for_client_user(user=request.user)
        ]
        drafts = {
            card["submission"].definition.slug: card
            for card in mine
            if card["submission"].status == SubmissionStatus.DRAFT
        }
        language = _language()
        offered = [
            {
                "slug": definition.slug,
                "title": text_for(definition.spec["title"], language),
                "summary": text_for(definition.spec.get("summary"), language),
                "draft": drafts.get(definition.slug),
            }
            for definition in selectors.form_definitions_offered()
        ]
        offered.sort(key=lambda item: str(item["title"]))
        return render(
            request,
            "eforms/portal/list.html",
            {
                "needs_more": [
                    c for c in mine if c["submission"].status == SubmissionStatus.NEEDS_MORE
                ],
                "mine": mine,
                "offered": offered,
            },
        )


class PortalStartView(ConsentRequiredMixin, View):
    """Start a form (POST), or go on with her draft of it."""

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        definition = selectors.form_definition_current(slug=slug)
        if definition is None:
            raise Http404
        try:
            submission = services.submission_start(
                actor=request.user, definition=definition, request=request
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return redirect("eforms:portal_list")
        return redirect(
            "eforms:portal_section", pk=submission.pk, section=submission.current_section
        )


class PortalDetailView(PortalFormMixin, View):
    """One of her forms: its state, what staff asked for or decided, the PDF."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        submission = self.get_submission(request, pk, action="eforms.view")
        return render(
            request,
            "eforms/portal/detail.html",
            {
                **_card(submission),
                "events": list(submission.events.all()),
                "is_decided": submission.status == SubmissionStatus.DONE,
            },
        )


# --- one section per screen -----------------------------------------------------------------


def _input_attrs(item: dict[str, Any], raw: str) -> dict[str, str]:
    kind = item["type"]
    if kind == "date":
        # The browser's date picker takes ISO only: other text stays a text box, so what
        # she typed is shown back as typed.
        iso = not raw or fields.ISO_DATE.match(raw)
        return {"type_attr": "date" if iso else "text", "inputmode": "", "autocomplete": "off"}
    input_type, inputmode = INPUT_TYPES.get(kind, ("text", ""))
    autocomplete = item.get("autocomplete") or AUTOCOMPLETE.get(kind, "")
    return {"type_attr": input_type, "inputmode": inputmode, "autocomplete": autocomplete}


def _widget(
    item: dict[str, Any],
    name: str,
    raw: dict[str, Any],
    errors: dict[str, Any],
    section_keys: set[str],
    language: str,
) -> dict[str, Any]:
    value = str(raw.get(name, "") or "")
    condition = item.get("show_if")
    widget: dict[str, Any] = {
        "key": item["key"],
        "name": name,
        "id": f"f-{name}",
        "type": item["type"],
        "label": text_for(item.get("label"), language),
        "help": text_for(item.get("help"), language),
        "text": text_for(item.get("text"), language),
        "required": bool(item.get("required")),
        "value": value,
        "error": errors.get(name),
        "max_length": item.get("max_length") or fields.DEFAULT_MAX_LENGTH.get(item["type"]),
        # A condition on a question of this screen is toggled in the browser (form.js);
        # without JavaScript the question shows, and the server ignores it when hidden.
        "show_if_field": condition["field"]
        if condition and condition["field"] in section_keys
        else "",
        "show_if_values": " ".join(
            [condition["equals"]]
            if condition and "equals" in condition
            else (condition or {}).get("in", [])
        ),
        "ltr": item["type"] in {"iban", "phone", "email", "money", "integer", "date"},
        **_input_attrs(item, value),
    }
    if item["type"] == "choice":
        widget["widget"] = item.get("widget", "radio")
        widget["options"] = [
            {"value": option["value"], "label": text_for(option["label"], language)}
            for option in item["options"]
        ]
    if item["type"] == "yesno":
        widget["widget"] = "radio"
        widget["options"] = [{"value": "yes", "label": _("Yes")}, {"value": "no", "label": _("No")}]
    return widget


class PortalSectionView(PortalFormMixin, View):
    """One section of the form on one screen: "Next", "Back", "Save and continue later";
    groups add and remove entries; attachment fields lead to the upload page."""

    def _context(
        self,
        request: HttpRequest,
        submission: FormSubmission,
        section: dict[str, Any],
        raw: dict[str, Any],
        errors: dict[str, Any],
    ) -> dict[str, Any]:
        spec = submission.definition.spec
        language = _language()
        visible = services.section_keys_visible(submission)
        position = visible.index(section["key"]) + 1 if section["key"] in visible else 1
        keys_here = {item["key"] for item in section["fields"]}
        answers = submission.answers
        attachments = list(submission.attachments.select_related("document"))
        widgets = []
        for item in section["fields"]:
            condition = item.get("show_if")
            if (
                condition
                and condition["field"] not in keys_here
                and not fields.condition_met(condition, answers)
            ):
                continue
            widget = _widget(item, item["key"], raw, errors, keys_here, language)
            if item["type"] == "group":
                count = int(raw.get(f"{item['key']}-count") or 0)
                sub_keys = {sub["key"] for sub in item["fields"]} | keys_here
                widget["entries"] = [
                    {
                        "index": index,
                        "number": index + 1,
                        "fields": [
                            _widget(
                                sub,
                                f"{item['key']}-{index}-{sub['key']}",
                                raw,
                                errors,
                                sub_keys,
                                language,
                            )
                            for sub in item["fields"]
                        ],
                    }
                    for index in range(count)
                ]
                widget["count"] = count
                widget["item_label"] = text_for(item.get("item_label"), language)
                widget["can_add"] = count < int(item.get("max", 50))
            if item["type"] == "attachment":
                mine = [a for a in attachments if a.field_key == item["key"]]
                widget["attachments"] = mine
                widget["can_add"] = len(mine) < int(item.get("max_files") or 5)
            widgets.append(widget)
        general = errors.get("__all__")
        return {
            "submission": submission,
            "form_title": text_for(spec["title"], language),
            "section": section,
            "section_title": text_for(section["title"], language),
            "intro": text_for(section.get("intro"), language),
            "widgets": widgets,
            "step": position,
            "steps": len(visible),
            "is_first": position == 1,
            "general_error": general,
            "has_errors": bool(errors),
            "error_list": [
                (name, message) for name, message in errors.items() if name != "__all__"
            ],
        }

    def _section(self, submission: FormSubmission, key: str) -> dict[str, Any]:
        section = section_by_key(submission.definition.spec, key)
        if section is None:
            raise Http404
        return section

    def get(self, request: HttpRequest, pk: int, section: str) -> HttpResponse:
        submission = self.editable(request, pk)
        current = self._section(submission, section)
        visible = services.section_keys_visible(submission)
        if section not in visible:
            return redirect("eforms:portal_section", pk=pk, section=visible[0])
        raw = fields.raw_from_answers(current, submission.answers)
        return render(
            request,
            "eforms/portal/section.html",
            self._context(request, submission, current, raw, {}),
        )

    def post(self, request: HttpRequest, pk: int, section: str) -> HttpResponse:
        submission = self.editable(request, pk)
        current = self._section(submission, section)
        action, _sep, argument = str(request.POST.get("action", "save")).partition(":")
        # "Add a photo or file" and "Remove" sit in the section's form: what she typed on
        # this screen is saved first (as "save and continue later"), then the file step runs.
        file_step = action if action in ("attach", "detach") else ""
        file_target = None
        if file_step:
            file_target = self._file_target(submission, section, file_step, argument)
            if file_target is None:
                raise Http404
            action = "save"
        revision = _posted_revision(request)
        try:
            outcome = services.submission_section_save(
                actor=request.user,
                submission=submission,
                section_key=section,
                data=request.POST,
                revision=revision,
                action=action,
                argument=argument,
                request=request,
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        if outcome.errors:
            context = self._context(
                request, outcome.submission, current, outcome.raw, outcome.errors
            )
            return render(
                request,
                "eforms/portal/section.html",
                context,
                status=409 if outcome.stale else 400,
            )
        if file_step:
            return self._file_step(request, outcome.submission, section, file_step, file_target)
        if outcome.go_to == "leave":
            messages.success(
                request,
                _("Saved. You can go on later, also on another device: under “Forms”."),
            )
            return redirect("eforms:portal_list")
        if outcome.go_to == "review":
            return redirect("eforms:portal_review", pk=pk)
        if outcome.go_to:
            return redirect("eforms:portal_section", pk=pk, section=outcome.go_to)
        # An entry added or removed: the same screen again, at the group.
        url = reverse("eforms:portal_section", kwargs={"pk": pk, "section": section})
        return redirect(f"{url}#group-{argument.partition(':')[0]}")

    @staticmethod
    def _file_target(submission: Any, section: str, step: str, argument: str) -> Any:
        """What a file step on this screen points at: the key of an attachment question of
        this section ("attach"), or a file attached to one ("detach"); None if neither."""
        spec_section = next(
            (item for item in submission.definition.spec["sections"] if item["key"] == section),
            None,
        )
        keys = {
            item["key"]
            for item in (spec_section or {}).get("fields", [])
            if item["type"] == "attachment"
        }
        if step == "attach":
            return argument if argument in keys else None
        if not (argument.isascii() and argument.isdigit()):
            return None
        return submission.attachments.filter(pk=int(argument), field_key__in=keys).first()

    def _file_step(
        self, request: HttpRequest, submission: Any, section: str, step: str, target: Any
    ) -> HttpResponse:
        """After the screen was saved: open the upload page of the attachment question, or
        take the file off the form (it stays among her documents)."""
        if step == "attach":
            return redirect("eforms:portal_attach", pk=submission.pk, field=target)
        try:
            services.attachment_remove(
                actor=request.user,
                submission=submission,
                attachment_id=target.pk,
                request=request,
            )
        except ApplicationError as error:
            messages.error(request, str(error.message))
        url = reverse("eforms:portal_section", kwargs={"pk": submission.pk, "section": section})
        return redirect(f"{url}#field-{target.field_key}")


# --- attachments --------------------------------------------------------------------------


class PortalAttachView(PortalFormMixin, View):
    """Add a file to an attachment field: photos or a PDF through the documents upload
    pipeline (resumable with upload.js; a plain file form without JavaScript)."""

    def _field(self, submission: FormSubmission, key: str) -> dict[str, Any]:
        for section in submission.definition.spec["sections"]:
            for item in section["fields"]:
                if item["key"] == key and item["type"] == "attachment":
                    return {**item, "section": section["key"]}
        raise Http404

    def _render(
        self,
        request: HttpRequest,
        submission: FormSubmission,
        item: dict[str, Any],
        *,
        error: str = "",
        status: int = 200,
    ) -> HttpResponse:
        if error and "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"error": error}, status=status)
        limits = file_checks.limits()
        language = _language()
        return render(
            request,
            "eforms/portal/attach.html",
            {
                "submission": submission,
                "form_title": text_for(submission.definition.spec["title"], language),
                "label": text_for(item.get("label"), language),
                "help": text_for(item.get("help"), language),
                "error": error,
                "room": services.attachment_room(submission=submission, field_key=item["key"]),
                "accept": "image/*,application/pdf",
                "max_bytes": limits["max_bytes"],
                "max_files": limits["max_files"],
                "max_pages": limits["max_pages"],
                "chunk_bytes": settings.DOCUMENT_UPLOAD_CHUNK_BYTES,
                "batch": secrets.token_urlsafe(16),
                "session_url": reverse("documents:upload_session_create"),
                "back_url": reverse(
                    "eforms:portal_section",
                    kwargs={"pk": submission.pk, "section": item["section"]},
                ),
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        submission = self.editable(request, pk)
        return self._render(request, submission, self._field(submission, field))

    def post(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        from sprechstunde.documents.views.uploads import _save_form_files

        submission = self.editable(request, pk)
        item = self._field(submission, field)
        client, _purposes = client_permissions.portal_state(request)
        if services.attachment_room(submission=submission, field_key=field) <= 0:
            return self._render(
                request,
                submission,
                item,
                error=_("No more files can be attached here. Remove one first."),
                status=400,
            )
        upload_ids = [value for value in request.POST.getlist("upload_ids") if value][:500]
        title = text_for(item.get("label"), _language())[:200]
        try:
            if upload_ids:
                document = document_services.document_upload_complete(
                    uploader=request.user,
                    client=client,
                    session_ids=upload_ids,
                    title=title,
                    request=request,
                )
            else:
                document = document_services.document_create(
                    uploader=request.user,
                    client=client,
                    files=_save_form_files(request.FILES.getlist("files")),
                    title=title,
                    request=request,
                )
            services.attachment_add(
                actor=request.user,
                submission=submission,
                field_key=field,
                document=document,
                request=request,
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            status = 503 if isinstance(error, document_services.DocumentStorageUnavailable) else 400
            return self._render(request, submission, item, error=str(error.message), status=status)
        url = reverse(
            "eforms:portal_section", kwargs={"pk": submission.pk, "section": item["section"]}
        )
        url = f"{url}#field-{field}"
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"url": url}, status=201)
        messages.success(request, _("The file is attached. It is now being checked."))
        return redirect(url)


class PortalDetachView(PortalFormMixin, View):
    """Take a file off the form (POST); it stays among her documents."""

    def post(self, request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
        submission = self.editable(request, pk)
        attachment = submission.attachments.filter(pk=attachment_pk).first()
        if attachment is None:
            raise Http404
        section_key = next(
            (
                section["key"]
                for section in submission.definition.spec["sections"]
                for item in section["fields"]
                if item["key"] == attachment.field_key
            ),
            submission.current_section,
        )
        try:
            services.attachment_remove(
                actor=request.user,
                submission=submission,
                attachment_id=attachment.pk,
                request=request,
            )
        except ApplicationError as error:
            messages.error(request, str(error.message))
        url = reverse("eforms:portal_section", kwargs={"pk": pk, "section": section_key})
        return redirect(f"{url}#field-{attachment.field_key}")


# --- review, code, done -----------------------------------------------------------------------


class PortalReviewView(PortalFormMixin, View):
    """Every answer at a glance, each section with "Change"; what is missing at the top;
    POST sends the one-time code and leads to the confirmation."""

    def _render(
        self,
        request: HttpRequest,
        submission: FormSubmission,
        *,
        error: str = "",
        status: int = 200,
    ) -> HttpResponse:
        language = _language()
        spec = submission.definition.spec
        problems = services.submission_problems(submission=submission)
        return render(
            request,
            "eforms/portal/review.html",
            {
                "submission": submission,
                "form_title": text_for(spec["title"], language),
                "sections": rendering.answer_sections(
                    spec,
                    submission.answers,
                    submission.attachments.select_related("document"),
                    language,
                ),
                "problems": problems,
                "error": error,
                "channel": services.code_channel(submission.client),
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._render(request, self.editable(request, pk))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        submission = self.editable(request, pk)
        revision = _posted_revision(request)
        try:
            services.submission_code_send(
                actor=request.user, submission=submission, revision=revision, request=request
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            return self._render(request, submission, error=str(error.message), status=400)
        return redirect("eforms:portal_confirm", pk=pk)


class PortalConfirmView(PortalFormMixin, View):
    """Enter the one-time code and submit."""

    def _render(
        self,
        request: HttpRequest,
        submission: FormSubmission,
        *,
        error: str = "",
        status: int = 200,
    ) -> HttpResponse:
        return render(
            request,
            "eforms/portal/confirm.html",
            {
                "submission": submission,
                "form_title": text_for(submission.definition.spec["title"], _language()),
                "channel": services.code_channel(submission.client),
                "error": error,
                "has_code": bool(submission.code_hash),
                "minutes": int(getattr(settings, "ACCOUNT_LOGIN_BY_CODE_TIMEOUT", 600)) // 60,
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._render(request, self.editable(request, pk))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        submission = self.editable(request, pk)
        revision = _posted_revision(request)
        try:
            services.submission_submit(
                actor=request.user,
                submission=submission,
                code=request.POST.get("code", ""),
                revision=revision,
                request=request,
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except services.StaleRevision as error:
            messages.error(request, str(error.message))
            return redirect("eforms:portal_review", pk=pk)
        except ApplicationError as error:
            submission.refresh_from_db()
            return self._render(request, submission, error=str(error.message), status=400)
        return redirect("eforms:portal_done", pk=pk)


class PortalDoneView(PortalFormMixin, View):
    """The form is sent: when, what happens now, the PDF among her documents."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        submission = self.get_submission(request, pk)
        if submission.status in permissions.CLIENT_EDITABLE:
            return redirect("eforms:portal_detail", pk=pk)
        return render(
            request,
            "eforms/portal/done.html",
            _card(submission),
        )
