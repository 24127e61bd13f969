"""Client pages: the caseload for staff, the invitation for the client's phone, the portal.

Views parse input, call one service or selector and render. Client data is reached only
through the selectors and permissions; anything outside the rules answers 404.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from sprechstunde.accounts import services as account_services
from sprechstunde.accounts.choices import Role
from sprechstunde.accounts.role_pages import CLIENT_ONLY, is_role_page_request, other_role_response
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError
from sprechstunde.core.languages import language_codes_for, set_language_cookie

from . import permissions, receipts, selectors, services, timeline
from .choices import (
    PURPOSE_SHORT_LABELS,
    REQUIRED_PURPOSES,
    ConsentMethod,
    ConsentPurpose,
    InvitationChannel,
)
from .forms import (
    ClientCreateForm,
    ClientSearchForm,
    ClientUpdateForm,
    ConsentGiveForm,
    InvitationAcceptForm,
    PaperConsentForm,
)
from .models import Client

CASELOAD_PAGE_SIZE = 50
CASELOAD_ROLE_ORDER = (Role.CASE_MANAGER, Role.TEAM_LEAD)
ACCEPTED_EMAIL_SESSION_KEY = "clients.accepted_email"
# A client without e-mail: the code goes by SMS to this number (E.164).
ACCEPTED_PHONE_SESSION_KEY = "clients.accepted_phone"
CLIENT_LOGIN_URL = reverse_lazy("account_request_login_code")


def _form_error(form: Any, error: ApplicationError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error.message))


def _contact() -> dict[str, str]:
    """The Jobcenter's ways of contact without the portal (shown wherever a step fails)."""
    return {
        "jobcenter_phone": getattr(settings, "JOBCENTER_PHONE", ""),
        "jobcenter_address": getattr(settings, "JOBCENTER_ADDRESS", ""),
    }


# --- staff -----------------------------------------------------------------------------------


class CaseloadStaffMixin(LoginRequiredMixin):
    """Case managers and team leads; everybody else gets 404, or for a page without an
    object the page that says who uses it (ADR 0061)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not permissions.is_caseload_staff(user=request.user):
            if is_role_page_request(request, kwargs):
                return other_role_response(request, roles=CASELOAD_ROLE_ORDER)
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_client(self, pk: int, *, record_view: bool = True) -> Client:
        return selectors.client_get_for_user(
            user=self.request.user,  # type: ignore[attr-defined]
            pk=pk,
            request=self.request,  # type: ignore[attr-defined]
            record_view=record_view,
        )


def _caseload_row(client: Client) -> dict[str, Any]:
    """What one line of the caseload shows: portal state and a mark per purpose."""
    active = {consent.purpose for consent in getattr(client, "active_consents", [])}
    if client.user is not None and client.user.is_active and ConsentPurpose.PORTAL in active:
        portal = "active"
    elif getattr(client, "open_invitation_expires_at", None) is not None:
        portal = "invited"
    elif client.user is not None:
        portal = "ended"
    else:
        portal = "none"
    return {
        "client": client,
        "portal": portal,
        "consents": [
            {"short": PURPOSE_SHORT_LABELS[purpose], "active": purpose in active}
            for purpose in ConsentPurpose
        ],
    }


class ClientListView(LoginRequiredMixin, View):
    """The caseload: search by name, consent and invitation state at a glance."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if getattr(user, "role", None) == Role.CLIENT:
            return redirect("clients:portal_home")
        if not permissions.is_caseload_staff(user=user):
            # Admins and DPOs: no client data, but a page that says who works with it.
            return other_role_response(request, roles=CASELOAD_ROLE_ORDER)
        form = ClientSearchForm(request.GET)
        search = form.cleaned_data["q"] if form.is_valid() else ""
        clients = selectors.client_list_for_user(user=user, search=search, request=request)
        page = Paginator(clients, CASELOAD_PAGE_SIZE).get_page(request.GET.get("page"))
        return render(
            request,
            "clients/list.html",
            {
                "form": form,
                "search": search,
                "page": page,
                "rows": [_caseload_row(client) for client in page.object_list],
                # A column for the case manager only where the list mixes caseloads.
                "show_case_manager": any(
                    client.case_manager_id != user.pk for client in page.object_list
                ),
                "can_create": permissions.can_create_clients(user=user),
            },
        )


