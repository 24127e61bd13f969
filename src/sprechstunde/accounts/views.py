"""Pages of the accounts app: "My account", sessions, substitutions, staff and teams.

Views parse input, call one service or selector, and render. Whoever may not touch an object
gets 404 (and the refusal is written to the audit trail).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.utils import passthrough_next_redirect_url
from allauth.account.views import ConfirmLoginCodeView as AllauthConfirmLoginCodeView
from allauth.account.views import LoginView as AllauthLoginView
from allauth.usersessions.models import UserSession
from django import forms
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views import View

from sprechstunde.audit.services import audit_record
from sprechstunde.core.errors import ApplicationError, PermissionDeniedError

from . import selectors, services
from .choices import Role
from .forms import (
    LanguagePreferenceForm,
    StaffForm,
    StaffUpdateForm,
    SubstitutionForm,
    TeamForm,
)
from .login_budget import login_budget_key
from .models import Substitution, Team, User
from .permissions import can_manage_staff, can_use_substitutions, is_staff_member
from .role_pages import STAFF_ROLE_ORDER, is_role_page_request, other_role_response, role_page


def _refuse(request: HttpRequest, *, action: str, target_type: str, target_id: Any = "") -> Http404:
    """Records a refused access and returns the 404 to raise."""
    audit_record(
        actor=request.user,
        action=action,
        target_type=target_type,
        target_id=str(target_id or ""),
        request=request,
    )
    return Http404()


def _show_error(form: forms.Form, error: ApplicationError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error.message))


def _get_or_refuse(
    request: HttpRequest, queryset: QuerySet[Any], pk: int, *, action: str, target_type: str
) -> Any:
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise _refuse(request, action=action, target_type=target_type, target_id=pk)
    return obj


# --- My account ------------------------------------------------------------------------------


class ProfileView(LoginRequiredMixin, View):
    """ "My account": who I am, my language, and the way to 2FA, sessions and password."""

    template_name = "accounts/profile.html"

    def _render(self, request: HttpRequest, form: LanguagePreferenceForm) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "is_staff_member": is_staff_member(user),
                "has_second_factor": selectors.user_has_second_factor(user=user),
                "has_usable_password": user.has_usable_password(),
            },
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        if getattr(request.user, "is_client", False):
            # A client's language lives on the client record: her settings page keeps it.
            return redirect("clients:portal_settings")
        form = LanguagePreferenceForm(
            initial={"preferred_language": request.user.preferred_language},  # type: ignore[union-attr]
            user=request.user,
        )
        return self._render(request, form)

    def post(self, request: HttpRequest) -> HttpResponse:
        if getattr(request.user, "is_client", False):
            return redirect("clients:portal_settings")
        form = LanguagePreferenceForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                services.user_preferences_update(
                    user=request.user,  # type: ignore[arg-type]
                    preferred_language=form.cleaned_data["preferred_language"],
                )
            except ApplicationError as error:
                _show_error(form, error)
            else:
                messages.success(request, _("Your language setting has been saved."))
                return redirect("accounts:profile")
        return self._render(request, form)


class SessionEndView(LoginRequiredMixin, View):
    """Ends one of my own sessions (another device, or this one)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        session = _get_or_refuse(
            request,
            UserSession.objects.filter(user_id=request.user.pk),
            pk,
            action="session.access_denied",
            target_type="usersessions.usersession",
        )
        was_current = services.user_session_end(
            request=request,
            user=request.user,  # type: ignore[arg-type]
            session=session,
        )
        if was_current:
            return redirect("account_login")
        messages.success(request, _("The session has been ended."))
        return redirect("usersessions_list")


# --- Substitutions ---------------------------------------------------------------------------


class SubstitutionAccessMixin(LoginRequiredMixin):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not can_use_substitutions(request.user):
            refusal = _refuse(
                request, action="substitution.access_denied", target_type="accounts.substitution"
            )
            if is_role_page_request(request, kwargs):
                return other_role_response(
                    request, roles=[Role.CASE_MANAGER, Role.TEAM_LEAD, Role.ADMIN]
                )
            raise refusal
        return super().dispatch(request, *args, **kwargs)


