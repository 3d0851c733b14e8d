"""Writing a chunk's coupons, set-based: the offer's unissued codes handed out with one UPDATE,
new coupons COPYed straight into the coupons table on PostgreSQL (INSERT ... ON CONFLICT DO
NOTHING from a staging table when a code collides, then new codes for the rest), bulk_create
with ignore_conflicts elsewhere."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction

from coupons.exceptions import (
    CodeCapacityExceededError,
    CommonCouponAlreadyIssuedError,
    UnableToIssueError,
)
from coupons.models import CodeType, Coupon
from coupons.services.bulk.rules import ERROR_MESSAGES, ChunkContext
from coupons.services.codes import coupon_code_capacity_check, org_common_codes
from coupons.services.expiry import coupon_expiry_for_series
from loyalty_site.core.exceptions import DomainError

MAX_TOP_UP_ROUNDS = 10


@dataclass
class Written:
    issued: int = 0
    generated: int = 0
    uploaded_taken: int = 0
    failures: list[tuple[int, int, str]] | None = None  # (customer id, code, message)


def _values(context: ChunkContext, valid_till: datetime.datetime | None) -> dict[str, Any]:
    return {
        "created_at": context.now,
        "updated_at": context.now,
        "org_id": context.series.org_id,
        "series_id": context.series.pk,
        "issued_at": context.now,
        "valid_till": valid_till,
        "redemption_count": 0,
        "issue_job_id": context.job.pk,
    }


def _assign_unissued(
    context: ChunkContext, customer_ids: list[int], valid_till: datetime.datetime | None
) -> tuple[list[int], int]:
    """Hand the offer's unissued codes (pre-generated or uploaded, oldest first) to the first
    customers with one UPDATE; the customers served and how many codes were uploaded ones."""
    series, now = context.series, context.now
    codes = list(
        Coupon.objects.select_for_update(skip_locked=True)
        .filter(series_id=series.pk, customer__isnull=True, revoked_at__isnull=True)
        .order_by("id")
        .values_list("id", "source")[: len(customer_ids)]
    )
    if not codes:
        return [], 0
    served = customer_ids[: len(codes)]
    coupon_ids = [coupon_id for coupon_id, _source in codes]
    if connection.vendor == "postgresql":
        table = Coupon._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS c SET customer_id = v.customer_id, "  # noqa: S608
                "issue_job_row = v.customer_id, issue_job_id = %s, issued_at = %s, "
                "valid_till = %s, updated_at = %s "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, customer_id) WHERE c.id = v.id",
                [context.job.pk, now, valid_till, now, coupon_ids, served],
            )
    else:
        rows = [
            Coupon(
                pk=coupon_id,
                customer_id=customer_id,
                issue_job_row=customer_id,
                issue_job_id=context.job.pk,
                issued_at=now,
                valid_till=valid_till,
                updated_at=now,
            )
            for coupon_id, customer_id in zip(coupon_ids, served, strict=True)
        ]
        Coupon.objects.bulk_update(
            rows,
            [
                "customer_id",
                "issue_job_row",
                "issue_job_id",
                "issued_at",
                "valid_till",
                "updated_at",
            ],
            batch_size=1000,
        )
    uploaded = sum(1 for _id, source in codes if source == Coupon.Source.UPLOADED)
    return served, uploaded


COPY_COLUMNS = (
    "created_at",
    "updated_at",
    "org_id",
    "series_id",
    "code",
    "is_common",
    "source",
    "customer_id",
    "issued_at",
    "valid_till",
    "redemption_count",
    "issue_job_id",
    "issue_job_row",
    "issue_metadata",
)


_COPY_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_payload(
    context: ChunkContext,
    pairs: Sequence[tuple[int, str]],
    *,
    is_common: bool,
    source: str,
    valid_till,
) -> bytes:
    """COPY text rows: every column but the customer and the code is the same for the chunk."""
    now = context.now.isoformat()
    valid = valid_till.isoformat() if valid_till is not None else "\\N"
    head = f"{now}\t{now}\t{context.series.org_id}\t{context.series.pk}\t"
    middle = f"\t{'t' if is_common else 'f'}\t{source}\t"
    tail = f"\t{now}\t{valid}\t0\t{context.job.pk}\t"
    return "".join(
        f"{head}{code.translate(_COPY_SPECIAL)}{middle}{customer}{tail}{customer}\t{{}}\n"
        for customer, code in pairs
    ).encode()


def _pg_copy(sql: str, payload: bytes) -> None:
    with connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            copy.write(payload)


def _insert_direct(
    context: ChunkContext, pairs, *, is_common: bool, source: str, valid_till
) -> bool:
    """COPY the rows straight into the coupons table; False (nothing written) when a unique
    constraint refused one of them (a code collision), so the caller takes the slow path."""
    payload = _copy_payload(
        context, pairs, is_common=is_common, source=source, valid_till=valid_till
    )
    columns = ", ".join(COPY_COLUMNS)
    try:
        with transaction.atomic():
            _pg_copy(f"COPY {Coupon._meta.db_table} ({columns}) FROM STDIN", payload)
    except IntegrityError:
        return False
    except Exception as exc:  # psycopg reports COPY errors without Django's wrapping
        if getattr(exc, "sqlstate", None) == "23505":
            return False
        raise
    return True


def _insert_skipping_conflicts(
    context: ChunkContext, pairs, *, is_common: bool, source: str, valid_till
) -> None:
    """Insert the rows, silently dropping any that hit a unique constraint (ON CONFLICT DO
    NOTHING); the caller finds out which customers are still without a coupon."""
    if connection.vendor == "postgresql":
        payload = _copy_payload(
            context, pairs, is_common=is_common, source=source, valid_till=valid_till
        )
        stage = "coupons_bulk_issue_stage"
        columns = ", ".join(COPY_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {columns} FROM {Coupon._meta.db_table} WITH NO DATA"
            )
            cursor.execute(f"TRUNCATE {stage}")
        _pg_copy(f"COPY {stage} ({columns}) FROM STDIN", payload)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Coupon._meta.db_table} ({columns}) "  # noqa: S608
                f"SELECT {columns} FROM {stage} ON CONFLICT DO NOTHING"
            )
        return
    values = _values(context, valid_till)
    Coupon.objects.bulk_create(
        [
            Coupon(
                code=code,
                is_common=is_common,
                source=source,
                customer_id=customer,
                issue_job_row=customer,
                **values,
            )
            for customer, code in pairs
        ],
        batch_size=2000,
        ignore_conflicts=True,
    )


def _landed(context: ChunkContext) -> set[int]:
    return set(
        Coupon.objects.filter(
            issue_job_id=context.job.pk,
            issue_job_row__gte=context.chunk.start_id,
            issue_job_row__lte=context.chunk.end_id,
        ).values_list("issue_job_row", flat=True)
    )


def _fresh_codes(shape, count: int, reserved: set[str]) -> list[str]:
    codes: dict[str, None] = {}
    while len(codes) < count:
        for code in shape.generate(count - len(codes) + 16):
            if code not in reserved:
                codes[code] = None
    return list(codes)[:count]


def write_coupons(context: ChunkContext, customer_ids: list[int]) -> Written:
    """Issue one coupon to each customer; `failures` lists those who could not get one."""
    series = context.series
    written = Written(failures=[])
    if not customer_ids:
        return written
    try:
        valid_till = coupon_expiry_for_series(series=series, issued_at=context.now)
    except DomainError as exc:
        written.failures = [(customer, exc.code, exc.message) for customer in customer_ids]
        return written
    remaining = customer_ids
    if series.code_type != CodeType.COMMON:
        served, written.uploaded_taken = _assign_unissued(context, remaining, valid_till)
        written.issued += len(served)
        remaining = remaining[len(served) :]
    if not remaining:
        return written
    if series.code_type == CodeType.UPLOADED:
        message = ERROR_MESSAGES[UnableToIssueError.code]
        written.failures = [(customer, UnableToIssueError.code, message) for customer in remaining]
        return written
    if series.code_type == CodeType.COMMON:
        is_common, source = True, Coupon.Source.COMMON
    else:
        is_common, source = False, Coupon.Source.GENERATED
        try:
            shape = coupon_code_capacity_check(series=series, additional=len(remaining))
        except CodeCapacityExceededError as exc:
            written.failures = [(customer, exc.code, exc.message) for customer in remaining]
            return written
        reserved = org_common_codes(org_id=series.org_id)

    def pairs_for(customers: list[int]) -> list[tuple[int, str]]:
        if is_common:
            return [(customer, series.generic_code) for customer in customers]
        return list(zip(customers, _fresh_codes(shape, len(customers), reserved), strict=True))

    insert = {"is_common": is_common, "source": source, "valid_till": valid_till}
    pairs = pairs_for(remaining)
    if connection.vendor == "postgresql" and _insert_direct(context, pairs, **insert):
        missing: list[int] = []
    else:
        # Some code collided with one of the org (or a common code was taken meanwhile): insert
        # what fits and draw new codes for the rest.
        missing = remaining
        for _round in range(MAX_TOP_UP_ROUNDS):
            _insert_skipping_conflicts(context, pairs, **insert)
            landed = _landed(context)
            missing = [customer for customer in remaining if customer not in landed]
            if not missing or is_common:
                break
            pairs = pairs_for(missing)
    issued_new = len(remaining) - len(missing)
    written.issued += issued_new
    if not is_common:
        written.generated = issued_new
    for customer in missing:
        if is_common:
            written.failures.append(
                (
                    customer,
                    CommonCouponAlreadyIssuedError.code,
                    ERROR_MESSAGES[CommonCouponAlreadyIssuedError.code],
                )
            )
        else:
            written.failures.append(
                (customer, CodeCapacityExceededError.code, "No free coupon code was found")
            )
    return written
