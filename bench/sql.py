"""Set-wise SQL for building and dropping benchmark data (PostgreSQL only).

Rows are written with INSERT ... SELECT (generate_series or a join over rows already written),
never through the ORM row by row. `insert_select` fills every column the caller does not give
from the model's own defaults, so a field added later with a default needs no change here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[models.Model]) -> str:
    return quote(model._meta.db_table)


def insert_select(
    model: type[models.Model],
    *,
    values: Mapping[str, str],
    source: str,
    params: Mapping[str, Any] | None = None,
) -> int:
    """INSERT INTO <model's table> SELECT <values> FROM <source>; returns the rows written.

    `values` maps field names (or column names) to SQL expressions over `source`; they may use
    named parameters (%(name)s) from `params`. Other columns take the field's default, now()
    for auto_now(_add) fields, or NULL when nullable; a required column left out is an error.
    """
    params = dict(params or {})
    given = dict(values)
    columns: list[str] = []
    expressions: list[str] = []
    for field in model._meta.concrete_fields:
        if field.primary_key and isinstance(field, models.AutoField | models.BigAutoField):
            continue
        expression = given.pop(field.name, None)
        if expression is None:
            expression = given.pop(field.attname, None)
        if expression is None:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                expression = "now()"
            elif field.has_default():
                key = f"default_{field.attname}"
                params[key] = field.get_db_prep_save(field.get_default(), connection)
                expression = f"%({key})s"
            elif field.null:
                expression = "NULL"
            else:
                raise ValueError(f"{model.__name__}.{field.name} needs a value")
        columns.append(quote(field.column))
        expressions.append(expression)
    if given:
        raise ValueError(f"{model.__name__} has no field(s) {', '.join(sorted(given))}")
    # The expressions and the source are the harness's own SQL; values travel as parameters.
    sql = (
        f"INSERT INTO {table(model)} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(expressions)} FROM {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@contextlib.contextmanager
def triggers_off() -> Iterator[bool]:
    """A transaction in which row triggers do not fire (session_replication_role = replica):
    the foreign-key checks of a bulk load of rows consistent by construction, and the ledger's
    append-only guard when the benchmark drops its own throwaway rows. Yields False (triggers
    still on) when the database user may not change the setting (not a superuser)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL session_replication_role = replica")
            switched = True
        except DatabaseError as exc:
            logger.warning("Cannot turn row triggers off (%s); running with them on", exc)
            switched = False
        yield switched


@contextlib.contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block in a transaction that is always rolled back (reference measurements)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def analyze(*models_to_analyze: type[models.Model]) -> None:
    """Refresh planner statistics after a bulk load, as autovacuum would some time later."""
    with connection.cursor() as cursor:
        for model in models_to_analyze:
            cursor.execute(f"ANALYZE {table(model)}")


def vacuum(*table_names: str) -> None:
    """VACUUM ANALYZE the tables (outside any transaction, as VACUUM requires)."""
    if not table_names or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for name in table_names:
            cursor.execute(f"VACUUM ANALYZE {quote(name)}")


def scalar(sql: str, params: Mapping[str, Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        row = cursor.fetchone()
    return row[0] if row else None


def copy_rows(
    model: type[models.Model],
    *,
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    constants: Mapping[str, Any] | None = None,
) -> int:
    """COPY rows into the model's table: `fields` (names) take each row's values, `constants`
    the same value on every row, other columns their defaults as in insert_select. Returns the
    rows written."""
    constants = dict(constants or {})
    given = list(fields)
    columns = [model._meta.get_field(name).column for name in given]
    fixed: list[Any] = []
    now = timezone.now()
    for field in model._meta.concrete_fields:
        if field.name in given or field.attname in given:
            continue
        if field.primary_key and isinstance(field, models.AutoField | models.BigAutoField):
            continue
        if field.name in constants or field.attname in constants:
            value = constants.get(field.name, constants.get(field.attname))
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        elif field.has_default():
            value = field.get_default()
        elif field.null:
            value = None
        else:
            raise ValueError(f"{model.__name__}.{field.name} needs a value")
        columns.append(field.column)
        fixed.append(field.get_db_prep_save(value, connection))
    sql = f"COPY {table(model)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
    written = 0
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row((*row, *fixed))
            written += 1
    return written
