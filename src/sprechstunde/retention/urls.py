from django.urls import path

from . import views

app_name = "retention"

urlpatterns = [
    path("", views.RetentionOverviewView.as_view(), name="overview"),
    path("klient/<int:pk>/", views.ClientRetentionView.as_view(), name="client"),
    path("klient/<int:pk>/antrag/", views.RequestRecordView.as_view(), name="request_record"),
    path(
        "klient/<int:pk>/antrag/<int:request_pk>/",
        views.RequestDecideView.as_view(),
        name="request_decide",
    ),
    path("klient/<int:pk>/sperre/", views.HoldSetView.as_view(), name="hold_set"),
    path(
        "klient/<int:pk>/sperre/<int:hold_pk>/aufheben/",
        views.HoldLiftView.as_view(),
        name="hold_lift",
    ),
    path("klient/<int:pk>/fall/", views.CaseCloseView.as_view(), name="case_close"),
]
