"""Call pages: the call of a video appointment (staff and client), the interpreter link,
interpreter invitations, and the "someone is waiting" feed for staff pages."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from sprechstunde.accounts.role_pages import STAFF_ROLE_ORDER
from sprechstunde.accounts.selectors import user_has_second_factor
from sprechstunde.appointments.models import Appointment
from sprechstunde.appointments.services import access_denied_record
from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.middleware import allow_features
from sprechstunde.messaging.frames import attachment_state
from sprechstunde.messaging.permissions import client_uses_portal

from . import events, join_links, permissions, selectors, services
from .choices import ParticipantRole, ParticipantState
from .forms import InterpreterInviteForm, InterpreterNameForm
from .models import Call, InterpreterInvitation, Participant

CALL_FEATURES = ("camera", "microphone", "display-capture")
# The interpreter's page remembers who they are in the session (they have no account).
SESSION_KEY = "video_calls.interpreters"


def _deny(user: Any, pk: int) -> None:
    access_denied_record(
        user=user,
        action="video_call.access_denied",
        target_type="appointments.appointment",
        target_id=pk,
    )
    raise Http404


def _texts(*, is_host: bool) -> dict[str, Any]:
    """The strings the call page's modules (static/video_calls/call/) show, in its language."""
    texts = {
        "denied": _(
            "The browser does not allow the camera or microphone. Allow them in the browser's "
            "site settings (the lock symbol next to the address) and try again, or join "
            "without them and use the chat."
        ),
        "noDevice": _(
            "No camera or microphone was found. You can join with audio only, or without "
            "them and use the chat."
        ),
        "deviceError": _(
            "The camera or microphone could not be started. Close other apps using it."
        ),
        "camera": _("Camera"),
        "microphone": _("Microphone"),
        "connecting": _("Connecting …"),
        "reconnecting": _("Connection lost. Reconnecting …"),
        "waiting": _("You are in the waiting room."),
        "locked": _("The call is locked at the moment. Please wait."),
        "inCall": _("You are in the call."),
        "ended": _("The call has ended."),
        "left": _("You have left the call."),
        "connectionProblem": _("There is a problem with the connection."),
        # On a small picture of the strip: show that person large (a tap); on the large one
        # when pinned: back to showing whoever speaks.
        "enlarge": _("Show {name} large"),
        "follow": _("Show whoever is speaking large"),
        "quality": _("Connection:"),
        "qualities": {
            "unknown": _("checking"),
            "good": _("good"),
            "fair": _("fair"),
            "poor": _("weak"),
        },
        "you": _("You"),
        # A chat line of one's own until the server has passed it on (chat.js), and the
        # lines that could not go out before the call was over.
        "pending": _("not sent yet"),
        "unsent": _("not sent"),
        "unsentHelp": _("These messages were not sent. You can copy them from here:"),
    }
    if not is_host:
        return texts
    # The host's panel only: other pages do not carry them (the call page's weight).
    return {
        **texts,
        "admit": _("Let in"),
        "remove": _("Remove"),
        "nobodyWaiting": _("Nobody is waiting."),
        "someoneWaiting": _("Someone is waiting to be let in."),
        "lock": _("Lock the call"),
        "unlock": _("Unlock the call"),
        "confirmEnd": _("End the call for everyone?"),
        "secondDevice": _("second device for the interpreter link"),
        "roles": {role.value: str(role.label) for role in ParticipantRole},
    }