class SubstitutionListView(SubstitutionAccessMixin, View):
    """Current and planned substitutions I may see, and the form to record one."""

    template_name = "accounts/substitution_list.html"

    def _render(self, request: HttpRequest, form: SubstitutionForm) -> HttpResponse:
        today = timezone.localdate()
        substitutions = list(selectors.substitution_list_for_user(user=request.user))
        current = [s for s in substitutions if s.ended_at is None and s.ends_on >= today]
        current_ids = {s.pk for s in current}
        past = [s for s in substitutions if s.pk not in current_ids][:50]
        return render(
            request,
            self.template_name,
            {"form": form, "current": current, "past": past, "today": today},
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, SubstitutionForm(user=request.user))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SubstitutionForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.substitution_create(
                    actor=request.user,
                    absent=data["absent"],
                    substitute=data["substitute"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    request=request,
                )
            except ApplicationError as error:
                _show_error(form, error)
            else:
                messages.success(request, _("The substitution has been recorded."))
                return redirect("accounts:substitution_list")
        return self._render(request, form)


class SubstitutionEndView(SubstitutionAccessMixin, View):
    """Ends a substitution today."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        substitution: Substitution = _get_or_refuse(
            request,
            selectors.substitution_list_for_user(user=request.user),
            pk,
            action="substitution.access_denied",
            target_type="accounts.substitution",
        )
        try:
            services.substitution_end(
                actor=request.user, substitution=substitution, request=request
            )
        except PermissionDeniedError as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("The substitution has been ended."))
        return redirect("accounts:substitution_list")


# --- Staff and teams (administrators) --------------------------------------------------------


class StaffManagerMixin(LoginRequiredMixin):
    """Only administrators; everyone else gets the page that says who uses it (pages
    without an object, ADR 0061) or 404."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not can_manage_staff(request.user):
            refusal = _refuse(request, action="staff.access_denied", target_type="accounts.user")
            if is_role_page_request(request, kwargs):
                return other_role_response(request, roles=[Role.ADMIN])
            raise refusal
        return super().dispatch(request, *args, **kwargs)

    def get_staff(self, request: HttpRequest, pk: int) -> User:
        user: User = _get_or_refuse(
            request,
            selectors.staff_list_for_user(user=request.user),
            pk,
            action="staff.access_denied",
            target_type="accounts.user",
        )
        return user


class StaffListView(StaffManagerMixin, View):
    """All staff accounts with role, team and status."""

    def get(self, request: HttpRequest) -> HttpResponse:
        staff = list(selectors.staff_list_for_user(user=request.user))
        return render(request, "accounts/staff_list.html", {"staff": staff})


class StaffCreateView(StaffManagerMixin, View):
    """A new staff account; the person gets an e-mail to choose a password."""

    template_name = "accounts/staff_form.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": StaffForm(), "creating": True})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = StaffForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.staff_create(
                    actor=request.user,
                    email=data["email"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    role=data["role"],
                    team=data["team"],
                    request=request,
                )
            except ApplicationError as error:
                _show_error(form, error)
            else:
                messages.success(
                    request,
                    _("The account for %(email)s has been created and an e-mail has been sent.")
                    % {"email": user.email},
                )
                return redirect("accounts:staff_list")
        return render(request, self.template_name, {"form": form, "creating": True})


class StaffUpdateView(StaffManagerMixin, View):
    """Name, role and team of one staff account, and what can be done with it."""

    template_name = "accounts/staff_form.html"

    def _render(self, request: HttpRequest, staff: User, form: StaffUpdateForm) -> HttpResponse:
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "staff": staff,
                "creating": False,
                "has_second_factor": selectors.user_has_second_factor(user=staff),
                "is_self": staff.pk == request.user.pk,
            },
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        staff = self.get_staff(request, pk)
        form = StaffUpdateForm(
            initial={
                "first_name": staff.first_name,
                "last_name": staff.last_name,
                "role": staff.role,
                "team": staff.team_id,
            }
        )
        return self._render(request, staff, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        staff = self.get_staff(request, pk)
        form = StaffUpdateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.staff_update(
                    actor=request.user,
                    user=staff,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    role=data["role"],
                    team=data["team"],
                    request=request,
                )
            except ApplicationError as error:
                _show_error(form, error)
            else:
                messages.success(request, _("The changes have been saved."))
                return redirect("accounts:staff_list")
        return self._render(request, staff, form)


class StaffActionView(StaffManagerMixin, View):
    """Deactivate, reactivate, send a new password link, or reset the second factor."""

    ACTIONS = {
        "deactivate": (services.staff_deactivate, _lazy("The account has been deactivated.")),
        "reactivate": (services.staff_reactivate, _lazy("The account has been reactivated.")),
        "password_link": (
            services.staff_password_link_send,
            _lazy("An e-mail with a link to choose a password has been sent."),
        ),
        "mfa_reset": (
            services.staff_mfa_reset,
            _lazy("The second factor has been reset. It must be set up again at the next login."),
        ),
    }

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        staff = self.get_staff(request, pk)
        entry = self.ACTIONS.get(request.POST.get("action", ""))
        if entry is None:
            messages.error(request, _("Unknown action."))
            return redirect("accounts:staff_update", pk=staff.pk)
        service, success = entry
        try:
            service(actor=request.user, user=staff, request=request)
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, str(success))
        return redirect(reverse("accounts:staff_update", kwargs={"pk": staff.pk}))


