"""Hot-path queries built with the ORM once per process and database, then run as SQL.

Building a queryset (filters, subqueries, compiling to SQL) costs far more than running a
small query: about a millisecond each on the portal home, which runs several on every
request. A `CompiledQuery` builds its queryset once, with stand-in integers for its
arguments, remembers the SQL and where the stand-ins landed among the parameters, and on
each call swaps in the real integers. The queryset still comes from the access-checked
selectors, so the rules stay in one place (ADR 0092).

The builder must be a pure function of its integer arguments: whatever else it reads (the
time, settings, a role) would be frozen into the SQL at first use. Rows come back as the
database driver gives them (no model field conversion): use it for counts, keys and text.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

# Stand-ins no real primary key or time ever takes (keys are positive; 1901 is long gone).
_STAND_IN_BASE = -7_319_000_001
_STAND_IN_TIME = datetime.datetime(1901, 2, 3, 4, 5, 6, 7_000, tzinfo=datetime.UTC)


class CompiledQuery:
    """One query shape with named arguments, compiled once per database alias.

    `arguments` are integers (keys); `times` are aware datetimes, passed to the builder and
    into the SQL the way the database backend adapts them. `build(**arguments)` returns the
    queryset; `count=True` counts its rows, else `rows()` returns the rows of the queryset
    (use `values_list` in the builder).
    """

    def __init__(
        self,
        build: Callable[..., QuerySet[Any]],
        *,
        arguments: tuple[str, ...],
        count: bool,
        times: tuple[str, ...] = (),
    ) -> None:
        self._build = build
        self._arguments = arguments
        self._times = times
        self._count = count
        # Per alias: the SQL, its parameters, and (position, argument, adapt as a time).
        self._compiled: dict[str, tuple[str, list[Any], list[tuple[int, str, bool]]]] = {}
        self._lock = threading.Lock()

    def _compile(self, using: str) -> tuple[str, list[Any], list[tuple[int, str, bool]]]:
        stand_ins: dict[str, Any] = {
            name: _STAND_IN_BASE - i for i, name in enumerate(self._arguments)
        }
        stand_ins.update(
            {
                name: _STAND_IN_TIME + datetime.timedelta(microseconds=i)
                for i, name in enumerate(self._times)
            }
        )
        queryset = self._build(**stand_ins)
        if self._count:
            queryset = queryset.order_by().values("pk")
        sql, params = queryset.query.get_compiler(using=using).as_sql()
        if self._count:
            # The SQL is Django's own compilation; values stay parameters.
            sql = f"SELECT COUNT(*) FROM ({sql}) counted"  # noqa: S608
        adapt = connections[using].ops.adapt_datetimefield_value
        wanted: dict[Any, tuple[str, bool]] = {}
        for name, value in stand_ins.items():
            if name in self._times:
                wanted[adapt(value)] = (name, True)
            else:
                wanted[value] = (name, False)
        slots = [
            (index, *wanted[value])
            for index, value in enumerate(params)
            if type(value) in (int, str, datetime.datetime) and value in wanted
        ]
        missing = {*self._arguments, *self._times} - {name for _, name, _ in slots}
        if missing:
            raise ImproperlyConfigured(
                f"compiled query: argument(s) {sorted(missing)} do not reach the SQL"
            )
        return sql, list(params), slots

    def _sql(self, using: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
        compiled = self._compiled.get(using)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(using) or self._compile(using)
                self._compiled[using] = compiled
        sql, params, slots = compiled
        params = params.copy()
        adapt = connections[using].ops.adapt_datetimefield_value
        for index, name, is_time in slots:
            params[index] = adapt(values[name]) if is_time else int(values[name])
        return sql, params

    def _execute(self, values: dict[str, Any], using: str) -> list[tuple[Any, ...]]:
        expected = {*self._arguments, *self._times}
        if set(values) != expected:
            raise TypeError(f"expected the arguments {sorted(expected)}, got {sorted(values)}")
        for name in self._times:
            if not isinstance(values[name], datetime.datetime) or values[name].tzinfo is None:
                raise TypeError(f"{name} must be an aware datetime")
        sql, params = self._sql(using, values)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def count(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> int:
        """How many rows the queryset has for these arguments."""
        if not self._count:
            raise TypeError("this compiled query returns rows, not a count")
        return int(self._execute(values, using)[0][0])

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple[Any, ...]]:
        """The queryset's rows (as `values_list` tuples) for these arguments."""
        if self._count:
            raise TypeError("this compiled query returns a count, not rows")
        return self._execute(values, using)