def _call_page(
    request: HttpRequest, *, call: Call, participant: Participant, extra: dict[str, Any]
) -> HttpResponse:
    appointment = call.appointment
    is_host = participant.role == ParticipantRole.STAFF
    own_name, _name_for_interpreters = events.participant_names(
        participant, client=appointment.client
    )
    context = {
        "call": call,
        "appointment": appointment,
        # The client record is for the host's side panel; other pages do not get it.
        "client": appointment.client if is_host else None,
        "participant": participant,
        "is_host": is_host,
        # Shared files go into the client's conversation (ADR 0057): not for interpreters,
        # and only while the client uses the portal.
        "can_share_files": participant.role != ParticipantRole.INTERPRETER
        and client_uses_portal(client=appointment.client),
        # The call page has its own waiting list; the site-wide notice would only cover it.
        "hide_waiting_notice": True,
        "call_config": {
            "ws": f"/ws/video/{call.pk}/",
            "me": participant.pk,
            "role": participant.role,
            "name": own_name,
            "texts": _texts(is_host=is_host),
        },
        **extra,
    }
    opens_at = extra.get("opens_at")
    if opens_at is not None:
        # Seconds until joining opens (by the server's clock, plus one for the way), and the
        # module that waits for it (opening.js).
        wait = (opens_at - timezone.now()).total_seconds()
        context["call_config"]["opensIn"] = max(1, math.ceil(wait) + 1)
        context["call_config"]["opening"] = static("video_calls/call/opening.js")
    return render(request, "video_calls/call.html", context)


def _ended(request: HttpRequest, *, back: str = "", role: str = "") -> HttpResponse:
    """The page of a call that was ended for everyone: a plain page saying so (not a refusal),
    for the client, staff and interpreters alike."""
    return render(request, "video_calls/ended.html", {"back": back, "role": role})


@method_decorator([never_cache, allow_features(*CALL_FEATURES)], name="dispatch")
class CallView(View):
    """The call of one video appointment, for its case manager (host) and its client."""

    def get(self, request: HttpRequest, appointment_pk: int) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            grant = join_links.session_grant(session=request.session, appointment_id=appointment_pk)
            if grant is not None:
                return _join_link_call(request, grant)
            # Who arrives here logged out is a client from the reminder mail (staff come from
            # their appointment pages): the client login by e-mailed code, then back here.
            return redirect_to_login(
                request.get_full_path(), login_url=reverse("account_request_login_code")
            )
        if user.is_staff_member and not user_has_second_factor(user=user):
            _deny(user, appointment_pk)
        access = selectors.appointment_for_call(user=user, appointment_pk=appointment_pk)
        if access is None:
            _deny(user, appointment_pk)
        assert access is not None
        appointment = access.appointment
        back = (
            reverse("appointments:detail", kwargs={"pk": appointment.pk})
            if access.role == ParticipantRole.STAFF
            else reverse("appointments:portal_detail", kwargs={"pk": appointment.pk})
        )
        if not permissions.is_join_open(appointment=appointment):
            join = selectors.call_join_state_for_user(user=user, appointment=appointment)
            if join.state == selectors.JOIN_ENDED:
                return _ended(request, back=back, role=access.role)
            opens, _closes = permissions.join_window(appointment=appointment)
            return render(
                request,
                "video_calls/not_open.html",
                {
                    "appointment": appointment,
                    "opens": opens,
                    "is_early": timezone.now() < opens,
                    "back": back,
                },
            )
        call = services.call_get_or_create(appointment=appointment)
        join = selectors.call_join_state_for_user(user=user, appointment=appointment, call=call)
        if join.state == selectors.JOIN_ENDED:
            return _ended(request, back=back, role=access.role)
        participant = services.participant_for_user(call=call, user=user, role=access.role)
        refusal = services.participant_refusal(participant=participant)
        if refusal is not None:
            return render(
                request,
                "video_calls/refused.html",
                {"message": refusal.message, "back": back},
                status=403,
            )
        extra: dict[str, Any] = {"leave_url": back, "back": back}
        if access.role == ParticipantRole.STAFF:
            extra["invitations"] = selectors.invitation_list_for_call(call=call)
        return _call_page(request, call=call, participant=participant, extra=extra)


def _link_language(request: HttpRequest, own: str) -> str:
    """A language picked on the page wins; else the client's own (never the browser's: a
    client with little German may have a German phone)."""
    picked = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return picked if picked in dict(settings.LANGUAGES) else own


def _join_link_refused(
    request: HttpRequest, error: join_links.JoinLinkRefusedError
) -> HttpResponse:
    """A link that cannot be used: why, in the client's language, and the other ways in."""
    language = _link_language(request, error.language)
    with translation.override(language):
        response = render(
            request,
            "video_calls/join_link_refused.html",
            {
                "message": error.message,
                "reason": error.reason,
                "opens_at": error.opens_at,
                "login_url": reverse("account_request_login_code"),
                "jobcenter_phone": getattr(settings, "JOBCENTER_PHONE", ""),
                "jobcenter_address": getattr(settings, "JOBCENTER_ADDRESS", ""),
            },
            status=200 if error.reason == join_links.EARLY else 410,
        )
    response.headers["Content-Language"] = language
    return response


