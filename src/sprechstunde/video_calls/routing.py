"""Websocket routes of video calls."""

websocket_urlpatterns: list = []
