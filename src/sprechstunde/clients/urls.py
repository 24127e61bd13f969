from django.urls import path

from . import views

app_name = "clients"

urlpatterns = [
    # Staff: the caseload
    path("", views.ClientListView.as_view(), name="list"),
    path("neu/", views.ClientCreateView.as_view(), name="create"),
    path("<int:pk>/", views.ClientDetailView.as_view(), name="detail"),
    path("<int:pk>/bearbeiten/", views.ClientUpdateView.as_view(), name="update"),
    path("<int:pk>/einladung/senden/", views.InvitationSendView.as_view(), name="invitation_send"),
    path(
        "<int:pk>/einladung/widerrufen/",
        views.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path(
        "<int:pk>/einladung/erneut/",
        views.InvitationResendView.as_view(),
        name="invitation_resend",
    ),
    path(
        "<int:pk>/einwilligung/<str:purpose>/papier/",
        views.PaperConsentView.as_view(),
        name="paper_consent",
    ),
    # The client's phone: the invitation link, no login
    path(
        "einladung/angenommen/",
        views.InvitationAcceptedView.as_view(),
        name="invitation_accepted",
    ),
    path("einladung/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"),
    path("zugang-beendet/", views.AccessEndedView.as_view(), name="access_ended"),
    # Easy language and sign language, for everyone
    path("leichte-sprache/", views.EasyLanguageView.as_view(), name="easy_language"),
    path(
        "leichte-sprache/<slug:slug>/",
        views.EasyLanguagePageView.as_view(),
        name="easy_language_page",
    ),
    # The client portal
    path("portal/", views.PortalHomeView.as_view(), name="portal_home"),
    path("portal/datenschutz/", views.PrivacyView.as_view(), name="privacy"),
    path("portal/einstellungen/", views.PortalSettingsView.as_view(), name="portal_settings"),
    path(
        "portal/datenschutz/quittung.pdf",
        views.ConsentReceiptView.as_view(),
        name="consent_receipt",
    ),
    path(
        "portal/datenschutz/<str:purpose>/widerrufen/",
        views.ConsentWithdrawView.as_view(),
        name="consent_withdraw",
    ),
    path(
        "portal/datenschutz/<str:purpose>/erteilen/",
        views.ConsentGiveView.as_view(),
        name="consent_give",
    ),
    path("portal/video/", views.PortalVideoView.as_view(), name="portal_video"),
    path("portal/postfach/", views.PortalPostboxView.as_view(), name="portal_postbox"),
]