def _join_link_call(request: HttpRequest, grant: join_links.Grant) -> HttpResponse:
    """The call page for a logged-out client who came by the join link: this call only, no
    way back into the portal (that needs the code login)."""
    try:
        appointment = join_links.join_link_appointment(grant=grant, request=request)
    except join_links.JoinLinkRefusedError as error:
        return _join_link_refused(request, error)
    user = appointment.client.user
    audit_record(
        actor=user,
        action="video_call.read",
        target=appointment,
        client_id=appointment.client_id,
        request=request,
    )
    language = _link_language(request, grant.language)
    opens, _closes = permissions.join_window(appointment=appointment)
    # The link works from 30 minutes before the start, the call opens at 15 (ADR 0057): in
    # between, the pre-join check with the time, and the page lets her in when it comes.
    early = timezone.now() < opens
    with translation.override(language):
        if not early and not permissions.is_join_open(appointment=appointment):
            response = render(
                request,
                "video_calls/not_open.html",
                {
                    "appointment": appointment,
                    "opens": opens,
                    "is_early": timezone.now() < opens,
                    "retry": request.path,
                },
            )
        else:
            call = services.call_get_or_create(appointment=appointment)
            participant = services.participant_for_user(
                call=call, user=user, role=ParticipantRole.CLIENT
            )
            refusal = services.participant_refusal(participant=participant)
            if refusal is not None and not (early and refusal.code == "not_open"):
                response = render(
                    request, "video_calls/refused.html", {"message": refusal.message}, status=403
                )
            else:
                extra: dict[str, Any] = {"join_link": True}
                if early:
                    extra["opens_at"] = opens
                response = _call_page(request, call=call, participant=participant, extra=extra)
    response.headers["Content-Language"] = language
    return response


@method_decorator([never_cache, allow_features(*CALL_FEATURES)], name="dispatch")
class JoinLinkView(View):
    """The join link from a reminder: checked, audited, then the call's pre-join check.

    GET is the tap in the mail. It binds nothing to the device (mail scanners follow links
    too); the page that enters the waiting room does. No login: the session gets a grant
    for this one call (join_links.SESSION_KEY) and stays logged out for everything else.
    """

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            appointment = join_links.join_link_open(
                token=token, user=request.user, session=request.session, request=request
            )
        except join_links.JoinLinkRefusedError as error:
            return _join_link_refused(request, error)
        return redirect("video_calls:call", appointment_pk=appointment.pk)


def _chat_participant(
    request: HttpRequest, appointment_pk: int
) -> tuple[Participant | None, str | None]:
    """Who shares or watches files in a call's chat: the logged-in host or client, or the
    client who came by the join link (with the language of her pages). Interpreters share
    none (ADR 0057): they get None, as does everyone who is no part of the call."""
    user = request.user
    if user.is_authenticated:
        if user.is_staff_member and not user_has_second_factor(user=user):
            return None, None
        appointment = (
            Appointment.objects.select_related("client__user").filter(pk=appointment_pk).first()
        )
        if appointment is None:
            return None, None
        role = permissions.role_for_user(user=user, appointment=appointment)
        if role is None:
            return None, None
        owner: Any = user
        language = None
    else:
        grant = join_links.session_grant(session=request.session, appointment_id=appointment_pk)
        if grant is None:
            return None, None
        try:
            appointment = join_links.join_link_appointment(grant=grant, request=request)
        except join_links.JoinLinkRefusedError:
            return None, None
        owner = appointment.client.user
        language = _link_language(request, grant.language)
    participant = (
        Participant.objects.select_related("call__appointment__client__user", "user")
        .filter(call__appointment=appointment, user=owner)
        .first()
    )
    return participant, language


