"""PostgreSQL backend for the test settings only: empties tables faster between tests.

Django empties the database after every transactional test (browser tests, websocket tests)
with one TRUNCATE of every table. On PostgreSQL a TRUNCATE costs a fixed amount per table
(new files for each table and index): about 0.6 s for our tables, on nearly empty tables, for
each such test. DELETE FROM on those few rows takes a few milliseconds. The flush runs in one
transaction and Django creates every foreign key DEFERRABLE INITIALLY DEFERRED, so the order
of the DELETEs does not matter.

The audit tables keep their TRUNCATE: their append-only trigger refuses DELETE, on purpose.
Sequences are reset the normal way when a test asks for it (reset_sequences=True).

At the end of a run the test database is dropped WITH (FORCE): a connection a server or
consumer thread still holds would otherwise leave one test_sprechstunde_<pid> database behind
per run. Production uses Django's own backend; nothing else differs.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, creation, operations

# Tables whose rows a trigger refuses to DELETE (audit/migrations/0003_append_only_triggers.py).
TRUNCATE_ONLY = ("audit_auditentry", "audit_auditanchor")


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(
        self,
        style: Any,
        tables: Any,
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if reset_sequences or allow_cascade or not tables:
            return super().sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        truncated = [table for table in tables if table in TRUNCATE_ONLY]
        statements = [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
            for table in tables
            if table not in TRUNCATE_ONLY
        ]
        if truncated:
            statements += super().sql_flush(style, truncated)
        return statements


class DatabaseCreation(creation.DatabaseCreation):
    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        wrapper: Any = self.connection  # (the type stubs lack close_pool and _nodb_cursor)
        wrapper.close_pool()
        with wrapper._nodb_cursor() as cursor:
            name = wrapper.ops.quote_name(test_database_name)
            cursor.execute(f"DROP DATABASE {name} WITH (FORCE)")


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    creation_class = DatabaseCreation
