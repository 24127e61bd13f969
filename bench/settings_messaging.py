"""Settings for bench/messaging_fanout.py: the bench settings with the chat websocket's
per-connection rate limits lifted.

The limits (20 messages and 60 frames per 10 s per connection) protect the server from one
misbehaving phone; the bench drives each socket as fast as the server answers, to find what
one process can carry. The limiter itself still runs on every frame.
"""

from bench.settings_bench import *  # noqa: F403

MESSAGE_WS_SEND_RATE = (1_000_000, 1.0)
MESSAGE_WS_FRAME_RATE = (1_000_000, 1.0)
