"""Bulk ledger work on the core job runner: back-fill, points expiry, promised-points maturity,
points import.

Each handler walks a keyset cursor and writes a batch at a time inside the runner's batch
transaction, set-wise where the ledger allows it (back-fill, expiry, maturity, runs of imported
credits); a DomainError fails only its row. All of them are safe to run twice.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ledger.exceptions import ConcurrentLedgerUpdateError, InvalidLedgerRequestError
from ledger.services.accounts import (
    ledger_backfill_customers,
    ledger_backfill_customers_pending,
    ledger_backfill_owner,
)
from ledger.services.bulk import owner_ids_from_labels
from ledger.services.expiry import (
    points_expire,
    points_expire_many,
    points_expiry_owner_batches,
)
from ledger.services.imports import COLUMNS as IMPORT_COLUMNS
from ledger.services.imports import (
    POINTS_IMPORT_KIND,
    ImportRow,
    points_import_file_rows,
    points_import_row,
    points_import_rows_post,
)
from ledger.services.posting import OpeningBalance, owner_filter, owner_from_label
from ledger.services.promised import (
    points_promised_mature,
    points_promised_mature_many,
    promised_maturity_owner_batches,
)
from loyalty_site.core.exceptions import DomainError
from loyalty_site.core.jobs import (
    BatchOutcome,
    JobHandler,
    RowError,
    job_handler,
    queryset_batches,
)
from loyalty_site.core.models import Job
from members.models import Customer, PointsCategory

BACKFILL_KIND = "ledger.backfill"
EXPIRY_KIND = "ledger.points_expiry"
MATURITY_KIND = "ledger.promised_maturity"


def _batch_size(job: Job, default: int) -> int:
    try:
        return max(1, int(job.params.get("batch_size", default)))
    except (TypeError, ValueError):
        return default


def _aware(value: Any, field: str) -> datetime.datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(str(value))
    if parsed is None or timezone.is_naive(parsed):
        raise InvalidLedgerRequestError(f"{field} must be an ISO date-time with a time zone")
    return parsed


@job_handler(BACKFILL_KIND)
class LedgerBackfillJob(JobHandler):
    """Open the ledger of every customer of the org that lacks accounts, a batch of customers at
    a time with a few bulk inserts (ledger_backfill_customers).

    params: {"balances": [{"customerId", "programId", "category" (default REGULAR), "points",
    "expiresAt", "maturesAt"}], "batch_size"}; customers not listed start at zero. A customer
    with a bad balance row fails alone; customers back-filled already drop out of the cursor's
    query, so a re-run or a resumed job opens nothing twice.
    """

    # Customers per batch: one transaction, holding their owner locks until it commits.
    batch_size = 500

    def _customers(self, job: Job):
        return ledger_backfill_customers_pending(org_id=job.org_id)

    def _balance_rows(self, job: Job) -> dict[int, list[dict[str, Any]]]:
        if not hasattr(self, "_rows"):
            rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for row in job.params.get("balances") or []:
                try:
                    rows[int(row["customerId"])].append(row)
                except (KeyError, TypeError, ValueError):
                    continue
            self._rows = rows
        return self._rows

    def _balances(self, job: Job, customer: Customer) -> dict[tuple[int, str], OpeningBalance]:
        """The customer's balances from params. Raises InvalidLedgerRequestError."""
        balances: dict[tuple[int, str], OpeningBalance] = {}
        for item in self._balance_rows(job).get(customer.pk, []):
            try:
                key = (int(item["programId"]), str(item.get("category") or PointsCategory.REGULAR))
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidLedgerRequestError(f"Bad balance row {item!r}") from exc
            balances[key] = OpeningBalance(
                points=item.get("points", 0),
                expires_at=_aware(item.get("expiresAt"), "expiresAt"),
                matures_at=_aware(item.get("maturesAt"), "maturesAt"),
            )
        return balances

    def total(self, job: Job) -> int | None:
        return self._customers(job).count()

    def batches(self, job: Job, after: str) -> Iterator[tuple[list[Any], str]]:
        return queryset_batches(
            self._customers(job), after=after, size=_batch_size(job, self.batch_size)
        )

    def process(self, job: Job, rows: list[Customer]) -> BatchOutcome:
        errors: dict[int, DomainError] = {}
        balances = {}
        for customer in rows:
            try:
                balances[customer.pk] = self._balances(job, customer)
            except DomainError as exc:
                errors[customer.pk] = exc
        try:
            result = ledger_backfill_customers(
                org=job.org,
                customers=[customer for customer in rows if customer.pk not in errors],
                balances=balances,
                actor=None,
            )
        except ConcurrentLedgerUpdateError:
            # An account was opened without the owner lock: redo this batch one customer at a
            # time, so that only the customer in conflict fails.
            return super().process(job, rows)
        errors.update(result.errors)
        row_errors = [self.row_error(row, errors[row.pk]) for row in rows if row.pk in errors]
        return BatchOutcome(processed=len(rows), failed=len(row_errors), row_errors=row_errors)

    def process_row(self, job: Job, row: Customer) -> None:
        ledger_backfill_owner(customer=row, balances=self._balances(job, row), actor=None)