class TeamListView(StaffManagerMixin, View):
    """All teams with their number of members, and the form to create one."""

    template_name = "accounts/team_list.html"

    def _render(self, request: HttpRequest, form: TeamForm) -> HttpResponse:
        teams = list(selectors.team_list_for_user(user=request.user))
        return render(request, self.template_name, {"teams": teams, "form": form})

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, TeamForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TeamForm(request.POST)
        if form.is_valid():
            try:
                team = services.team_create(
                    actor=request.user, name=form.cleaned_data["name"], request=request
                )
            except ApplicationError as error:
                _show_error(form, error)
            else:
                messages.success(
                    request, _("The team “%(name)s” has been created.") % {"name": team.name}
                )
                return redirect("accounts:team_list")
        return self._render(request, form)


class TeamUpdateView(StaffManagerMixin, View):
    """Renames a team."""

    template_name = "accounts/team_form.html"

    def _team(self, request: HttpRequest, pk: int) -> Team:
        team: Team = _get_or_refuse(
            request,
            selectors.team_list_for_user(user=request.user),
            pk,
            action="team.access_denied",
            target_type="accounts.team",
        )
        return team

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        team = self._team(request, pk)
        form = TeamForm(initial={"name": team.name})
        return render(request, self.template_name, {"form": form, "team": team})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        team = self._team(request, pk)
        form = TeamForm(request.POST)
        if form.is_valid():
            try:
                services.team_rename(
                    actor=request.user, team=team, name=form.cleaned_data["name"], request=request
                )
            except ApplicationError as error:
                _show_error(form, error)
            else:
                messages.success(request, _("The team has been renamed."))
                return redirect("accounts:team_list")
        return render(request, self.template_name, {"form": form, "team": team})


class EmailChangeDisabledView(View):
    """allauth's page to add or change e-mail addresses is switched off: the address is the
    login and belongs to the record an admin (staff) or case manager (clients) keeps."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return redirect("accounts:profile")

    def post(self, request: HttpRequest) -> HttpResponse:
        return redirect("accounts:profile")


def staff_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wraps an allauth page that only staff may use: clients log in by code, never by password."""

    @role_page(*STAFF_ROLE_ORDER)
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request.user, "is_client", False):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


class ConfirmLoginCodeView(AllauthConfirmLoginCodeView):
    """allauth's "enter your code" page, with the address's failure budget (login_budget)
    handed to the form, so every code checked counts per account across all addresses."""

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_form_kwargs()
        if self._action != "resend":
            email = str(self._process.state.get("email") or "")
            phone = str(self._process.state.get("phone") or "")
            kwargs["budget_key"] = login_budget_key(email=email, phone=phone)
            kwargs["by_phone"] = bool(phone and not email)
        return kwargs


class StaffLoginView(AllauthLoginView):
    """Staff sign-in: e-mail address and password, then the second factor (adapters).

    Every failure gets one answer, whoever the address belongs to: the same message, which
    also points clients to the code login, so a client who typed their address here learns
    the way in without learning anything about any account (ADR 0050)."""

    template_name = "account/login_staff.html"


class LoginLandingView(StaffLoginView):
    """The login page everyone lands on: the code login for clients first, staff sign-in as a
    secondary link. It still takes the staff form's POST (older bookmarks and tabs post
    here) and answers a failed one with the staff page."""

    def get_template_names(self) -> list[str]:
        if self.request.method == "POST":
            return [self.template_name]
        return ["account/login.html"]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["staff_login_url"] = passthrough_next_redirect_url(
            self.request, reverse("account_login_staff"), REDIRECT_FIELD_NAME
        )
        return context
