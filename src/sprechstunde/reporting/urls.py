from django.urls import path

from . import views

app_name = "reporting"

urlpatterns = [
    path("", views.FiguresView.as_view(), name="figures"),
    path("export.csv", views.FiguresExportView.as_view(), name="export"),
]
