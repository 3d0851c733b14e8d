"""Querysets compiled to SQL once, then run again with new values ("prepared" ORM statements).

Django compiles a queryset to SQL on every evaluation. On the hottest request paths (till
authentication, coupon redemption, the ledger page) that compilation costs more than the query
itself: a coupon with its offer and org joined takes about 2 ms to compile and 0.2 ms to run.

`CompiledQuery(build, name=marker, ...)` calls `build(name=marker, ...)` once per thread and
database alias, compiles the queryset, and remembers where each marker value landed among the SQL
parameters. `fetch(name=value, ...)` runs the same SQL with the caller's values in those places
and turns the rows into model instances, with their `select_related` objects, the way the
queryset itself would. Markers must be values no real call passes (use `marker_int()` /
`marker_str()`), and each must reach the parameters unchanged: plain equality lookups on integer
and text columns. Values are handed to the driver as given.

`insert_parts(instances)` gives the columns, a typed `(%s::type, ...)` row and each instance's
prepared values, for INSERT statements written by hand (several rows or tables in one round
trip). Signals are not sent: use it only for models without save signal receivers or an
overridden `save()`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models
from django.db.models.query import ModelIterable, get_related_populators

ModelT = TypeVar("ModelT", bound=models.Model)

_marker_numbers = itertools.count(1)


def marker_int() -> int:
    """An integer no row id or count takes (negative and large)."""
    return -7_300_000_000_000 - next(_marker_numbers)


def marker_str() -> str:
    return f"\x1f~compiled-marker-{next(_marker_numbers)}~\x1f"


@dataclass
class _Plan:
    sql: str
    params: list[Any]
    positions: dict[str, list[int]]
    converters: dict
    compiler: Any
    # Model rows (None for a values_list query, whose rows are returned as tuples).
    model: type[models.Model] | None = None
    init_list: list[str] = field(default_factory=list)
    model_slice: slice = field(default_factory=lambda: slice(0))
    populators: list[Any] = field(default_factory=list)
    annotations: dict[str, int] = field(default_factory=dict)


class CompiledQuery(Generic[ModelT]):
    """`build(**markers)` (or `build(shape, **markers)` for `fetch(shape=...)`) returns the
    queryset. A shape is any hashable value that changes the SQL itself (a sort order, a page
    size): each shape is compiled once. A values_list queryset gives tuples, not models."""

    def __init__(self, build: Callable[..., models.QuerySet], **markers: int | str) -> None:
        self._build = build
        self._markers = markers
        self._local = threading.local()

    def _plan(self, using: str | None, shape: Hashable) -> tuple[str, _Plan]:
        plans: dict = self._local.__dict__.setdefault("plans", {})
        found = plans.get((using, shape))
        if found is None:
            found = plans[(using, shape)] = self._compile(using, shape)
        return found

    def _compile(self, using: str | None, shape: Hashable) -> tuple[str, _Plan]:
        if shape is None:
            queryset = self._build(**self._markers)
        else:
            queryset = self._build(shape, **self._markers)
        if using is not None:
            queryset = queryset.using(using)
        alias = queryset.db
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        params = list(params)
        positions: dict[str, list[int]] = {}
        for name, marker in self._markers.items():
            places = [
                index
                for index, param in enumerate(params)
                if type(param) is type(marker) and param == marker
            ]
            if not places:
                raise ImproperlyConfigured(
                    f"Compiled query: the value for {name!r} does not reach the SQL parameters "
                    "unchanged; use a plain equality lookup"
                )
            positions[name] = places
        select = compiler.select
        fields = [column[0] for column in select[0 : compiler.col_count]]
        plan = _Plan(
            sql=sql,
            params=params,
            positions=positions,
            converters=compiler.get_converters(fields),
            compiler=compiler,
        )
        klass_info = compiler.klass_info
        if klass_info is not None and issubclass(queryset._iterable_class, ModelIterable):
            select_fields = klass_info["select_fields"]
            start, end = select_fields[0], select_fields[-1] + 1
            plan.model = klass_info["model"]
            plan.init_list = [column[0].target.attname for column in select[start:end]]
            plan.model_slice = slice(start, end)
            plan.populators = get_related_populators(klass_info, select, alias)
            plan.annotations = dict(compiler.annotation_col_map or {})
        return alias, plan

    def fetch(
        self, *, shape: Hashable = None, using: str | None = None, **values: Any
    ) -> list[ModelT]:
        alias, plan = self._plan(using, shape)
        params = list(plan.params)
        for name, value in values.items():
            for index in plan.positions[name]:
                params[index] = value
        with connections[alias].cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if not rows:
            return []
        if plan.converters:
            rows = list(plan.compiler.apply_converters(rows, plan.converters))
        if plan.model is None:
            return [tuple(row) for row in rows]
        objects = []
        for row in rows:
            obj = plan.model.from_db(alias, plan.init_list, row[plan.model_slice])
            for populator in plan.populators:
                populator.populate(row, obj)
            for name, position in plan.annotations.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects

    def first(
        self, *, shape: Hashable = None, using: str | None = None, **values: Any
    ) -> ModelT | None:
        rows = self.fetch(shape=shape, using=using, **values)
        return rows[0] if rows else None


_INSERT_TEMPLATES: dict[tuple, tuple[list, list[str], str]] = {}


def insert_parts(
    instances: Sequence[models.Model], *, leave_out: str = "", using: str = "default"
) -> tuple[list[str], str, list[list[Any]]]:
    """The columns, a typed "(%s::type, ...)" row and each instance's parameters, prepared for
    the database as Django's own INSERT does (pre_save, then get_db_prep_save). The primary key
    and the `leave_out` field (by attname) are left out. Columns and types are worked out once
    per model, left-out field and database vendor."""
    connection = connections[using]
    model = type(instances[0])
    key = (model, leave_out, connection.vendor)
    template = _INSERT_TEMPLATES.get(key)
    if template is None:
        fields = [
            field
            for field in model._meta.concrete_fields
            if not field.primary_key and field.attname != leave_out and not field.generated
        ]
        row = ", ".join(f"%s::{field.db_type(connection)}" for field in fields)
        template = _INSERT_TEMPLATES.setdefault(
            key, (fields, [field.column for field in fields], row)
        )
    fields, columns, row = template
    params = [
        [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
        for instance in instances
    ]
    return columns, row, params
