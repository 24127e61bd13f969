"""A local SMS gateway for tests: speaks the protocol of `core.sms_gateway` and can fail.

Started by the tests on a free port on 127.0.0.1. It records every request, answers with an
id per message, can answer with an error status (all requests, or the next `fail_next`), and
can send the delivery report for a message to the app (`report`).
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalSmsGateway:
    """`with LocalSmsGateway() as gateway: settings.SMS_GATEWAY_URL = gateway.url`."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = status
        self.fail_next = 0
        ids = itertools.count(1)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                failing = gateway.fail_next > 0
                if failing:
                    gateway.fail_next -= 1
                status = 503 if failing else gateway.status
                message_id = f"gw-{next(ids)}"
                gateway.requests.append(
                    {
                        "auth": self.headers.get("Authorization"),
                        "body": body,
                        "status": status,
                        "id": message_id if status < 300 else "",
                    }
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                answer = {"id": message_id} if status < 300 else {"error": "unavailable"}
                self.wfile.write(json.dumps(answer).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def accepted(self) -> list[dict[str, Any]]:
        """The messages the gateway took (2xx), oldest first."""
        return [request for request in self.requests if request["status"] < 300]

    def __enter__(self) -> LocalSmsGateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
