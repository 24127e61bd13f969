"""Root URL configuration. Each app owns its routes under a namespace."""

from allauth.account import views as allauth_views
from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from sprechstunde.accounts import views as account_views
from sprechstunde.clients import views as client_views

admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = settings.JOBCENTER_NAME

urlpatterns = [
    path("", include("sprechstunde.core.urls")),
    path("heute/", include("sprechstunde.desk.urls")),
    path("konto/", include("sprechstunde.accounts.urls")),
    path("klienten/", include("sprechstunde.clients.urls")),
    path("protokoll/", include("sprechstunde.audit.urls")),
    path("termine/", include("sprechstunde.appointments.urls")),
    path("nachrichten/", include("sprechstunde.messaging.urls")),
    path("zahlen/", include("sprechstunde.reporting.urls")),
    path("dokumente/", include("sprechstunde.documents.urls")),
    path("video/", include("sprechstunde.video_calls.urls")),
    path("signaturen/", include("sprechstunde.signatures.urls")),
    path("vereinbarungen/", include("sprechstunde.agreements.urls")),
    path("datenschutz-unterlagen/", include("sprechstunde.compliance.urls")),
    path("auskunft/", include("sprechstunde.subject_access.urls")),
    path("barrierefreiheit/", include("sprechstunde.accessibility.urls")),
    path("aufbewahrung/", include("sprechstunde.retention.urls")),
    path("e-akte/", include("sprechstunde.efile.urls")),
    path("formulare/", include("sprechstunde.eforms.urls")),
    # The e-mail address is the login: admins change staff addresses, not allauth's page.
    path("accounts/email/", account_views.EmailChangeDisabledView.as_view(), name="email_locked"),
    # Password pages are for staff only: clients log in by code (and optionally a passkey).
    path(
        "accounts/password/change/",
        account_views.staff_only(allauth_views.password_change),
        name="account_change_password",
    ),
    path(
        "accounts/password/set/",
        account_views.staff_only(allauth_views.password_set),
        name="account_set_password",
    ),
    # The landing leads clients to the code login and staff to their own page (ADR 0050).
    path("accounts/login/", account_views.LoginLandingView.as_view(), name="account_login"),
    path(
        "accounts/login/staff/",
        account_views.StaffLoginView.as_view(),
        name="account_login_staff",
    ),
    # Every code checked counts against the account's failure budget (accounts.login_budget).
    path(
        "accounts/login/code/confirm/",
        account_views.ConfirmLoginCodeView.as_view(),
        name="account_confirm_login_code",
    ),
    path("accounts/", include("allauth.urls")),
    # The footer's switch stores a client's or staff member's choice (issue 13).
    path("i18n/setlang/", client_views.LanguageSwitchView.as_view(), name="set_language"),
    path("verwaltung/", admin.site.urls),
]

# A database outage answers 503 "briefly unavailable"; anything else the generic 500 page.
handler500 = "sprechstunde.core.error_pages.server_error"
