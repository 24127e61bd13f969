from django.urls import path

from . import views

app_name = "signatures"

urlpatterns = [
    # Signed-in staff and clients: check any signed PDF
    path("pruefen/", views.SignatureCheckView.as_view(), name="check"),
    # Public, no login: "is this document really from us?"
    path("echtheit/", views.PublicSealCheckView.as_view(), name="public_check"),
]
