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

`objects()` gives model instances, as iterating the queryset does: the rows of its
`select_related` attached by Django's own populators from the compiled query's
description of its columns, then its `prefetch_related` lookups done by Django's
`prefetch_related_objects`. Only the building and compiling of the SQL is saved.

The stand-ins are values no real call passes (a negative id, a date in 1901, a zero
UUID). The query
is compiled with a second set of them too, and the compiled form is used only when the
text is the same and exactly the stand-ins' positions change, each holding its stand-in
as passed (PostgreSQL, whose driver takes ints and aware datetimes as they are), and for
values of the stand-ins' own types. Otherwise (SQLite turns datetimes into text, a lookup
that wraps its value) each call simply evaluates the queryset.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Hashable
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet, prefetch_related_objects
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql.compiler import SQLCompiler

#: Stand-ins no real call passes: an id and a moment.
STAND_IN_ID = -7_300_001
STAND_IN_TIME = dt.datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=dt.UTC)
STAND_IN_UUID = uuid.UUID(int=0)


class CompiledQuery:
    """`build(**values) -> QuerySet`, run as `.exists(**values)`, `.rows(**values)` (the
    queryset's rows as tuples: build a `values_list` queryset for those) or
    `.objects(**values)` (its model instances).

    `shape`: what changes the SQL's text rather than its parameters (a LIMIT, say); passed
    on to `build` as `shape=` when given, and compiled once per value."""

    def __init__(self, build: Callable[..., QuerySet], **stand_ins: Any) -> None:
        self.build, self.stand_ins = build, stand_ins
        self._compiled: dict[tuple, _Compiled | None] = {}
        self._lock = threading.Lock()
        self._model: type[Model] | None = None

    def exists(self, *, shape: Hashable = None, **values: Any) -> bool:
        return bool(self._run("exists", shape, values))

    def rows(self, *, shape: Hashable = None, **values: Any) -> list[tuple]:
        return self._run("rows", shape, values)

    def objects(self, *, shape: Hashable = None, **values: Any) -> list[Model]:
        return self._run("objects", shape, values)

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
        sql, params, slots, models = compiled
        params = list(params)
        for index, name in slots.items():
            params[index] = values[name]
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            if kind == "exists":
                return cursor.fetchone() is not None
            rows = cursor.fetchall()
        return rows if models is None else models.instances(rows, alias)

    def _compiled_for(self, kind: str, alias: str, shape: Hashable) -> _Compiled | None:
        key = (kind, alias, shape)
        if key not in self._compiled:
            with self._lock:
                if key not in self._compiled:
                    self._compiled[key] = self._compile(kind, alias, shape)
        return self._compiled[key]

    def _compile(self, kind: str, alias: str, shape: Hashable) -> _Compiled | None:
        if connections[alias].vendor != "postgresql":
            return None
        models = None
        if kind == "objects":
            models = _Models.of(self._built(shape, self.stand_ins).using(alias))
            if models is None:
                return None
            sql, params = models.compiler.as_sql()
            params = list(params)
        else:
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
        return sql, params, slots, models

    def _sql(self, kind: str, alias: str, shape: Hashable, values: dict) -> tuple[str, list]:
        query = self._built(shape, values).using(alias).query
        if kind == "exists":
            query = query.exists()
        sql, params = query.get_compiler(using=alias).as_sql()
        return sql, list(params)


_Compiled = tuple[str, list, dict[int, str], "_Models | None"]


class _Models:
    """How a queryset's rows become its model instances: what Django's ModelIterable reads
    of the compiler once it has compiled the query (the columns and which model each
    belongs to do not depend on the values), and the queryset's prefetch lookups."""

    def __init__(self, compiler: SQLCompiler, prefetch: tuple) -> None:
        self.compiler, self.prefetch = compiler, prefetch

    @classmethod
    def of(cls, queryset: QuerySet) -> _Models | None:
        """None for a queryset whose iteration does more than build its model's instances
        (values(), known related objects of a related manager)."""
        if queryset._iterable_class is not ModelIterable or queryset._known_related_objects:
            return None
        compiler = queryset.query.get_compiler(using=queryset.db)
        return cls(compiler, tuple(queryset._prefetch_related_lookups))

    def instances(self, rows: list[tuple], alias: str) -> list[Model]:
        """As ModelIterable builds them (django/db/models/query.py), from these rows."""
        compiler = self.compiler
        select, klass_info = compiler.select, compiler.klass_info
        model_cls = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, alias)
        annotations = compiler.annotation_col_map or {}
        if compiler.has_extra_select:  # columns only the ORDER BY needs (as execute_sql)
            rows = [row[: compiler.col_count] for row in rows]
        objects = []
        for row in compiler.results_iter([rows]):
            obj = model_cls.from_db(alias, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in annotations.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        if self.prefetch and objects:
            prefetch_related_objects(objects, *self.prefetch)
        return objects


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
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=value.int ^ 1)
    raise TypeError(f"no second stand-in for {type(value).__name__}")
