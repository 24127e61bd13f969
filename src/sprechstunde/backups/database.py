"""The database part of a backup: one consistent snapshot, per engine (ADR 0083).

PostgreSQL: a REPEATABLE READ, READ ONLY transaction exports its snapshot, `pg_dump` (custom
format) dumps exactly that snapshot (`--snapshot`), and the same transaction reads which blobs
and master keys the data needs, which migrations are applied and the audit chain's head, so
the dump and those facts agree. SQLite: the online backup API copies the whole file in one
step (a reader's lock, the app keeps running), and the facts are read from the copy.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connections, transaction

from sprechstunde.audit.models import AuditEntry
from sprechstunde.documents.models import Document, DocumentPreview
from sprechstunde.subject_access.models import DataExport

from .errors import BackupError

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
DUMP_FILES = {POSTGRESQL: "database.pgdump", SQLITE: "database.sqlite3"}


@dataclass
class Snapshot:
    """What one database snapshot holds besides its rows: the engine, the file written, the
    blobs its rows name, the master key ids that wrap their data keys, applied migrations."""

    engine: str
    file_name: str
    referenced_blobs: set[str] = field(default_factory=set)
    key_ids: set[str] = field(default_factory=set)
    migrations: list[tuple[str, str]] = field(default_factory=list)
    audit_head: str = ""


def engine_of(using: str) -> str:
    vendor = connections[using].vendor
    if vendor == "postgresql":
        return POSTGRESQL
    if vendor == "sqlite":
        return SQLITE
    raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.")


def _columns(model: Any, *names: str) -> tuple[str, list[str]]:
    meta = model._meta
    return meta.db_table, [meta.get_field(name).column for name in names]


def _rows(cursor: Any, model: Any, *names: str) -> Iterator[tuple[Any, ...]]:
    table, columns = _columns(model, *names)
    # Table and column names come from the models' metadata, never from input.
    cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")  # noqa: S608
    while batch := cursor.fetchmany(2000):
        yield from batch


def _incoming_names(value: Any) -> Iterable[str]:
    entries = json.loads(value) if isinstance(value, str | bytes) else value
    return [str(entry.get("name", "")) for entry in entries or [] if isinstance(entry, dict)]


def _read_snapshot_facts(cursor: Any, snapshot: Snapshot) -> None:
    """Blob names, key ids, migrations and the audit head, through a DB-API cursor."""
    names: set[str] = set()
    for original, pdf, incoming, key_id in _rows(
        cursor, Document, "original_storage_name", "pdf_storage_name", "incoming", "key_id"
    ):
        names.update((original, pdf, *_incoming_names(incoming)))
        snapshot.key_ids.add(key_id)
    for (name,) in _rows(cursor, DocumentPreview, "storage_name"):
        names.add(name)
    for name, key_id in _rows(cursor, DataExport, "storage_name", "key_id"):
        names.add(name)
        snapshot.key_ids.add(key_id)
    snapshot.referenced_blobs = {name for name in names if name}
    snapshot.key_ids.discard("")
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
    snapshot.migrations = [(str(app), str(name)) for app, name in cursor.fetchall()]
    table, (sequence, entry_hash) = _columns(AuditEntry, "sequence", "entry_hash")
    cursor.execute(
        f"SELECT {sequence}, {entry_hash} FROM {table} ORDER BY {sequence} DESC LIMIT 1"  # noqa: S608
    )
    head = cursor.fetchone()
    snapshot.audit_head = f"{head[0]}:{head[1]}" if head else ""


def _pg_arguments(settings_dict: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore, the password only in their environment."""
    args = []
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", str(settings_dict["USER"])]
    env = {**os.environ}
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return args, env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found. Install the PostgreSQL client of the server's major "
            "version (Debian: postgresql-client)."
        )
    return path


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(  # noqa: S603 - fixed tools, arguments from settings
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip() or result.stdout.strip()}")


def database_dump(*, directory: Path, using: str = "default") -> Snapshot:
    """Write the database into `directory` (one consistent snapshot) and describe it."""
    engine = engine_of(using)
    snapshot = Snapshot(engine=engine, file_name=DUMP_FILES[engine])
    target = directory / snapshot.file_name
    connection = connections[using]
    if engine == POSTGRESQL:
        pg_dump = _pg_tool("pg_dump")
        args, env = _pg_arguments(connection.settings_dict)
        with transaction.atomic(using=using), connection.cursor() as cursor:
            # The first statement of the transaction: the snapshot is taken by the next one.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot_id,) = cursor.fetchone()
            # pg_dump must start while this transaction is open; it holds the snapshot.
            _run(
                [pg_dump, *args, "--format=custom", "--no-owner", "--no-privileges",
                 f"--snapshot={snapshot_id}", f"--file={target}",
                 "--dbname", str(connection.settings_dict["NAME"])],
                env,
                "pg_dump",
            )  # fmt: skip
            _read_snapshot_facts(cursor, snapshot)
        return snapshot
    connection.ensure_connection()
    source = connection.connection
    with closing(sqlite3.connect(target)) as copy:
        source.backup(copy)  # all pages in one step: a consistent copy
        # A self-contained file: no WAL beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        with closing(copy.cursor()) as cursor:
            _read_snapshot_facts(cursor, snapshot)
    return snapshot


def database_is_empty(*, using: str = "default") -> bool:
    """True when the database has no tables at all (a freshly created one)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        return not connection.introspection.table_names(cursor)


def _pg_clear(using: str) -> None:
    """Drop every table, sequence and view of the public schema (restore --force)."""
    with connections[using].cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE")
        cursor.execute("CREATE SCHEMA public")


def database_restore(*, path: Path, engine: str, using: str = "default", force: bool) -> None:
    """Load a dump made by `database_dump` into the configured database. Refuses a database
    that has tables, unless `force` (then everything in it is replaced)."""
    target_engine = engine_of(using)
    if engine != target_engine:
        raise BackupError(
            f"The backup holds a {engine} database, but this instance is configured for "
            f"{target_engine}. Restore into the same kind of database."
        )
    if not database_is_empty(using=using):
        if not force:
            raise BackupError(
                "The target database is not empty. Restore into a new, empty database, or "
                "pass --force to replace everything in it."
            )
        if engine == POSTGRESQL:
            _pg_clear(using)
    connection = connections[using]
    if engine == POSTGRESQL:
        pg_restore = _pg_tool("pg_restore")
        args, env = _pg_arguments(connection.settings_dict)
        connection.close()
        _run(
            [pg_restore, *args, "--no-owner", "--no-privileges", "--exit-on-error",
             "--single-transaction", "--dbname", str(connection.settings_dict["NAME"]),
             str(path)],
            env,
            "pg_restore",
        )  # fmt: skip
        return
    connection.ensure_connection()
    with closing(sqlite3.connect(path)) as source:
        # Replaces the target's pages as a whole (also with --force).
        source.backup(connection.connection)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
    connection.close()