@method_decorator(never_cache, name="dispatch")
class CallFileView(View):
    """The call's chat: POST shares one photo or PDF (it becomes a message with that
    attachment in the client's conversation); GET ?id=… tells photo.js how shared files
    stand, as HTML in the reader's language, while any is still being checked."""

    def _participant(self, request: HttpRequest, appointment_pk: int) -> tuple[Participant, str]:
        participant, language = _chat_participant(request, appointment_pk)
        if participant is None:
            if request.user.is_authenticated:
                _deny(request.user, appointment_pk)
            raise Http404
        return participant, language or translation.get_language()

    def post(self, request: HttpRequest, appointment_pk: int) -> HttpResponse:
        participant, language = self._participant(request, appointment_pk)
        with translation.override(language):
            upload = request.FILES.get("file")
            if upload is None or not upload.size:
                return JsonResponse({"error": _("Please choose a photo or PDF.")}, status=400)
            try:
                attachment = services.call_file_send(
                    participant=participant, upload=upload, request=request
                )
            except (services.CallRefusedError, PermissionDeniedError) as error:
                return JsonResponse({"error": str(error.message)}, status=403)
            except ApplicationError as error:
                return JsonResponse({"error": str(error.message)}, status=400)
        return JsonResponse({"id": attachment.pk}, status=201)

    def get(self, request: HttpRequest, appointment_pk: int) -> HttpResponse:
        participant, language = self._participant(request, appointment_pk)
        ids = [
            int(value)
            for value in request.GET.getlist("id")[:20]
            if value.isascii() and value.isdigit() and len(value) < 18
        ]
        attachments = selectors.call_file_list_for_participant(
            participant=participant, ids=ids, request=request
        )
        # Documents' pages need a login: a client who came by the link sees the state only.
        can_open = request.user.is_authenticated
        with translation.override(language):
            answer = [
                {
                    "id": attachment.pk,
                    "state": attachment_state(attachment),
                    "html": render_to_string(
                        "video_calls/includes/call_file.html",
                        {
                            "attachment": attachment,
                            "state": attachment_state(attachment),
                            "can_open": can_open,
                        },
                        request=request,
                    ),
                }
                for attachment in attachments
            ]
        return JsonResponse({"files": answer})


@method_decorator(never_cache, name="dispatch")
class InterpreterLinkView(View):
    """An interpreter's link: type a name, then the call and nothing else. No account."""

    def _invitation(self, token: str) -> InterpreterInvitation:
        invitation = selectors.invitation_for_token(token=token)
        if invitation is None:
            raise Http404
        return invitation

    def _refused(self, request: HttpRequest, problem: str) -> HttpResponse:
        if problem == "closed":
            return _ended(request, role=ParticipantRole.INTERPRETER)
        return render(
            request,
            "video_calls/refused.html",
            {"message": services.invitation_problem_text(problem), "interpreter": True},
            status=200 if problem == "early" else 410,
        )

    def _participant(self, request: HttpRequest, invitation: InterpreterInvitation) -> Any:
        known = request.session.get(SESSION_KEY, {})
        pk = known.get(str(invitation.pk)) if isinstance(known, dict) else None
        if pk is None:
            return None
        return (
            Participant.objects.select_related("call__appointment__client", "invitation")
            .filter(pk=pk, invitation=invitation)
            .first()
        )

    @method_decorator(allow_features(*CALL_FEATURES))
    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = self._invitation(token)
        problem = permissions.invitation_problem(invitation=invitation)
        if problem:
            return self._refused(request, problem)
        participant = self._participant(request, invitation)
        if participant is not None and participant.state != ParticipantState.REMOVED:
            audit_record(
                actor=None,
                action="video_call.read",
                target=participant,
                client_id=invitation.call.appointment.client_id,
                request=request,
            )
            return _call_page(
                request,
                call=invitation.call,
                participant=participant,
                extra={"leave_url": request.path, "interpreter": True},
            )
        if participant is not None:
            return self._refused(request, "revoked")
        return render(request, "video_calls/interpreter_name.html", {"form": InterpreterNameForm()})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = self._invitation(token)
        form = InterpreterNameForm(request.POST)
        if not form.is_valid():
            return render(request, "video_calls/interpreter_name.html", {"form": form})
        known = request.session.get(SESSION_KEY, {})
        known_pk = known.get(str(invitation.pk)) if isinstance(known, dict) else None
        try:
            participant = services.interpreter_participant_enter(
                invitation=invitation,
                display_name=form.cleaned_data["display_name"],
                known_participant_id=known_pk,
            )
        except services.CallRefusedError as error:
            return self._refused(request, error.code)
        except ApplicationError as error:
            form.add_error("display_name", str(error.message))
            return render(request, "video_calls/interpreter_name.html", {"form": form})
        known = request.session.get(SESSION_KEY, {})
        known = dict(known) if isinstance(known, dict) else {}
        known[str(invitation.pk)] = participant.pk
        request.session[SESSION_KEY] = known
        return redirect(request.path)


