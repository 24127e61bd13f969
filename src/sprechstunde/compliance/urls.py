from django.urls import path

from . import views

app_name = "compliance"

urlpatterns = [
    path("", views.PapersView.as_view(), name="papers"),
    path("download.md", views.PaperDownloadView.as_view(), name="download"),
]
