from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("postausgang/", views.OutboxListView.as_view(), name="outbox"),
    path("postausgang/<int:pk>/", views.OutboxDetailView.as_view(), name="outbox_detail"),
    path("gesundheit/", views.health, name="health"),
]
