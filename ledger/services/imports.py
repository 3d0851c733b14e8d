"""Points import from a CSV file (CONTRACT.md §11.9 "Points import": the platform's stand-in for
the Data Import profiles): one row credits or debits one customer's points.

The upload is checked (encoding, header, size) and stored under MEDIA_ROOT/jobs/ through the
default storage, and a `ledger.points_import` job posts it in file order, a batch of rows at a
time (ledger/jobs.py; runs of credits set-wise). The file
is kept out of Job.params so that the job row and its admin page stay small whatever the upload's
size; it is immutable, so a resumed job reads the same rows. Each row's `reference` is its
idempotency key in the org: re-running a file posts nothing twice.
"""

from __future__ import annotations

import csv
import datetime
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction as db_transaction

from ledger.exceptions import (
    ConcurrentLedgerUpdateError,
    InvalidLedgerRequestError,
    InvalidProgramIdError,
)
from ledger.models import EventName, LedgerEvent
from ledger.services.accrual import points_allocate_many
from ledger.services.earn import (
    CreditRequest,
    points_import_credit,
    points_import_debit,
)
from loyalty_site.core.exceptions import DomainError
from loyalty_site.core.jobs import job_create
from loyalty_site.core.models import Job
from members.exceptions import InvalidIdentifierError
from members.models import Customer, Org, Program
from members.selectors.customers import customer_get_by_identifier

POINTS_IMPORT_KIND = "ledger.points_import"
COLUMNS = (
    "identifier_type",
    "identifier_value",
    "program_id",
    "action",
    "points",
    "reference",
    "expiry_date",
)
REQUIRED_COLUMNS = COLUMNS[:-1]
IDENTIFIER_TYPES = {"mobile": "mobile", "email": "email", "external_id": "externalId"}
CREDIT_ACTIONS = {"CREDIT"}
# Imported redemptions and expiries are plain debits (event PointsImport) with the action as reason.
DEBIT_ACTIONS = {"REDEEM", "EXPIRE", "DEBIT"}
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
REFERENCE_MAX_LENGTH = 100
KEY_PREFIX = "points-import:"
STORAGE_DIRECTORY = "jobs/ledger-points-import"


def _header_key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


ImportRow = tuple[int, dict[str, str]]  # (line number in the file, cells by column name)


