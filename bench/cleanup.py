"""Dropping a throwaway benchmark org and every row that hangs off it, set-wise.

The deletion plan is derived from the models: each model's shortest foreign-key path to Org
(non-null keys preferred), deleted deepest first so that every path still joins when its rows
go. It runs in one transaction with row triggers off: the ledger's append-only guard refuses
deletes of entries (rightly, for real data; these rows exist only for the benchmark), and the
foreign-key triggers would queue one check per deleted row.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from django.apps import apps
from django.db import connection, models

from bench.sql import quote, triggers_off
from members.models import Org

logger = logging.getLogger(__name__)

# Benchmark orgs are named with this prefix, so leftovers of a crashed run can be found.
BENCH_ORG_PREFIX = "[bench] "


@dataclass(frozen=True)
class DeletionStep:
    model: type[models.Model]
    lookup: str  # filter(**{lookup: org_id}) selects the org's rows
    depth: int


def _foreign_keys(model: type[models.Model]) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if field.is_relation and (field.many_to_one or field.one_to_one)
    ]


@functools.cache
def deletion_plan() -> tuple[DeletionStep, ...]:
    """Every model that reaches Org through foreign keys, deepest first."""
    paths: dict[type[models.Model], tuple[int, str]] = {Org: (0, "pk")}
    candidates = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model is not Org and not model._meta.proxy and model._meta.managed
    ]
    # Non-null keys first: a path through a nullable key misses the rows where it is null.
    _relax(paths, candidates, allow_nullable=False, fixed=frozenset())
    _relax(paths, candidates, allow_nullable=True, fixed=frozenset(paths))
    steps = [
        DeletionStep(model=model, lookup=lookup, depth=depth)
        for model, (depth, lookup) in paths.items()
        if model is not Org
    ]
    steps.sort(key=lambda step: (-step.depth, step.model._meta.db_table))
    return tuple(steps)


def _relax(
    paths: dict[type[models.Model], tuple[int, str]],
    candidates: list[type[models.Model]],
    *,
    allow_nullable: bool,
    fixed: frozenset[type[models.Model]],
) -> None:
    """Shortest paths to Org (Bellman-Ford over the foreign keys); `fixed` models keep theirs."""
    changed = True
    while changed:
        changed = False
        for model in candidates:
            if model in fixed:
                continue
            for field in _foreign_keys(model):
                target = field.related_model
                if target is model or target not in paths or (field.null and not allow_nullable):
                    continue
                depth, rest = paths[target]
                if model not in paths or depth + 1 < paths[model][0]:
                    paths[model] = (depth + 1, f"{field.name}__{rest}")
                    changed = True


def org_rows_delete(*, org_id: int) -> dict[str, int]:
    """Delete the org and every row of it (see deletion_plan); returns rows deleted per table."""
    deleted: dict[str, int] = {}
    with triggers_off() as switched:
        user_trigger_tables: list[str] = []
        if not switched:
            user_trigger_tables = _tables_with_user_triggers()
            with connection.cursor() as cursor:
                for name in user_trigger_tables:
                    cursor.execute(f"ALTER TABLE {quote(name)} DISABLE TRIGGER USER")
        for step in deletion_plan():
            queryset = step.model._base_manager.filter(**{step.lookup: org_id})
            # A set-wise DELETE ... WHERE pk IN (SELECT ...): no collector, no per-row signals.
            count = queryset._raw_delete(queryset.db)
            if count:
                deleted[step.model._meta.db_table] = count
        deleted[Org._meta.db_table] = Org._base_manager.filter(pk=org_id)._raw_delete(
            connection.alias
        )
        if user_trigger_tables:
            with connection.cursor() as cursor:
                for name in user_trigger_tables:
                    cursor.execute(f"ALTER TABLE {quote(name)} ENABLE TRIGGER USER")
    return deleted


def _tables_with_user_triggers() -> list[str]:
    tables = {step.model._meta.db_table for step in deletion_plan()}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal"
        )
        return sorted(name for (name,) in cursor.fetchall() if name in tables)


def leftover_bench_orgs() -> list[tuple[int, str]]:
    """Benchmark orgs a crashed run left behind."""
    return list(
        Org.objects.filter(name__startswith=BENCH_ORG_PREFIX)
        .order_by("pk")
        .values_list("pk", "name")
    )
