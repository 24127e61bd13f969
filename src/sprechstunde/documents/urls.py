from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    # The client portal: own documents and the upload page (?request=<id> answers a request)
    path("portal/", views.PortalDocumentsView.as_view(), name="portal"),
    path("portal/hochladen/", views.PortalUploadView.as_view(), name="upload"),
    # Staff: upload for one client
    path(
        "klient/<int:client_pk>/hochladen/",
        views.StaffUploadView.as_view(),
        name="staff_upload",
    ),
    # Resumable uploads (JSON, used by upload.js)
    path("uploads/", views.UploadSessionCreateView.as_view(), name="upload_session_create"),
    path(
        "uploads/<str:session_id>/",
        views.UploadSessionView.as_view(),
        name="upload_session",
    ),
    # One document: page, page images, downloads, deletion
    path("<int:pk>/", views.DocumentDetailView.as_view(), name="detail"),
    path("<int:pk>/seite/<int:page>/", views.DocumentPreviewView.as_view(), name="preview"),
    path("<int:pk>/pdf/", views.DocumentDownloadView.as_view(), name="download"),
    # Staff: the evidence copy (the file as received): a warning page, the file by POST only
    path(
        "<int:pk>/original/",
        views.DocumentEvidenceCopyView.as_view(),
        name="download_original",
    ),
    path("<int:pk>/loeschen/", views.DocumentDeleteView.as_view(), name="delete"),
    # Staff: one client's documents and requests; the export; the caseload's overdue requests
    path(
        "klient/<int:client_pk>/",
        views.ClientDocumentsView.as_view(),
        name="client_documents",
    ),
    path(
        "klient/<int:client_pk>/export/",
        views.ClientExportView.as_view(),
        name="client_export",
    ),
    path("<int:pk>/e-akte/", views.EfileMarkView.as_view(), name="efile_mark"),
    path(
        "anforderungen/<int:pk>/zurueckziehen/",
        views.DocumentRequestCancelView.as_view(),
        name="request_cancel",
    ),
    path(
        "anforderungen/ueberfaellig/",
        views.OverdueRequestsView.as_view(),
        name="requests_overdue",
    ),
    # The client portal: the open requests
    path(
        "portal/anforderungen/",
        views.PortalRequestsView.as_view(),
        name="portal_requests",
    ),
]
