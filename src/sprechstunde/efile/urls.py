from django.urls import path

from . import views

app_name = "efile"

urlpatterns = [
    path("klient/<int:client_pk>/", views.ClientEfileView.as_view(), name="client"),
    path("klient/<int:client_pk>/xdomea/", views.HandoverExportView.as_view(), name="handover"),
    path(
        "klient/<int:client_pk>/uebergabe/<int:pk>/zuruecknehmen/",
        views.HandoverWithdrawView.as_view(),
        name="withdraw",
    ),
]
