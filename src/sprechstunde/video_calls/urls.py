from django.urls import path  # noqa: F401

app_name = "video_calls"

urlpatterns: list = []
