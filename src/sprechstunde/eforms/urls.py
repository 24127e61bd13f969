from django.urls import path

from .views import portal, staff

app_name = "eforms"

urlpatterns = [
    # The client's forms (portal)
    path("portal/", portal.PortalListView.as_view(), name="portal_list"),
    path("portal/<slug:slug>/starten/", portal.PortalStartView.as_view(), name="portal_start"),
    path("portal/<int:pk>/", portal.PortalDetailView.as_view(), name="portal_detail"),
    path(
        "portal/<int:pk>/abschnitt/<slug:section>/",
        portal.PortalSectionView.as_view(),
        name="portal_section",
    ),
    path(
        "portal/<int:pk>/anhang/<slug:field>/",
        portal.PortalAttachView.as_view(),
        name="portal_attach",
    ),
    path(
        "portal/<int:pk>/anhang/<int:attachment_pk>/entfernen/",
        portal.PortalDetachView.as_view(),
        name="portal_detach",
    ),
    path("portal/<int:pk>/pruefen/", portal.PortalReviewView.as_view(), name="portal_review"),
    path("portal/<int:pk>/bestaetigen/", portal.PortalConfirmView.as_view(), name="portal_confirm"),
    path("portal/<int:pk>/gesendet/", portal.PortalDoneView.as_view(), name="portal_done"),
    # Staff: the inbox of the caseload's submitted forms, and one submission with its steps
    path("eingang/", staff.InboxView.as_view(), name="staff_inbox"),
    path("<int:pk>/", staff.SubmissionDetailView.as_view(), name="staff_submission"),
]
