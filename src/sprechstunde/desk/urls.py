from django.urls import path

from . import views

app_name = "desk"

urlpatterns = [
    path("", views.TodayView.as_view(), name="today"),
    # today.js: the sections again, only when something changed (204 otherwise)
    path("aktuell/", views.TodayLiveView.as_view(), name="today_live"),
]
