"""Websocket routes of video calls (mounted in config/asgi.py)."""

from django.urls import path

from .consumers import CallConsumer

websocket_urlpatterns = [
    path("ws/video/<int:call_id>/", CallConsumer.as_asgi()),
]
