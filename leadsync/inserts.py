"""Plain INSERTs of new model instances without the ORM's per-statement compiling: the
booking path's writes (a booking, its history row, its email, its deliveries).

Django compiles every `Model.save()` / `bulk_create()` afresh: ~0.6 ms of CPU per row on
the bench machine, for a statement PostgreSQL runs in ~0.1 ms. A booking writes four such
rows, which was close to half of the CPU of an API booking. Here the statement's text is
built once per model and row count; each row then costs only its fields' own
`pre_save()` / `get_db_prep_save()` (the same conversions the ORM applies: defaults,
auto_now_add, JSON, aware datetimes), and the same pre_save/post_save signals are sent
for a single instance as `save()` sends.

Only for what it can do exactly as the ORM does: a PostgreSQL connection, a model without
parents, db_default or generated fields, values without expressions. Anything else goes
through `save(force_insert=True)` / `bulk_create()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache
from typing import TypeVar

from django.db import connections, models, router
from django.db.models import signals

M = TypeVar("M", bound=models.Model)


@cache
def _plan(model: type[models.Model]) -> tuple[list, object] | None:
    """(the fields written, in order; the auto primary key or None), or None when the
    model needs the ORM's insert (parents, db_default, generated fields)."""
    meta = model._meta
    if meta.parents or meta.proxy:
        return None
    fields = list(meta.local_concrete_fields)
    if any(getattr(f, "generated", False) or f.has_db_default() for f in fields):
        return None
    auto = meta.auto_field
    return [f for f in fields if f is not auto], auto


@lru_cache(maxsize=256)
def _sql(model: type[models.Model], rows: int) -> str:
    """The statement for `rows` rows of `model` (`_fast` sends only PostgreSQL here)."""
    meta = model._meta
    fields, auto = _plan(model)
    columns = ", ".join(_quote(f.column) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returning = f" RETURNING {_quote(auto.column)}" if auto is not None else ""
    values = ", ".join([one] * rows)
    # Identifiers from the model's meta, quoted; every value is a parameter.
    table = _quote(meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES {values}{returning}"  # noqa: S608


def _quote(name: str) -> str:
    """An identifier quoted as Django's PostgreSQL backend quotes it."""
    return name if name.startswith('"') and name.endswith('"') else f'"{name}"'


def _fast(model: type[models.Model], objs: Sequence[models.Model], using: str) -> bool:
    plan = _plan(model)
    if plan is None or connections[using].vendor != "postgresql":
        return False
    _, auto = plan
    return auto is None or all(getattr(obj, auto.attname) is None for obj in objs)


def _has_expression(obj: models.Model, fields: list) -> bool:
    return any(hasattr(getattr(obj, f.attname), "resolve_expression") for f in fields)


def _values(objs: Sequence[models.Model], fields: list, connection, operation: str) -> list | None:
    params = []
    for obj in objs:
        # As save() / bulk_create(): refuse an unsaved related object (its id would be
        # lost), take the id of one saved since it was assigned.
        obj._prepare_related_fields_for_save(operation_name=operation)
        for field in fields:
            value = field.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                return None  # an expression: the ORM's compiler handles those
            params.append(field.get_db_prep_save(value, connection=connection))
    return params


def insert(obj: M) -> M:
    """Save `obj` (new, primary key unset when automatic) with one INSERT, as
    `obj.save(force_insert=True)` would: same values, same signals. Returns `obj`."""
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    plan = _plan(model)
    if not _fast(model, [obj], using) or _has_expression(obj, plan[0]):
        obj.save(force_insert=True, using=using)
        return obj
    # As save(): pre_save first (a receiver may still change the instance), then values.
    signals.pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    params = _values([obj], plan[0], connection, "save")
    if params is None:
        raise TypeError(f"a pre_save receiver gave {model.__name__} an expression to save")
    _execute(model, [obj], params, connection)
    obj._state.adding, obj._state.db = False, using
    signals.post_save.send(
        sender=model, instance=obj, created=True, update_fields=None, raw=False, using=using
    )
    return obj


def insert_many(objs: Sequence[M]) -> list[M]:
    """Save new `objs` of one model with one INSERT, as `bulk_create(objs)` would on
    PostgreSQL (primary keys set, no signals). Returns `objs` as a list."""
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    using = router.db_for_write(model, instance=objs[0])
    connection = connections[using]
    params = (
        _values(objs, _plan(model)[0], connection, "bulk_create")
        if _fast(model, objs, using)
        else None
    )
    if params is None:
        return model._default_manager.db_manager(using).bulk_create(objs)
    _execute(model, objs, params, connection)
    for obj in objs:
        obj._state.adding, obj._state.db = False, using
    return objs


def insert_select(
    template: models.Model, *, select: dict[str, str], source: str, returning: str
) -> tuple[str, list] | None:
    """`INSERT INTO <template's table> (...) SELECT ... FROM <source> RETURNING
    <returning>` and its parameters: per row of `source` (SQL after FROM; its own %s
    parameters follow the ones returned here), a copy of `template`, a new instance whose
    values are those insert() would write (pre_save run on it once), except the fields
    named (by attname) in `select`, which take the SQL expressions given there. Each
    value is cast to its column's type, as a VALUES row's would be.

    So a row that depends on what a query finds is written in the query's own statement.
    None where insert() would use the ORM (the module docstring): the caller then reads
    and inserts as two statements."""
    model = type(template)
    using = router.db_for_write(model, instance=template)
    connection = connections[using]
    plan = _plan(model)
    if not _fast(model, [template], using) or _has_expression(template, plan[0]):
        return None
    fields, _ = plan
    values = _values([template], fields, connection, "bulk_create")
    if values is None:
        return None
    expressions, params = [], []
    for field, value in zip(fields, values, strict=True):
        if field.attname in select:
            expressions.append(select[field.attname])
        else:
            expressions.append(f"CAST(%s AS {field.cast_db_type(connection)})")
            params.append(value)
    columns = ", ".join(_quote(f.column) for f in fields)
    sql = (
        f"INSERT INTO {_quote(model._meta.db_table)} ({columns})"  # noqa: S608 - identifiers
        f" SELECT {', '.join(expressions)} FROM {source} RETURNING {returning}"
    )
    return sql, params


def _execute(model, objs, params, connection) -> None:
    _, auto = _plan(model)
    with connection.cursor() as cursor:
        cursor.execute(_sql(model, len(objs)), params)
        if auto is not None:
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                setattr(obj, auto.attname, pk)
