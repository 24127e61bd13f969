"""CPU and wall time per chat message in the database thread alone: the session check and
`messaging.services.message_send`, as `ConversationConsumer` runs them in one trip, without
websockets, on a fresh SQLite file (or DATABASE_URL).

Usage:
    .venv/bin/python bench/messaging_store_cpu.py [--messages 300]
Set DATABASE_CONN_MAX_AGE=0 to open and close the connection around every trip, as
`database_sync_to_async` does with that setting. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path[:0] = [str(REPO / "src"), str(REPO)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="sprechstunde-bench-store-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_messaging")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{var_dir}/bench.sqlite3")
    os.environ.update(
        SECRET_KEY="bench-only-" + os.urandom(16).hex(),
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL="http://127.0.0.1",
        SPRECHSTUNDE_VAR_DIR=var_dir,
        USE_TLS="false",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import close_old_connections, connection

    from sprechstunde.accounts.factories import CaseManagerFactory
    from sprechstunde.messaging import services
    from sprechstunde.messaging.factories import portal_client_create

    call_command("migrate", verbosity=0)
    case_manager = CaseManagerFactory()
    client = portal_client_create(
        case_manager=case_manager, email="bench@example.org", first_name="B", last_name="B"
    )
    conversation = services.conversation_get_or_create(client=client)
    session = SessionStore()
    session["bench"] = 1
    session.create()

    def one(n: int) -> None:
        close_old_connections()  # what database_sync_to_async does around a trip
        assert session.exists(session.session_key)
        services.message_send(
            conversation=conversation,
            sender=client.user,
            body=f"Nachricht {n}",
            client_msg_id=uuid.uuid4(),
        )
        close_old_connections()

    for n in range(20):
        one(n)
    cpu, wall = time.thread_time(), time.perf_counter()
    for n in range(args.messages):
        one(n)
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    print(
        f"{connection.vendor}, CONN_MAX_AGE {connection.settings_dict['CONN_MAX_AGE']}: "
        f"{1000 * cpu / args.messages:.2f} ms CPU, {1000 * wall / args.messages:.2f} ms wall "
        f"per message ({args.messages} messages, load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
