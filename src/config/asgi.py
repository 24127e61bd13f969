"""ASGI entry point: HTTP through Django, websockets through Channels.

Websockets are counted for /metrics and get a request id for their log lines, then pass the
origin check (same hosts as ALLOWED_HOSTS) and get the session's user
from the cookie; each app's consumer then checks access itself.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from sprechstunde.core.websocket_observation import WebsocketObservation  # noqa: E402
from sprechstunde.messaging.routing import websocket_urlpatterns as messaging_websockets  # noqa: E402
from sprechstunde.video_calls.routing import websocket_urlpatterns as video_websockets  # noqa: E402

websocket_urlpatterns = [*messaging_websockets, *video_websockets]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Outermost: every socket counted and logging under its request id (ADR 0081).
        "websocket": WebsocketObservation(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
