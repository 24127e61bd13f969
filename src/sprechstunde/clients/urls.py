from django.urls import path

from . import views

app_name = "clients"

urlpatterns = [
    path("", views.ClientListView.as_view(), name="list"),
    path("portal/", views.ClientListView.as_view(), name="portal_home"),
    path("portal/datenschutz/", views.ClientListView.as_view(), name="privacy"),
]