class ClientCreateView(CaseloadStaffMixin, View):
    """New client: name, e-mail and/or mobile number, language; optionally invite at once."""

    def _form(self, data: Any = None) -> ClientCreateForm:
        return ClientCreateForm(
            data,
            case_managers=permissions.case_managers_assignable_by(user=self.request.user),
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "clients/create.html", {"form": self._form()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self._form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                client = services.client_create(
                    actor=request.user,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                    mobile_number=data["mobile_number"],
                    preferred_language=data["preferred_language"],
                    interpreter=data["interpreter"],
                    interpreter_language=data["interpreter_language"],
                    customer_number=data["customer_number"],
                    bg_number=data["bg_number"],
                    case_manager=data.get("case_manager"),
                    send_invitation=data["send_invitation"],
                    request=request,
                )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("The client has been created."))
                channel = services.invitation_channel_for(client=client)
                if data["send_invitation"] and channel is not None:
                    messages.success(request, _invitation_sent_message(channel))
                elif data["send_invitation"]:
                    messages.info(
                        request,
                        _(
                            "No invitation was sent: the client has no e-mail address, and "
                            "text messages are not set up here. Keep in touch by phone or post."
                        ),
                    )
                return redirect("clients:detail", pk=client.pk)
        return render(request, "clients/create.html", {"form": form}, status=400)


class ClientDetailView(CaseloadStaffMixin, View):
    """One client: contact data, the actions to start, the whole story as one timeline
    (filtered by kind, paged by cursor), invitation state and consent per purpose.

    Audited once per page as "client.view", not once per entry (ADR 0060).
    """

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self.get_client(pk)
        history = selectors.consent_history_for_client(client=client)
        invitation = selectors.invitation_latest_for_client(client=client)
        has_portal = selectors.client_has_portal_access(client=client)
        cursor = timeline.Cursor.decode(request.GET.get("vor"))
        story = timeline.timeline_page(
            client=client,
            kind=request.GET.get("art", ""),
            cursor=cursor,
            page_size=timeline.PAGE_SIZE,
        )
        kind_labels = dict(story.kinds)
        return render(
            request,
            "clients/detail.html",
            {
                "client": client,
                "states": selectors.consent_states_for_client(client=client, history=history),
                "history": history,
                "invitation": invitation,
                "invitation_open": invitation is not None and invitation.is_open,
                "invitation_channel": services.invitation_channel_for(client=client),
                "has_portal": has_portal,
                "can_manage": permissions.can_manage_client(user=request.user, client=client),
                "actions": timeline.client_actions_for_user(user=request.user, client=client),
                "story": story,
                "story_is_first_page": cursor is None,
                "story_rows": [
                    {"entry": entry, "kind_label": kind_labels.get(entry.kind, entry.kind)}
                    for entry in story.entries
                ],
            },
        )


class ClientUpdateView(CaseloadStaffMixin, View):
    """Correct name, contact data or language (the login address of a portal user stays)."""

    def _form(self, client: Client, data: Any = None) -> ClientUpdateForm:
        initial = {
            "first_name": client.first_name,
            "last_name": client.last_name,
            "email": client.email,
            "mobile_number": client.mobile_number,
            "preferred_language": client.preferred_language,
            "interpreter": client.interpreter,
            "interpreter_language": client.interpreter_language,
            "customer_number": client.customer_number,
            "bg_number": client.bg_number,
            "postal_street": client.postal_street,
            "postal_supplement": client.postal_supplement,
            "postal_code": client.postal_code,
            "postal_city": client.postal_city,
        }
        return ClientUpdateForm(data, initial=initial, email_locked=client.user_id is not None)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self.get_client(pk)
        if not permissions.can_manage_client(user=request.user, client=client):
            raise Http404
        return render(
            request, "clients/update.html", {"client": client, "form": self._form(client)}
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self.get_client(pk, record_view=False)
        form = self._form(client, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.client_update(
                    client=client,
                    actor=request.user,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                    mobile_number=data["mobile_number"],
                    preferred_language=data["preferred_language"],
                    interpreter=data["interpreter"],
                    interpreter_language=data["interpreter_language"],
                    customer_number=data["customer_number"],
                    bg_number=data["bg_number"],
                    postal_address=services.PostalAddress(
                        street=data["postal_street"],
                        supplement=data["postal_supplement"],
                        postcode=data["postal_code"],
                        city=data["postal_city"],
                    ),
                    request=request,
                )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("The changes have been saved."))
                return redirect("clients:detail", pk=client.pk)
        return render(request, "clients/update.html", {"client": client, "form": form}, status=400)


class PaperConsentView(CaseloadStaffMixin, View):
    """Staff record a consent or a withdrawal the client signed on paper.

    A purpose that is active can be withdrawn, one that is not can be given (portal use only
    by accepting an invitation). Giving shows the current text in the language chosen
    (the client's by default), which is the text that is recorded.
    """

    def _setup(self, pk: int, purpose: str, *, record_view: bool) -> tuple[Client, Any, bool]:
        wanted = _purpose_or_404(purpose)
        client = self.get_client(pk, record_view=record_view)
        if not permissions.can_manage_client(user=self.request.user, client=client):
            raise Http404
        state = next(
            state
            for state in selectors.consent_states_for_client(client=client)
            if state.purpose == wanted
        )
        return client, wanted, state.is_active

    def _language(self, client: Client) -> str:
        wanted = self.request.GET.get("sprache") or self.request.POST.get("language")
        codes = [code for code, _name in settings.LANGUAGES]
        if wanted in codes:
            return str(wanted)
        return client.preferred_language if client.preferred_language in codes else codes[0]

    def _render(
        self, client: Client, purpose: Any, withdraw: bool, form: PaperConsentForm, status: int
    ) -> HttpResponse:
        language = self._language(client)
        text = (
            None if withdraw else selectors.consent_text_current(purpose=purpose, language=language)
        )
        return render(
            self.request,
            "clients/paper_consent.html",
            {
                "client": client,
                "purpose": purpose,
                "withdraw": withdraw,
                "ends_portal": withdraw and purpose == ConsentPurpose.PORTAL,
                "text": text,
                "language": language,
                "languages": settings.LANGUAGES,
                "form": form,
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int, purpose: str) -> HttpResponse:
        client, wanted, active = self._setup(pk, purpose, record_view=True)
        if not active and wanted in REQUIRED_PURPOSES:
            messages.error(request, _("Consent to portal use is given by accepting an invitation."))
            return redirect("clients:detail", pk=client.pk)
        return self._render(client, wanted, active, PaperConsentForm(withdraw=active), 200)

    def post(self, request: HttpRequest, pk: int, purpose: str) -> HttpResponse:
        client, wanted, active = self._setup(pk, purpose, record_view=False)
        form = PaperConsentForm(request.POST, withdraw=active)
        if form.is_valid() and form.cleaned_data["action"] != ("withdraw" if active else "give"):
            # Someone (the client in the portal, a colleague) changed it since the page was
            # shown: record nothing and show where it stands now.
            messages.error(
                request,
                _("This consent has changed in the meantime. Nothing was recorded; please check."),
            )
            return redirect("clients:detail", pk=client.pk)
        if form.is_valid():
            try:
                if active:
                    services.consent_withdraw(
                        client=client,
                        purpose=wanted,
                        actor=request.user,
                        method=ConsentMethod.PAPER,
                        request=request,
                    )
                else:
                    services.consent_give(
                        client=client,
                        purpose=wanted,
                        actor=request.user,
                        language=self._language(client),
                        method=ConsentMethod.PAPER,
                        shown_text_id=form.cleaned_data["text"] or 0,
                        request=request,
                    )
            except PermissionDeniedError as error:
                raise Http404 from error
            except ApplicationError as error:
                _form_error(form, error)
            else:
                done = (
                    _("The withdrawal of “%(purpose)s” received on paper is recorded.")
                    if active
                    else _("The consent to “%(purpose)s” received on paper is recorded.")
                )
                messages.success(request, done % {"purpose": wanted.label})
                if active and wanted in (ConsentPurpose.VIDEO, ConsentPurpose.PORTAL):
                    # consent_withdraw has moved future video appointments off video.
                    messages.info(
                        request,
                        _(
                            "Future video appointments of this client no longer take place "
                            "by video; both sides get the changed invitation."
                        ),
                    )
                return redirect("clients:detail", pk=client.pk)
        return self._render(client, wanted, active, form, 400)


class _InvitationActionView(CaseloadStaffMixin, View, ABC):
    """POST-only buttons on the detail page; the outcome is shown as a message there."""

    success_message = ""

    @abstractmethod
    def act(self, client: Client) -> None:
        """The action itself (each subclass calls its service)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        client = self.get_client(pk, record_view=False)
        try:
            self.act(client)
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, self.success_message)
        return redirect("clients:detail", pk=client.pk)


def _invitation_sent_message(channel: str) -> str:
    """Says truthfully which way the invitation went."""
    if channel == InvitationChannel.SMS:
        return str(_("The invitation has been sent by text message to the mobile number."))
    return str(_("The invitation has been sent by e-mail."))


class InvitationSendView(_InvitationActionView):
    def act(self, client: Client) -> None:
        issued = services.invitation_send(
            client=client, actor=self.request.user, request=self.request
        )
        self.success_message = _invitation_sent_message(issued.invitation.channel)


class InvitationRevokeView(_InvitationActionView):
    success_message = _("The invitation has been revoked. Its link no longer works.")

    def act(self, client: Client) -> None:
        count = services.invitation_revoke_open(
            client=client, actor=self.request.user, request=self.request
        )
        if not count:
            raise ApplicationError(_("There is no open invitation to revoke."))


class InvitationResendView(_InvitationActionView):
    def act(self, client: Client) -> None:
        issued = services.invitation_resend(
            client=client, actor=self.request.user, request=self.request
        )
        if issued.invitation.channel == InvitationChannel.SMS:
            self.success_message = str(
                _(
                    "A new invitation has been sent by text message to the mobile number. "
                    "The old link no longer works."
                )
            )
        else:
            self.success_message = str(
                _("A new invitation has been sent. The old link no longer works.")
            )


# --- the invitation, on the client's phone ---------------------------------------------------


def _invitation_language(request: HttpRequest, client: Client | None) -> str:
    """A language picked on the page wins; then the client's own, then the browser's."""
    available = dict(settings.LANGUAGES)
    picked = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if picked in available:
        return picked
    own = client.preferred_language if client is not None else ""
    if own in available and own != settings.LANGUAGE_CODE:
        return own
    current = translation.get_language() or settings.LANGUAGE_CODE
    try:
        return translation.get_supported_language_variant(current)
    except LookupError:
        return settings.LANGUAGE_CODE


@method_decorator(never_cache, name="dispatch")
class InvitationAcceptView(View):
    """The link from the invitation mail: data-protection information and one choice per
    purpose. Expired, used, revoked or unknown links get a page with the next step."""

    def _unusable(self, request: HttpRequest, state: str, language: str) -> HttpResponse:
        with translation.override(language):
            return render(
                request,
                "clients/invitation_invalid.html",
                {"state": state, **_contact()},
                status=404 if state == "unknown" else 410,
            )

    def _page(
        self,
        request: HttpRequest,
        form: InvitationAcceptForm,
        language: str,
        *,
        status: int = 200,
        notice: str = "",
    ) -> HttpResponse:
        with translation.override(language):
            response = render(
                request,
                "clients/invitation_accept.html",
                {"form": form, "choices": form.choices(), "notice": notice, **_contact()},
                status=status,
            )
        response.headers["Content-Language"] = language
        return response

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        lookup = selectors.invitation_lookup(token=token)
        client = lookup.invitation.client if lookup.invitation else None
        language = _invitation_language(request, client)
        if lookup.state != "valid":
            return self._unusable(request, lookup.state, language)
        texts = selectors.consent_texts_current(language=language)
        needs_contact = lookup.invitation is not None and services.invitation_needs_contact(
            invitation=lookup.invitation
        )
        return self._page(
            request, InvitationAcceptForm(texts=texts, needs_contact=needs_contact), language
        )

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        lookup = selectors.invitation_lookup(token=token)
        client = lookup.invitation.client if lookup.invitation else None
        language = _invitation_language(request, client)
        if lookup.state != "valid":
            return self._unusable(request, lookup.state, language)
        texts = selectors.consent_texts_current(language=language)
        needs_contact = lookup.invitation is not None and services.invitation_needs_contact(
            invitation=lookup.invitation
        )
        form = InvitationAcceptForm(request.POST, texts=texts, needs_contact=needs_contact)
        if not form.is_valid():
            return self._page(request, form, language, status=400)
        with translation.override(language):
            try:
                accepted = services.invitation_accept(
                    token=token,
                    purposes=form.chosen_purposes(),
                    language=language,
                    shown_text_ids=form.shown_text_ids(),
                    request=request,
                    **form.contact(),
                )
            except services.InvitationUnusableError as error:
                return self._unusable(request, error.state, language)
            except services.ConsentTextChangedError as error:
                fresh = InvitationAcceptForm(
                    texts=selectors.consent_texts_current(language=language),
                    needs_contact=needs_contact,
                )
                return self._page(request, fresh, language, status=409, notice=str(error.message))
            except ApplicationError as error:
                _form_error(form, error)
                return self._page(request, form, language, status=400)
        if request.user.is_authenticated and request.user.pk != accepted.user_id:
            # Someone else was logged in on this device: they must not stay logged in.
            logout(request)
        if accepted.email:
            request.session[ACCEPTED_EMAIL_SESSION_KEY] = accepted.email
            request.session.pop(ACCEPTED_PHONE_SESSION_KEY, None)
        else:
            request.session[ACCEPTED_PHONE_SESSION_KEY] = accepted.mobile_number
            request.session.pop(ACCEPTED_EMAIL_SESSION_KEY, None)
        response = redirect("clients:invitation_accepted")
        # The pages before the code login are anonymous: the cookie keeps them in the
        # language the client read the consent in (issue 13: no flip after consent).
        set_language_cookie(response, language)
        return response


@method_decorator(never_cache, name="dispatch")
class InvitationAcceptedView(View):
    """After accepting: one tap sends the login code to the address from the invitation."""

    def get(self, request: HttpRequest) -> HttpResponse:
        email = request.session.get(ACCEPTED_EMAIL_SESSION_KEY)
        phone = request.session.get(ACCEPTED_PHONE_SESSION_KEY)
        if not email and not phone:
            return redirect(CLIENT_LOGIN_URL)
        if request.user.is_authenticated:
            return redirect("clients:portal_home")
        return render(
            request,
            "clients/invitation_accepted.html",
            {"email": email, "phone": phone, "request_code_url": CLIENT_LOGIN_URL},
        )


class AccessEndedView(View):
    """Shown after a client withdrew consent to portal use and was logged out."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "clients/access_ended.html", _contact())


# --- the client portal -----------------------------------------------------------------------


class PortalLoginRequiredMixin(LoginRequiredMixin):
    """Clients log in with an e-mailed code, so that is where anonymous visitors go."""

    login_url = CLIENT_LOGIN_URL


@method_decorator(permissions.consent_required(ConsentPurpose.PORTAL), name="dispatch")
class PortalHomeView(View):
    """Start: a greeting, what the client can do here, tiles that follow their consents."""

    page_roles = CLIENT_ONLY

    def get(self, request: HttpRequest) -> HttpResponse:
        client, purposes = permissions.portal_state(request)
        return render(
            request,
            "clients/portal_home.html",
            {
                "client": client,
                "has_video": ConsentPurpose.VIDEO in purposes,
                "has_delivery": ConsentPurpose.ELECTRONIC_DELIVERY in purposes,
            },
        )


class _ClientOnlyMixin(PortalLoginRequiredMixin):
    page_roles = CLIENT_ONLY

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not permissions.is_client_user(user=request.user):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class PortalSettingsView(_ClientOnlyMixin, View):
    """'Einstellungen': the client's language (all client languages, each in its own name),
    and the way to passkeys and sessions."""

    def _render(self, request: HttpRequest, *, status: int = 200, error: str = "") -> HttpResponse:
        client, _purposes = permissions.portal_state(request)
        return render(
            request,
            "clients/portal_settings.html",
            {
                "client": client,
                "languages": [
                    translation.get_language_info(code) for code in settings.CLIENT_LANGUAGES
                ],
                "error": error,
            },
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        client, _purposes = permissions.portal_state(request)
        language = request.POST.get("preferred_language", "")
        try:
            services.client_language_set(
                client=client, language=language, actor=request.user, request=request
            )
        except ApplicationError as error:
            return self._render(request, status=400, error=str(error.message))
        translation.activate(language)
        messages.success(request, _("Your language has been saved."))
        response = redirect("clients:portal_settings")
        set_language_cookie(response, language)
        return response


class PrivacyView(_ClientOnlyMixin, View):
    """'Datenschutz': each purpose with its state; withdraw or give again with one tap."""

    def get(self, request: HttpRequest) -> HttpResponse:
        client, states, _history = selectors.consent_overview_for_user(
            user=request.user, request=request
        )
        language = translation.get_language() or settings.LANGUAGE_CODE
        texts = selectors.consent_texts_current(language=language)
        return render(
            request,
            "clients/privacy.html",
            {
                "client": client,
                "rows": [
                    {
                        "state": state,
                        "current_text": texts.get(state.purpose),
                        "optional": state.purpose not in REQUIRED_PURPOSES,
                    }
                    for state in states
                ],
                **_contact(),
            },
        )


def _purpose_or_404(value: str) -> ConsentPurpose:
    if value not in ConsentPurpose.values:
        raise Http404
    return ConsentPurpose(value)


class ConsentWithdrawView(_ClientOnlyMixin, View):
    """One tap: the consent ends now. Portal use ends the access and logs out."""

    def post(self, request: HttpRequest, purpose: str) -> HttpResponse:
        wanted = _purpose_or_404(purpose)
        client, _purposes = permissions.portal_state(request)
        try:
            services.consent_withdraw(
                client=client,
                purpose=wanted,
                actor=request.user,
                method=ConsentMethod.PORTAL,
                request=request,
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.info(request, str(error.message))
            return redirect("clients:privacy")
        if wanted == ConsentPurpose.PORTAL:
            logout(request)
            return redirect("clients:access_ended")
        messages.success(
            request,
            _("Your consent to “%(purpose)s” is withdrawn. This applies from now on.")
            % {"purpose": wanted.label},
        )
        if wanted == ConsentPurpose.VIDEO:
            # consent_withdraw has moved booked video appointments off video (ADR 0051).
            messages.info(
                request,
                _(
                    "Appointments you had booked by video keep their time but no longer take "
                    "place by video. You will find them under “My appointments”, and you get "
                    "an e-mail about each."
                ),
            )
        return redirect("clients:privacy")


class ConsentGiveView(_ClientOnlyMixin, View):
    """Give an optional consent again, with the text version shown on the privacy page."""

    def post(self, request: HttpRequest, purpose: str) -> HttpResponse:
        wanted = _purpose_or_404(purpose)
        client, _purposes = permissions.portal_state(request)
        form = ConsentGiveForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Something went wrong. Please read the text and try again."))
            return redirect("clients:privacy")
        try:
            services.consent_give(
                client=client,
                purpose=wanted,
                actor=request.user,
                language=translation.get_language() or settings.LANGUAGE_CODE,
                shown_text_id=form.cleaned_data["text"],
                request=request,
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(
                request,
                _("Thank you. Your consent to “%(purpose)s” applies from now on.")
                % {"purpose": wanted.label},
            )
        return redirect("clients:privacy")


class ConsentReceiptView(_ClientOnlyMixin, View):
    """The PDF receipt of every consent given and withdrawn, with the full texts."""

    def get(self, request: HttpRequest) -> HttpResponse:
        client, _states, history = selectors.consent_overview_for_user(
            user=request.user, request=request, action="consent.receipt"
        )
        pdf = receipts.consent_receipt_pdf(client=client, consents=history)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="consent-receipt.pdf"'
        response["Cache-Control"] = "no-store"
        return response


@method_decorator(permissions.consent_required(ConsentPurpose.VIDEO), name="dispatch")
class PortalVideoView(View):
    """The old address of 'Videogespräche': the page lives with the appointments, which
    know the client's video appointments. Links in older mails keep working."""

    page_roles = CLIENT_ONLY

    def get(self, request: HttpRequest) -> HttpResponse:
        return redirect("appointments:portal_video")


@method_decorator(permissions.consent_required(ConsentPurpose.ELECTRONIC_DELIVERY), name="dispatch")
class PortalPostboxView(View):
    """The old address of the postbox: what the Jobcenter sent lives in one place, with
    the plans and decisions (agreements:portal). Links in older mails keep working."""

    page_roles = CLIENT_ONLY

    def get(self, request: HttpRequest) -> HttpResponse:
        return redirect("agreements:portal")


# --- the language switch in every footer -------------------------------------------------------


class LanguageSwitchView(View):
    """The footer's language switch, for everyone (issue 13).

    Django's own view only sets a cookie, which a logged-in person's stored language then
    overrode, so the switch did nothing. Here a client's choice is stored on the client (and
    used for mails, SMS and calendar texts from then on), a staff member's on the account;
    a visitor's goes into the cookie, which is also set for the others (the login pages).
    """

    def post(self, request: HttpRequest) -> HttpResponse:
        language = request.POST.get("language", "")
        target = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = "/"
        if language not in language_codes_for(request.user):
            messages.error(request, _("Please choose one of the offered languages."))
            return redirect(target)
        user = request.user
        if user.is_authenticated:
            if permissions.is_client_user(user=user):
                client = permissions.client_profile_of(user=user)
                if client is not None:
                    services.client_language_set(
                        client=client, language=language, actor=user, request=request
                    )
                else:
                    account_services.user_preferences_update(user=user, preferred_language=language)
            else:
                account_services.user_preferences_update(user=user, preferred_language=language)
        translation.activate(language)
        response = redirect(target)
        set_language_cookie(response, language)
        return response


# --- easy language (Leichte Sprache) and sign language ---------------------------------------

# The four texts in Leichte Sprache (issue 13, point 7). They are German by nature (Leichte
# Sprache is a form of German), so they are templates in German, not catalogue entries; the
# page around them follows the visitor's language.
EASY_LANGUAGE_PAGES = (
    ("start", "Das ist Sprechstunde"),
    ("portal", "So funktioniert Sprechstunde"),
    ("einwilligung", "Das bedeutet Einwilligung"),
    ("video", "So funktioniert ein Video-Gespräch"),
)
_EASY_TEMPLATES = {
    "start": "start",
    "portal": "portal",
    "einwilligung": "consent",
    "video": "video",
}


def _easy_pages() -> list[dict[str, str]]:
    return [{"slug": slug, "title": title} for slug, title in EASY_LANGUAGE_PAGES]


class EasyLanguageView(View):
    """The list of texts in Leichte Sprache and the operator's sign-language video, for
    everyone (no login): a client may need them before she can log in."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "clients/easy/index.html",
            {
                "pages": _easy_pages(),
                "sign_language_video": settings.SIGN_LANGUAGE_VIDEO_URL,
                **_contact(),
            },
        )


class EasyLanguagePageView(View):
    """One text in Leichte Sprache."""

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        titles = dict(EASY_LANGUAGE_PAGES)
        if slug not in titles:
            raise Http404
        return render(
            request,
            f"clients/easy/{_EASY_TEMPLATES[slug]}.html",
            {"slug": slug, "title": titles[slug], "pages": _easy_pages()},
        )
