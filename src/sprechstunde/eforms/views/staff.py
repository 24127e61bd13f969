"""Staff pages of the forms: the inbox of the caseload's submitted forms and one submission
with its answers, files, history and the steps the viewer may take.

Views parse input, call one selector or service and render. A submission outside the
viewer's caseload answers 404 (like a foreign client); the steps are shown only to those
who may take them, so no button leads to a refusal.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from sprechstunde.accounts.role_pages import CASELOAD_ROLES
from sprechstunde.clients.views import CaseloadStaffMixin
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from .. import permissions, selectors_staff
from ..choices import SubmissionOutcome, SubmissionStatus
from ..models import FormSubmission
from ..services import staff as services

INBOX_PAGE_SIZE = 25


class InboxView(CaseloadStaffMixin, View):
    """'Formulare': the submitted forms of the caseload, newest first, by state, paged."""

    page_roles = CASELOAD_ROLES

    def get(self, request: HttpRequest) -> HttpResponse:
        status = request.GET.get("status", "")
        if status not in selectors_staff.INBOX_STATES:
            status = ""
        # One client's forms (the link from her page); a foreign or odd id simply finds none.
        raw_client = request.GET.get("klient", "")
        client_id = int(raw_client) if raw_client.isascii() and raw_client.isdigit() else None
        if client_id is not None and client_id > 2**62:
            client_id = None
        submissions = selectors_staff.inbox_for_user(
            user=request.user, status=status, client_id=client_id, request=request
        )
        page = Paginator(submissions, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        selectors_staff.decorate_rows(rows)
        counts = selectors_staff.inbox_counts_for_user(user=request.user, client_id=client_id)
        filters = [
            {
                "value": state.value,
                "label": state.label,
                "count": counts[state.value],
                "current": state.value == status,
            }
            for state in selectors_staff.INBOX_STATES
        ]
        return render(
            request,
            "eforms/staff/inbox.html",
            {
                "page": page,
                "rows": rows,
                "status": status,
                "client_id": client_id,
                "query": f"klient={client_id}&" if client_id is not None else "",
                "filters": filters,
                "total": sum(counts.values()),
            },
        )


def _steps(user: Any, submission: FormSubmission) -> dict[str, bool]:
    """Which steps the page offers `user`: only those the services would allow now."""
    if not permissions.can_handle_submissions_of(user=user, client=submission.client):
        return {}
    open_now = submission.status in services.OPEN_STATES
    decided = services.is_decided_by_staff(submission)
    return {
        "take": submission.status == SubmissionStatus.RECEIVED,
        "needs_more": open_now,
        "answer": submission.status != SubmissionStatus.DRAFT,
        "decide": open_now and decided,
        "done": open_now and not decided,
    }


class SubmissionDetailView(CaseloadStaffMixin, View):
    """One submitted form: the answers in German with the questions, the attachments, the
    PDF and JSON for the file, the history, and the steps (POST `step`)."""

    def _page(
        self,
        request: HttpRequest,
        submission: FormSubmission,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        steps = _steps(request.user, submission)
        errors = dict(errors or {})
        for step in list(errors):
            if not steps.get(step):
                # A page older than the state (a colleague was faster): the message goes on
                # top, since the step's own form is not offered any more.
                errors["page"] = errors.pop(step)
        return render(
            request,
            "eforms/staff/detail.html",
            {
                "submission": submission,
                "client": submission.client,
                "title": services.form_title(submission, selectors_staff.FILE_LANGUAGE),
                "sections": selectors_staff.submission_answers(submission=submission),
                "events": selectors_staff.submission_events(submission=submission),
                "steps": steps,
                "is_decided_by_staff": services.is_decided_by_staff(submission),
                "errors": errors,
                "values": values or {},
                "note_max": services.NOTE_MAX_LENGTH,
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        submission = selectors_staff.submission_get_for_staff(
            user=request.user, pk=pk, request=request
        )
        return self._page(request, submission)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        # Each step is audited by its service; the read for it is not a page view.
        submission = selectors_staff.submission_get_for_staff(
            user=request.user, pk=pk, request=request, record_view=False
        )
        step = request.POST.get("step", "")
        user = request.user
        try:
            if step == "take":
                services.submission_take(actor=user, submission=submission, request=request)
                done = _("You have taken the form.")
            elif step == "needs_more":
                services.submission_ask_more(
                    actor=user,
                    submission=submission,
                    note=request.POST.get("note"),
                    request=request,
                )
                done = _("The client was asked for what is missing; her form is open again.")
            elif step == "answer":
                services.submission_answer(
                    actor=user,
                    submission=submission,
                    text=request.POST.get("text"),
                    request=request,
                )
                done = _("Your answer was sent to the client's messages.")
            elif step == "decide":
                outcome = request.POST.get("outcome", "")
                services.submission_decide(
                    actor=user,
                    submission=submission,
                    outcome=outcome,
                    reason=request.POST.get("reason"),
                    request=request,
                )
                done = (
                    _("The request was approved.")
                    if outcome == SubmissionOutcome.APPROVED
                    else _("The request was refused.")
                )
            elif step == "done":
                services.submission_done(actor=user, submission=submission, request=request)
                done = _("The form is done.")
            else:
                raise Http404
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            # Shown at the step's own form (its one text field), in the viewer's language.
            errors = {step: str(error.message)}
            values = {
                name: request.POST.get(name, "")
                for name in ("note", "text", "reason")
                if request.POST.get(name)
            }
            submission.refresh_from_db()
            return self._page(request, submission, errors=errors, values=values, status=400)
        messages.success(request, done)
        return redirect("eforms:staff_submission", pk=submission.pk)
