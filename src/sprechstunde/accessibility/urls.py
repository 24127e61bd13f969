from django.urls import path

from . import views

app_name = "accessibility"

urlpatterns = [
    path("", views.StatementView.as_view(), name="statement"),
    path("rueckmeldungen/", views.FeedbackListView.as_view(), name="feedback_list"),
]
