from django.conf import settings
from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("gesundheit/", views.health, name="health"),
    path("gesundheit/lebt/", views.liveness, name="liveness"),
    path("gesundheit/bereit/", views.readiness, name="readiness"),
    # Prometheus' usual path; only for METRICS_ALLOWED_IPS (404 for everyone else).
    path("metrics", views.metrics, name="metrics"),
    path("sms/status/", views.SmsStatusView.as_view(), name="sms_status"),
]
if settings.DEV_OUTBOX_ENABLED:
    # Development only (DEBUG): the outbox shows every mail, login codes included, to staff.
    urlpatterns += [
        path("postausgang/", views.OutboxListView.as_view(), name="outbox"),
        path("postausgang/<int:pk>/", views.OutboxDetailView.as_view(), name="outbox_detail"),
        path(
            "postausgang/<int:pk>/anhang/<int:attachment_pk>/",
            views.OutboxAttachmentView.as_view(),
            name="outbox_attachment",
        ),
    ]
