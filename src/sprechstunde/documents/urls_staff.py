"""Routes of document requests, the staff documents list, the e-file mark and the export.
`urls.py` includes this list into the "documents" namespace (under /dokumente/)."""

from django.urls import path

from . import views_staff

urlpatterns = [
    # Staff: one client's documents and requests; the export; the caseload's overdue requests
    path(
        "klient/<int:client_pk>/",
        views_staff.ClientDocumentsView.as_view(),
        name="client_documents",
    ),
    path(
        "klient/<int:client_pk>/export/",
        views_staff.ClientExportView.as_view(),
        name="client_export",
    ),
    path("<int:pk>/e-akte/", views_staff.EfileMarkView.as_view(), name="efile_mark"),
    path(
        "anforderungen/<int:pk>/zurueckziehen/",
        views_staff.DocumentRequestCancelView.as_view(),
        name="request_cancel",
    ),
    path(
        "anforderungen/ueberfaellig/",
        views_staff.OverdueRequestsView.as_view(),
        name="requests_overdue",
    ),
    # The client portal: the open requests
    path(
        "portal/anforderungen/",
        views_staff.PortalRequestsView.as_view(),
        name="portal_requests",
    ),
]