@job_handler(EXPIRY_KIND)
class PointsExpiryJob(JobHandler):
    """Expire the org's lots that lapsed before params["as_of"] (YYYY-MM-DD, org time zone), a
    batch of owners at a time with a few set-wise statements (points_expire_many)."""

    batch_size = 200

    def _as_of(self, job: Job) -> datetime.date:
        as_of = parse_date(str(job.params.get("as_of") or ""))
        if as_of is None:
            raise InvalidLedgerRequestError("The expiry job needs params.as_of (YYYY-MM-DD)")
        return as_of

    def batches(self, job: Job, after: str) -> Iterator[tuple[list[Any], str]]:
        return points_expiry_owner_batches(
            org=job.org, as_of=self._as_of(job), after=after, size=_batch_size(job, 200)
        )

    def process(self, job: Job, rows: list[str]) -> BatchOutcome:
        customer_ids, user_group_ids = owner_ids_from_labels(rows)
        try:
            result = points_expire_many(
                org=job.org,
                customer_ids=customer_ids,
                user_group_ids=user_group_ids,
                as_of=self._as_of(job),
                actor=None,
            )
        except ConcurrentLedgerUpdateError:
            # A ledger row was written without the owner lock: redo this batch one owner at a
            # time, so that only the owner in conflict fails.
            return super().process(job, rows)
        row_errors = [
            self.row_error(row, result.errors[row]) for row in rows if row in result.errors
        ]
        return BatchOutcome(processed=len(rows), failed=len(row_errors), row_errors=row_errors)

    def process_row(self, job: Job, row: str) -> None:
        owner = owner_from_label(row)
        points_expire(**owner_filter(owner), as_of=self._as_of(job), actor=None)

    def row_error(self, row: Any, exc):
        error = super().row_error(row, exc)
        return type(error)(message=error.message, code=error.code, row_key=str(row))


@job_handler(MATURITY_KIND)
class PromisedMaturityJob(JobHandler):
    """Convert the org's promised points that matured by params["as_of"] (ISO date-time), a
    batch of owners at a time (points_promised_mature_many)."""

    batch_size = 200

    def _as_of(self, job: Job) -> datetime.datetime:
        return _aware(job.params.get("as_of"), "as_of") or job.created_at

    def batches(self, job: Job, after: str) -> Iterator[tuple[list[Any], str]]:
        return promised_maturity_owner_batches(
            org=job.org, as_of=self._as_of(job), after=after, size=_batch_size(job, 200)
        )

    def process(self, job: Job, rows: list[str]) -> BatchOutcome:
        customer_ids, user_group_ids = owner_ids_from_labels(rows)
        try:
            result = points_promised_mature_many(
                org=job.org,
                customer_ids=customer_ids,
                user_group_ids=user_group_ids,
                as_of=self._as_of(job),
                actor=None,
            )
        except ConcurrentLedgerUpdateError:
            # As for expiry: redo the batch one owner at a time.
            return super().process(job, rows)
        row_errors = [
            self.row_error(row, result.errors[row]) for row in rows if row in result.errors
        ]
        return BatchOutcome(processed=len(rows), failed=len(row_errors), row_errors=row_errors)

    def process_row(self, job: Job, row: str) -> None:
        owner = owner_from_label(row)
        points_promised_mature(**owner_filter(owner), as_of=self._as_of(job), actor=None)

    def row_error(self, row: Any, exc):
        error = super().row_error(row, exc)
        return type(error)(message=error.message, code=error.code, row_key=str(row))


@job_handler(POINTS_IMPORT_KIND)
class PointsImportJob(JobHandler):
    """Post an uploaded points file (ledger.services.imports): one row, one credit or debit,
    in file order (runs of credits set-wise: points_import_rows_post).

    params: {"file": storage path, "file_name", "rows"}. A bad row fails alone, with its line
    number in the error report; rows already posted (same reference) are replays, so a re-run or
    a resumed job posts nothing twice.
    """

    batch_size = 200
    error_report_columns = IMPORT_COLUMNS

    def _rows(self, job: Job) -> list[ImportRow]:
        if getattr(self, "_rows_of", None) != job.pk:
            self._file_rows = points_import_file_rows(job=job)
            self._rows_of = job.pk
        return self._file_rows

    def _actor(self, job: Job):
        if getattr(self, "_actor_of", None) != job.pk:
            self._started_by = job.started_by
            self._actor_of = job.pk
        return self._started_by

    def total(self, job: Job) -> int | None:
        return len(self._rows(job))

    def batches(self, job: Job, after: str) -> Iterator[tuple[list[Any], str]]:
        # The cursor is the number of rows done; the file never changes.
        start = int(after) if after else 0
        rows = self._rows(job)
        size = _batch_size(job, self.batch_size)
        for offset in range(start, len(rows), size):
            chunk = rows[offset : offset + size]
            yield chunk, str(offset + len(chunk))

    def process(self, job: Job, rows: list[ImportRow]) -> BatchOutcome:
        errors = points_import_rows_post(
            org=job.org, rows=[data for _, data in rows], actor=self._actor(job)
        )
        row_errors = [self.row_error(rows[position], exc) for position, exc in errors.items()]
        return BatchOutcome(processed=len(rows), failed=len(row_errors), row_errors=row_errors)

    def process_row(self, job: Job, row: ImportRow) -> None:
        _, data = row
        points_import_row(org=job.org, row=data, actor=self._actor(job))

    def row_error(self, row: ImportRow, exc):
        line, data = row
        return RowError(
            message=exc.message,
            code=str(exc.code),
            row_number=line,
            row_key=data.get("reference", ""),
            row_data=dict(data),
        )