def points_import_rows(content: bytes) -> list[ImportRow]:
    """The data rows of a points import file with their line numbers (the header is line 1),
    cells keyed by the canonical column names; blank lines are skipped.

    Raises InvalidLedgerRequestError for a file that is not UTF-8 CSV, lacks a required column,
    or has more than MAX_ROWS rows.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidLedgerRequestError("The file is not UTF-8 text") from exc
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise InvalidLedgerRequestError("The file is empty") from exc
    keys = [_header_key(name) for name in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in keys]
    if missing:
        raise InvalidLedgerRequestError(
            f"Missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"
        )
    rows: list[ImportRow] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            data = {
                column: (cells[index].strip() if index < len(cells) else "")
                for index, column in enumerate(keys)
                if column in COLUMNS
            }
            rows.append((reader.line_num, data))
            if len(rows) > MAX_ROWS:
                raise InvalidLedgerRequestError(f"The file has more than {MAX_ROWS} rows")
    except csv.Error as exc:
        raise InvalidLedgerRequestError(f"Malformed CSV: {exc}") from exc
    return rows


@db_transaction.atomic
def points_import_job_create(*, org: Org, file_name: str, content: bytes, actor: Any) -> Job:
    """Check and store an uploaded points file, then queue its import job (it starts when the
    transaction commits). Raises InvalidLedgerRequestError for a bad file (nothing is stored)."""
    if len(content) > MAX_FILE_BYTES:
        raise InvalidLedgerRequestError(f"The file is larger than {MAX_FILE_BYTES} bytes")
    rows = points_import_rows(content)
    if not rows:
        raise InvalidLedgerRequestError("The file has no data rows")
    stored = default_storage.save(
        f"{STORAGE_DIRECTORY}/{uuid.uuid4().hex}.csv", ContentFile(content)
    )
    try:
        return job_create(
            kind=POINTS_IMPORT_KIND,
            org=org,
            params={"file": stored, "file_name": file_name[:255], "rows": len(rows)},
            started_by=actor,
        )
    except Exception:
        # A failed insert must not leave the file behind.
        default_storage.delete(stored)
        raise


def points_import_file_rows(*, job: Job) -> list[ImportRow]:
    """The rows of the file a points import job was created with."""
    path = str(job.params.get("file") or "")
    if not path or not default_storage.exists(path):
        raise InvalidLedgerRequestError(f"The import file {path!r} is missing")
    with default_storage.open(path, "rb") as handle:
        return points_import_rows(handle.read())


def _expiry(text: str) -> datetime.date | None:
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidLedgerRequestError(
            f"expiry_date {text!r} is not YYYY-MM-DD", field="expiry_date"
        ) from exc


@dataclass(frozen=True)
class _ImportRow:
    action: str
    customer: Customer
    program: Program
    points: str
    key: str
    expires_on: datetime.date | None


def _import_row_parse(*, org: Org, row: Mapping[str, str]) -> _ImportRow:
    """The checked cells of one import row (its customer and program read); raises the errors
    of points_import_row for a bad row."""
    reference = (row.get("reference") or "").strip()
    if not reference:
        raise InvalidLedgerRequestError("reference is required", field="reference")
    if len(reference) > REFERENCE_MAX_LENGTH:
        raise InvalidLedgerRequestError(
            f"reference is longer than {REFERENCE_MAX_LENGTH} characters", field="reference"
        )
    identifier_type = (row.get("identifier_type") or "").strip().lower()
    if identifier_type not in IDENTIFIER_TYPES:
        raise InvalidIdentifierError(
            f"identifier_type {row.get('identifier_type')!r}: use mobile, email or external_id",
            field="identifier_type",
        )
    customer = customer_get_by_identifier(
        org_ids=[org.pk],
        identifier_name=IDENTIFIER_TYPES[identifier_type],
        identifier_value=(row.get("identifier_value") or "").strip(),
    )
    program_text = (row.get("program_id") or "").strip()
    program = None
    if program_text.isdigit() and int(program_text) < 2**63:
        program = (
            Program.objects.filter(org=org, pk=int(program_text), is_active=True)
            .select_related("org")
            .first()
        )
    if program is None:
        raise InvalidProgramIdError(f"Invalid program id {program_text!r}")
    action = (row.get("action") or "").strip().upper()
    expires_on = _expiry((row.get("expiry_date") or "").strip())
    if action in DEBIT_ACTIONS and expires_on is not None:
        raise InvalidLedgerRequestError(
            "expiry_date applies to CREDIT rows only", field="expiry_date"
        )
    if action not in CREDIT_ACTIONS and action not in DEBIT_ACTIONS:
        raise InvalidLedgerRequestError(
            f"action {row.get('action')!r}: use CREDIT, REDEEM, EXPIRE or DEBIT", field="action"
        )
    return _ImportRow(
        action=action,
        customer=customer,
        program=program,
        points=(row.get("points") or "").strip(),
        key=f"{KEY_PREFIX}{reference}",
        expires_on=expires_on,
    )


def points_import_row(*, org: Org, row: Mapping[str, str], actor: Any) -> LedgerEvent:
    """Post one row of a points import: CREDIT (optionally expiring at the end of expiry_date,
    org time zone) or REDEEM / EXPIRE / DEBIT. A row whose reference was already posted with the
    same content returns that event (is_replay=True).

    Raises InvalidLedgerRequestError (bad row), InvalidIdentifierError (8013),
    CustomerNotFoundError (8015), CustomerMergedError (8069), InvalidProgramIdError (885),
    InvalidPointsError (801), InsufficientCurrentPointsError (804),
    LedgerIdempotencyConflictError (the reference was used for another row).
    """
    parsed = _import_row_parse(org=org, row=row)
    if parsed.action in CREDIT_ACTIONS:
        return points_import_credit(
            customer=parsed.customer,
            program=parsed.program,
            points=parsed.points,
            actor=actor,
            idempotency_key=parsed.key,
            expires_at=parsed.expires_on,
        )
    return points_import_debit(
        customer=parsed.customer,
        program=parsed.program,
        points=parsed.points,
        actor=actor,
        idempotency_key=parsed.key,
        reason=parsed.action,
    )


def points_import_rows_post(
    *, org: Org, rows: Sequence[Mapping[str, str]], actor: Any
) -> dict[int, DomainError]:
    """Post import rows in file order, as points_import_row would one by one: each run of
    CREDIT rows set-wise (points_allocate_many), the other rows one at a time. Returns the error
    of each row that failed, by position in order; a failed row changes nothing."""
    errors: dict[int, DomainError] = {}
    credits: list[tuple[int, CreditRequest]] = []

    def post_credits() -> None:
        if not credits:
            return
        try:
            with db_transaction.atomic():
                result = points_allocate_many(credits=[c for _, c in credits], actor=actor)
        except ConcurrentLedgerUpdateError:
            # A ledger row was written without the owner lock: post this run one row at a time.
            for position, credit in credits:
                try:
                    with db_transaction.atomic():
                        points_allocate_many(credits=[credit], actor=actor)
                except DomainError as exc:
                    errors[position] = exc
        else:
            for index, exc in result.errors.items():
                errors[credits[index][0]] = exc
        credits.clear()

    for position, row in enumerate(rows):
        try:
            parsed = _import_row_parse(org=org, row=row)
        except DomainError as exc:
            errors[position] = exc
            continue
        if parsed.action in CREDIT_ACTIONS:
            credits.append(
                (
                    position,
                    CreditRequest(
                        customer=parsed.customer,
                        program=parsed.program,
                        points=parsed.points,
                        event_name=EventName.POINTS_IMPORT,
                        idempotency_key=parsed.key,
                        expires_at=parsed.expires_on,
                    ),
                )
            )
            continue
        # A debit may take points credited by the rows before it.
        post_credits()
        try:
            with db_transaction.atomic():
                points_import_debit(
                    customer=parsed.customer,
                    program=parsed.program,
                    points=parsed.points,
                    actor=actor,
                    idempotency_key=parsed.key,
                    reason=parsed.action,
                )
        except DomainError as exc:
            errors[position] = exc
    post_credits()
    return dict(sorted(errors.items()))
