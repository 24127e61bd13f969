from django.urls import path, re_path

from . import template_pages, views

app_name = "agreements"

urlpatterns = [
    # Staff
    path("", views.HomeView.as_view(), name="home"),
    path("klient/<int:client_pk>/", views.ClientAgreementsView.as_view(), name="client"),
    path("klient/<int:client_pk>/plan/neu/", views.PlanCreateView.as_view(), name="plan_create"),
    path(
        "klient/<int:client_pk>/bescheid/neu/",
        views.DecisionCreateView.as_view(),
        name="decision_create",
    ),
    path(
        "klient/<int:client_pk>/bestaetigung/neu/",
        views.ConfirmationCreateView.as_view(),
        name="confirmation_create",
    ),
    path("plan/<int:pk>/", views.PlanView.as_view(), name="plan"),
    path("plan/<int:pk>/gespraech/", views.PlanOfferTalkView.as_view(), name="plan_offer_talk"),
    path("plan/<int:pk>/v<int:number>.pdf", views.PlanPdfView.as_view(), name="plan_pdf"),
    path("bescheid/<int:pk>/", views.DecisionView.as_view(), name="decision"),
    path("bescheid/<int:pk>/bescheid.pdf", views.DecisionPdfView.as_view(), name="decision_pdf"),
    path(
        "bescheid/<int:pk>/zustellnachweis.pdf",
        views.DeliveryLogPdfView.as_view(),
        name="decision_log_pdf",
    ),
    path(
        "bestaetigung/<int:pk>/bestaetigung.pdf",
        views.ConfirmationPdfView.as_view(),
        name="confirmation_pdf",
    ),
    path("post/", views.PostalListView.as_view(), name="postal_list"),
    path("post/<int:pk>/versandt/", views.PostalSentView.as_view(), name="postal_sent"),
    path("post/termin/<int:pk>/", views.AppointmentLetterView.as_view(), name="appointment_letter"),
    path(
        "post/einladung/<int:client_pk>/",
        views.InvitationLetterView.as_view(),
        name="invitation_letter",
    ),
    # Templates (team leads and administrators)
    path("vorlagen/", template_pages.TemplateListView.as_view(), name="template_list"),
    re_path(
        r"^vorlagen/(?P<kind>bescheid|plan)/neu/$",
        template_pages.TemplateCreateView.as_view(),
        name="template_create",
    ),
    re_path(
        r"^vorlagen/(?P<kind>bescheid|plan)/(?P<pk>[0-9]+)/$",
        template_pages.TemplateDetailView.as_view(),
        name="template_detail",
    ),
    re_path(
        r"^vorlagen/(?P<kind>bescheid|plan)/(?P<pk>[0-9]+)/bearbeiten/$",
        template_pages.TemplateEditView.as_view(),
        name="template_edit",
    ),
    re_path(
        r"^vorlagen/(?P<kind>bescheid|plan)/(?P<pk>[0-9]+)/vorschau/$",
        template_pages.TemplatePreviewView.as_view(),
        name="template_preview",
    ),
    re_path(
        r"^vorlagen/(?P<kind>bescheid|plan)/(?P<pk>[0-9]+)/vorschau\.pdf$",
        template_pages.TemplatePreviewPdfView.as_view(),
        name="template_preview_pdf",
    ),
    re_path(
        r"^vorlagen/(?P<kind>bescheid|plan)/(?P<pk>[0-9]+)/veroeffentlichen/$",
        template_pages.TemplatePublishView.as_view(),
        name="template_publish",
    ),
    # The client portal
    path("portal/", views.PortalView.as_view(), name="portal"),
    path("portal/plan/<int:pk>/", views.PortalPlanView.as_view(), name="portal_plan"),
    path(
        "portal/plan/<int:pk>/v<int:number>.pdf",
        views.PortalPlanPdfView.as_view(),
        name="portal_plan_pdf",
    ),
    path("portal/bescheid/<int:pk>/", views.PortalDecisionView.as_view(), name="portal_decision"),
    path(
        "portal/bescheid/<int:pk>/bescheid.pdf",
        views.PortalDecisionPdfView.as_view(),
        name="portal_decision_pdf",
    ),
    path(
        "portal/bestaetigung/<int:pk>/",
        views.PortalConfirmationView.as_view(),
        name="portal_confirmation",
    ),
    path(
        "portal/bestaetigung/<int:pk>/bestaetigung.pdf",
        views.PortalConfirmationPdfView.as_view(),
        name="portal_confirmation_pdf",
    ),
]
