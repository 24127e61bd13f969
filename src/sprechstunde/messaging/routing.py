"""Websocket routes of the messaging app (mounted in config/asgi.py)."""

from django.urls import path

from .consumers import ConversationConsumer

websocket_urlpatterns = [
    path("ws/nachrichten/<int:conversation_id>/", ConversationConsumer.as_asgi()),
]
