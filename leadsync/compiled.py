"""Querysets compiled once per process and run with new values: for the few reads a
push makes every round (is work due, do other orgs wait, how many pushes run).

Django builds and compiles a queryset's SQL on every evaluation; for a filter with a
subquery that is ~1-2 ms of CPU on the bench machine, several times the query's own cost,
and a push asks a handful of them whatever its size (README "Benchmarks", tenants). Here
the queryset is still written once, with the ORM, by a `build` function; it is compiled
the first time with stand-in values for its parameters, the positions of those stand-ins
among the SQL's parameters are noted, and later calls run the same SQL text with the real
values in those positions. The logic stays in one place (the queryset), only its
compiling is saved.

The stand-ins are values no real call passes (a negative id, a date in 1901). The query
is compiled with a second set of them too, and the compiled form is used only when the
text is the same and exactly the stand-ins' positions change, each holding its stand-in
as passed (PostgreSQL, whose driver takes ints and aware datetimes as they are), and for
values of the stand-ins' own types. Otherwise (SQLite turns datetimes into text, a lookup
that wraps its value) each call simply evaluates the queryset.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet

#: Stand-ins no real call passes: an id and a moment.
STAND_IN_ID = -7_300_001
STAND_IN_TIME = dt.datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=dt.UTC)


class CompiledQuery:
    """`build(**values) -> QuerySet`, run as `.exists(**values)` or `.rows(**values)`
    (the queryset's rows as tuples: build a `values_list` queryset for those).

    `shape`: what changes the SQL's text rather than its parameters (a LIMIT, say); passed
    on to `build` as `shape=` when given, and compiled once per value."""

    def __init__(self, build: Callable[..., QuerySet], **stand_ins: Any) -> None:
        self.build, self.stand_ins = build, stand_ins
        self._compiled: dict[tuple, tuple[str, list, dict[int, str]] | None] = {}
        self._lock = threading.Lock()
        self._model: type[Model] | None = None

    def exists(self, *, shape: Hashable = None, **values: Any) -> bool:
        return bool(self._run("exists", shape, values))

    def rows(self, *, shape: Hashable = None, **values: Any) -> list[tuple]:
        return self._run("rows", shape, values)

    def _built(self, shape: Hashable, values: dict[str, Any]) -> QuerySet:
        return self.build(**values) if shape is None else self.build(shape=shape, **values)

    def _run(self, kind: str, shape: Hashable, values: dict[str, Any]) -> Any:
        if values.keys() != self.stand_ins.keys():
            raise TypeError(f"pass exactly {sorted(self.stand_ins)}")
        if self._model is None:
            # (before the first compile: it needs the model's database)
            self._model = self._built(shape, self.stand_ins).model
        alias = router.db_for_read(self._model)
        compiled = self._compiled_for(kind, alias, shape)
        if compiled is None or not all(
            type(values[name]) is type(stand_in) for name, stand_in in self.stand_ins.items()
        ):  # evaluated as usual (a value of another type: the ORM converts it)
            queryset = self._built(shape, values).using(alias)
            return queryset.exists() if kind == "exists" else list(queryset)
        sql, params, slots = compiled
        params = list(params)
        for index, name in slots.items():
            params[index] = values[name]
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() is not None if kind == "exists" else cursor.fetchall()

    def _compiled_for(
        self, kind: str, alias: str, shape: Hashable
    ) -> tuple[str, list, dict[int, str]] | None:
        key = (kind, alias, shape)
        if key not in self._compiled:
            with self._lock:
                if key not in self._compiled:
                    self._compiled[key] = self._compile(kind, alias, shape)
        return self._compiled[key]

    def _compile(
        self, kind: str, alias: str, shape: Hashable
    ) -> tuple[str, list, dict[int, str]] | None:
        if connections[alias].vendor != "postgresql":
            return None
        sql, params = self._sql(kind, alias, shape, self.stand_ins)
        others = {name: _other(value) for name, value in self.stand_ins.items()}
        other_sql, other_params = self._sql(kind, alias, shape, others)
        if other_sql != sql or len(other_params) != len(params):
            return None  # a value changes the text itself: not a parameter
        # The positions the stand-ins fill are those that change with them, each holding
        # its stand-in exactly as passed (not converted on its way in), and nothing else.
        slots: dict[int, str] = {}
        for index, (value, other) in enumerate(zip(params, other_params, strict=True)):
            if _same(value, other):
                continue
            names = [name for name, stand_in in self.stand_ins.items() if _same(value, stand_in)]
            if len(names) != 1 or not _same(other, others[names[0]]):
                return None
            slots[index] = names[0]
        if set(slots.values()) != set(self.stand_ins):
            return None
        return sql, params, slots

    def _sql(self, kind: str, alias: str, shape: Hashable, values: dict) -> tuple[str, list]:
        query = self._built(shape, values).using(alias).query
        if kind == "exists":
            query = query.exists()
        sql, params = query.get_compiler(using=alias).as_sql()
        return sql, list(params)


def _same(value: Any, stand_in: Any) -> bool:
    return type(value) is type(stand_in) and value == stand_in


def _other(value: Any) -> Any:
    """A second stand-in of the same type, to see which parameters follow the first."""
    if isinstance(value, dt.datetime):
        return value + dt.timedelta(seconds=1)
    if isinstance(value, int) and not isinstance(value, bool):
        return value - 1
    if isinstance(value, str):
        return value + "~"
    raise TypeError(f"no second stand-in for {type(value).__name__}")
