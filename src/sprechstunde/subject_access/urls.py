from django.urls import path

from . import views

app_name = "subject_access"

urlpatterns = [
    # The client: "Meine Daten"
    path("portal/", views.PortalExportView.as_view(), name="portal"),
    # Staff: a copy for a written request
    path("klient/<int:client_pk>/", views.StaffExportView.as_view(), name="client"),
    # One copy: progress, state for the page's script, download (client or staff)
    path("<uuid:pk>/", views.ExportDetailView.as_view(), name="detail"),
    path("<uuid:pk>/stand/", views.ExportStateView.as_view(), name="state"),
    path("<uuid:pk>/herunterladen/", views.ExportDownloadView.as_view(), name="download"),
]