class StaffCallMixin:
    """Case managers hosting the appointment's call (or standing in); others get 404."""

    def access(self, request: HttpRequest, appointment_pk: int) -> Any:
        user = request.user
        if not user.is_authenticated or not user.is_staff_member:
            raise Http404
        access = selectors.appointment_for_call(user=user, appointment_pk=appointment_pk)
        if access is None or access.role != ParticipantRole.STAFF:
            _deny(user, appointment_pk)
        return access


@method_decorator(login_required, name="dispatch")
class InterpreterInvitationsView(StaffCallMixin, View):
    """Invite interpreters (a link each, shown once) and withdraw their links."""

    def _render(self, request: HttpRequest, access: Any, form: Any, link: str = "") -> HttpResponse:
        call = services.call_get_or_create(appointment=access.appointment)
        opens, closes = permissions.interpreter_window(appointment=access.appointment)
        return render(
            request,
            "video_calls/invitations.html",
            {
                "appointment": access.appointment,
                "invitations": selectors.invitation_list_for_call(call=call),
                "form": form,
                "link": link,
                "opens": opens,
                "closes": closes,
                "can_invite": permissions.can_invite_interpreter(
                    user=request.user, appointment=access.appointment
                ),
            },
        )

    def get(self, request: HttpRequest, appointment_pk: int) -> HttpResponse:
        access = self.access(request, appointment_pk)
        # Booking for a client who needs an interpreter links here filled in (issue 13).
        initial = {
            key: request.GET[key][: services.LANGUAGE_MAX_LENGTH]
            for key in ("kind", "language")
            if key in request.GET
        }
        return self._render(request, access, InterpreterInviteForm(initial=initial))

    def post(self, request: HttpRequest, appointment_pk: int) -> HttpResponse:
        access = self.access(request, appointment_pk)
        form = InterpreterInviteForm(request.POST)
        if not form.is_valid():
            return self._render(request, access, form)
        try:
            _invitation, token = services.interpreter_invite(
                actor=request.user,
                appointment=access.appointment,
                kind=form.cleaned_data["kind"],
                language=form.cleaned_data["language"],
            )
        except ApplicationError as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, str(error.message))
            return self._render(request, access, form)
        link = request.build_absolute_uri(
            reverse("video_calls:interpreter", kwargs={"token": token})
        )
        return self._render(request, access, InterpreterInviteForm(), link=link)


@method_decorator(login_required, name="dispatch")
class InterpreterRevokeView(StaffCallMixin, View):
    def post(self, request: HttpRequest, appointment_pk: int, pk: int) -> HttpResponse:
        access = self.access(request, appointment_pk)
        invitation = (
            InterpreterInvitation.objects.filter(pk=pk, call__appointment=access.appointment)
            .select_related("call__appointment")
            .first()
        )
        if invitation is None:
            raise Http404
        services.interpreter_revoke(actor=request.user, invitation=invitation)
        messages.success(request, _("The link has been withdrawn."))
        return redirect("video_calls:invitations", appointment_pk=appointment_pk)


@method_decorator([login_required, never_cache], name="dispatch")
class WaitingView(View):
    """JSON for waiting-notice.js on staff appointment pages: who waits in which call."""

    page_roles = STAFF_ROLE_ORDER

    def get(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not getattr(user, "is_staff_member", False):
            raise Http404
        rows = selectors.waiting_list_for_user(user=user)
        for row in rows:
            row["url"] = reverse("video_calls:call", kwargs={"appointment_pk": row["appointment"]})
        return JsonResponse({"waiting": rows})
