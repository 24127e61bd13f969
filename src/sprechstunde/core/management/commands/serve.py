"""Serve the ASGI app with uvicorn; in embedded mode also run the task worker in-process."""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from sprechstunde.core.task_worker import start_embedded_worker

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Serve Sprechstunde over ASGI (uvicorn), with the embedded task worker if enabled."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.EMBEDDED_TASK_WORKER:
            start_embedded_worker()
            self.stdout.write("Task worker runs in this process.")
        if options["workers"] > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Each worker process counts for itself; /metrics must add them all up (ADR 0081).
            folder = tempfile.mkdtemp(prefix="sprechstunde-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
            logger.info("Metrics of the %s workers are shared in %s", options["workers"], folder)
        url = f"http://{options['host']}:{options['port']}"
        self.stdout.write(self.style.SUCCESS(f"Sprechstunde is served at {url}"))
        uvicorn.run(
            "config.asgi:application",
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            lifespan="off",
            log_level="info",
            # uvicorn's lines go through Django's logging (JSON, ADR 0081); its access line
            # names the path, ours (sprechstunde.access) the route and the request id.
            log_config=None,
            access_log=False,
            proxy_headers=True,
        )
