"""Promo codes of CODE promotions: generated (the coupons' generator), added by hand, uploaded
from a CSV (a job with a per-row report), and linked to a customer (`.../promotions/code/link`).

Codes are unique in the org (a database constraint). Generation draws with the coupons' code
generator (coupons.services.codes.CodeShape: uniform, no look-alike characters), inserts with
ON CONFLICT DO NOTHING and tops up what collided. An upload reads the file's first column, one
code a row (a header row is skipped); each bad row (malformed, already in the org, repeated in
the file) lands in the job's error report with its row number, and the others go in. Rows carry
(job, row number), unique, so a resumed upload never writes a row twice.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Iterator
from typing import Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from coupons.services.codes import (
    GIVEN_CODE_PATTERN,
    MAX_CODE_LENGTH,
    MIN_CODE_LENGTH,
    CodeShape,
    alphabet_for,
)
from loyalty_site.core.jobs import BatchOutcome, RowError, job_create
from loyalty_site.core.models import Job
from members.models import Customer, Org, Till
from promotions.exceptions import (
    PromoCodeCapacityError,
    PromoCodeExistsError,
    PromoCodeExpiredError,
    PromoCodeInvalidError,
    PromoCodeModeError,
    PromoCodeNotFoundError,
    PromoCodePromotionTypeError,
)
from promotions.models import CartPromotion, CartPromotionType, PromoCode, PromoCodeLink

GENERATE_KIND = "promotion_codes_generate"
UPLOAD_KIND = "promotion_codes_upload"
CODE_MAX_LENGTH = 64
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_TOP_UP_ROUNDS = 20
INSERT_BATCH_SIZE = 5000
HEADER_WORDS = {"code", "codes", "promocode", "promocodes", "coupon", "couponcode"}
UPLOAD_ERROR_COLUMNS = ("promo_code",)


def _code_promotion(promotion: CartPromotion) -> CartPromotion:
    if promotion.type != CartPromotionType.CODE:
        raise PromoCodePromotionTypeError(
            f"Promotion {promotion.name!r} is a {promotion.type} promotion", field="promotionId"
        )
    return promotion


def promo_code_clean(code: Any) -> str:
    """A given code, trimmed and upper case. Raises PromoCodeInvalidError (4121)."""
    text = str(code or "").strip().upper() if isinstance(code, (str, int)) else ""
    if not text or len(text) > CODE_MAX_LENGTH:
        raise PromoCodeInvalidError(f"A promo code has 1 to {CODE_MAX_LENGTH} characters")
    if not GIVEN_CODE_PATTERN.match(text):
        raise PromoCodeInvalidError(
            f"Promo code {text!r} may only contain letters, digits, '-' and '_'"
        )
    return text


def _lock(promotion: CartPromotion) -> CartPromotion:
    return CartPromotion.objects.select_for_update().get(pk=promotion.pk)


@transaction.atomic
def promo_code_add(*, promotion: CartPromotion, code: str) -> PromoCode:
    """Add one given code (HOLIMAN100) to a CODE promotion. Raises 4121, 4122, 4123."""
    _code_promotion(promotion)
    text = promo_code_clean(code)
    try:
        with transaction.atomic():
            return PromoCode.objects.create(
                org_id=promotion.org_id,
                promotion=promotion,
                code=text,
                source=PromoCode.Source.ADDED,
            )
    except IntegrityError as exc:
        raise PromoCodeExistsError(f"Promo code {text} already exists in the org") from exc


@transaction.atomic
def promo_codes_add(*, promotion: CartPromotion, codes: list[str]) -> list[PromoCode]:
    """Add given codes, all or none. Raises 4121, 4122, 4123 for the first bad code."""
    return [promo_code_add(promotion=promotion, code=code) for code in codes]


def code_shape(*, length: int, prefix: str = "", is_alphanumeric: bool = True) -> CodeShape:
    """The shape of generated codes. Raises PromoCodeInvalidError (4121)."""
    if not MIN_CODE_LENGTH <= length <= MAX_CODE_LENGTH:
        raise PromoCodeInvalidError(
            f"Generated codes have {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH} random characters",
            field="length",
        )
    prefix = (prefix or "").strip().upper()
    if prefix and not GIVEN_CODE_PATTERN.match(prefix):
        raise PromoCodeInvalidError("The prefix may only hold letters, digits, '-' and '_'")
    if len(prefix) + length > CODE_MAX_LENGTH:
        raise PromoCodeInvalidError(f"A promo code has at most {CODE_MAX_LENGTH} characters")
    return CodeShape(
        alphabet=alphabet_for(is_alphanumeric=is_alphanumeric), random_length=length, prefix=prefix
    )


@transaction.atomic
def promo_codes_generate(
    *,
    promotion: CartPromotion,
    count: int,
    length: int = 8,
    prefix: str = "",
    is_alphanumeric: bool = True,
    job: Job | None = None,
) -> int:
    """Generate `count` new codes for a CODE promotion (more can be generated at any time);
    returns how many were written. Raises 4123, 4121 (shape) and 4126 (code space)."""
    promotion = _code_promotion(_lock(promotion))
    if count < 1:
        raise PromoCodeInvalidError("Generate at least one code", field="count")
    shape = code_shape(length=length, prefix=prefix, is_alphanumeric=is_alphanumeric)
    in_use = PromoCode.objects.filter(
        org_id=promotion.org_id, code__startswith=shape.prefix
    ).count()
    if in_use + count > shape.usable:
        raise PromoCodeCapacityError(
            f"Cannot generate {count:,} codes: {shape.describe()}, {in_use:,} similar codes exist",
            field="count",
        )
    landed = 0
    for _round in range(MAX_TOP_UP_ROUNDS):
        missing = count - landed
        if missing <= 0:
            break
        before = PromoCode.objects.filter(promotion=promotion).count()
        PromoCode.objects.bulk_create(
            [
                PromoCode(
                    org_id=promotion.org_id,
                    promotion=promotion,
                    code=code,
                    source=PromoCode.Source.GENERATED,
                    job=job,
                )
                for code in set(shape.generate(missing))
            ],
            batch_size=INSERT_BATCH_SIZE,
            ignore_conflicts=True,
        )
        # The promotion row is locked: only this call adds its codes now.
        landed += PromoCode.objects.filter(promotion=promotion).count() - before
    if landed < count:
        raise PromoCodeCapacityError(
            f"Only {landed:,} of {count:,} codes could be placed: the code space is too crowded"
        )
    return landed


def promo_codes_generate_start(
    *,
    promotion: CartPromotion,
    count: int,
    length: int = 8,
    prefix: str = "",
    is_alphanumeric: bool = True,
    started_by: Any = None,
) -> Job:
    """Check the request and queue a generation job (batches of 50,000 codes)."""
    _code_promotion(promotion)
    if count < 1:
        raise PromoCodeInvalidError("Generate at least one code", field="count")
    shape = code_shape(length=length, prefix=prefix, is_alphanumeric=is_alphanumeric)
    if count > shape.usable:
        raise PromoCodeCapacityError(f"Cannot generate {count:,} codes: {shape.describe()}")
    return job_create(
        kind=GENERATE_KIND,
        org=promotion.org,
        params={
            "promotion_id": promotion.pk,
            "count": count,
            "length": length,
            "prefix": shape.prefix,
            "is_alphanumeric": is_alphanumeric,
        },
        started_by=started_by,
    )


# Uploads -------------------------------------------------------------------------------------
def _check_file(file: File) -> None:
    size = getattr(file, "size", None)
    if not size:
        raise PromoCodeInvalidError("The file is empty", field="file")
    if size > MAX_UPLOAD_BYTES:
        raise PromoCodeInvalidError(
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB", field="file"
        )
    file.seek(0)
    head = file.read(64 * 1024)
    file.seek(0)
    if isinstance(head, str):
        head = head.encode()
    if b"\x00" in head:
        raise PromoCodeInvalidError("The file is not a CSV text file", field="file")
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise PromoCodeInvalidError("The file is not UTF-8 text", field="file") from exc


@transaction.atomic
def promo_codes_upload_start(
    *, promotion: CartPromotion, file: File, file_name: str, started_by: Any = None
) -> Job:
    """Store the CSV under MEDIA_ROOT/uploads/promo_codes/ and queue its job (it starts when the
    transaction commits). Raises 4121 (bad file) and 4123."""
    _code_promotion(promotion)
    _check_file(file)
    base = os.path.basename(file_name or "codes.csv").strip()[:100] or "codes.csv"
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    stored = default_storage.save(
        f"uploads/promo_codes/{promotion.org_id}/{stamp}_{promotion.pk}_{base}", file
    )
    return job_create(
        kind=UPLOAD_KIND,
        org=promotion.org,
        params={"promotion_id": promotion.pk, "file": stored, "file_name": base},
        started_by=started_by,
    )


def _is_header(cells: list[str]) -> bool:
    word = (cells[0] if cells else "").strip().lower().replace(" ", "").replace("_", "")
    return word.replace("-", "") in HEADER_WORDS


def upload_rows(*, job: Job) -> Iterator[tuple[int, str]]:
    """(row number in the file, first cell) of each data row; header and blank rows skipped."""
    with default_storage.open(job.params["file"], "rb") as handle:
        text = codecs.getreader("utf-8-sig")(handle, errors="replace")
        reader = csv.reader(text)
        try:
            for number, cells in enumerate(reader, start=1):
                if number == 1 and _is_header(cells):
                    continue
                first = cells[0].strip() if cells else ""
                if not first and not any(cell.strip() for cell in cells):
                    continue
                yield number, first
        except csv.Error as exc:
            raise PromoCodeInvalidError(f"Row {reader.line_num} is not valid CSV: {exc}") from exc


def upload_batches(*, job: Job, after: str, size: int) -> Iterator[tuple[list[Any], str]]:
    done = int(after) if after else 0
    batch: list[tuple[int, str]] = []
    for number, code in upload_rows(job=job):
        if number <= done:
            continue
        batch.append((number, code))
        if len(batch) >= size:
            yield batch, str(number)
            batch = []
    if batch:
        yield batch, str(batch[-1][0])


def upload_process(*, job: Job, rows: list[tuple[int, str]]) -> BatchOutcome:
    """Add a batch of uploaded codes set-wise; every refused row gets its reason."""
    promotion = _lock(CartPromotion.objects.get(pk=job.params["promotion_id"]))
    errors: list[RowError] = []
    wanted: dict[str, int] = {}
    for number, raw in rows:
        try:
            code = promo_code_clean(raw)
        except PromoCodeInvalidError as exc:
            errors.append(_row_error(number, raw, exc.code, exc.message))
            continue
        if code in wanted:
            errors.append(
                _row_error(number, raw, 4122, f"Code {code} is repeated (row {wanted[code]})")
            )
            continue
        wanted[code] = number
    # A resumed batch finds its own rows: they are not errors.
    mine = set(
        PromoCode.objects.filter(job=job, code__in=list(wanted)).values_list("code", flat=True)
    )
    taken = dict(
        PromoCode.objects.filter(org_id=promotion.org_id, code__in=list(wanted))
        .exclude(job=job)
        .values_list("code", "promotion__name")
    )
    fresh = []
    for code, number in wanted.items():
        if code in mine:
            continue
        if code in taken:
            errors.append(
                _row_error(
                    number, code, 4122, f"Code {code} already exists (promotion {taken[code]!r})"
                )
            )
            continue
        fresh.append(
            PromoCode(
                org_id=promotion.org_id,
                promotion=promotion,
                code=code,
                source=PromoCode.Source.UPLOADED,
                job=job,
                row_number=number,
            )
        )
    PromoCode.objects.bulk_create(fresh, ignore_conflicts=True)
    landed = set(
        PromoCode.objects.filter(job=job, code__in=[row.code for row in fresh]).values_list(
            "code", flat=True
        )
    )
    for row in fresh:
        if row.code not in landed:  # taken by a concurrent writer since the check above
            errors.append(
                _row_error(row.row_number, row.code, 4122, f"Code {row.code} already exists")
            )
    errors.sort(key=lambda error: error.row_number or 0)
    return BatchOutcome(processed=len(rows), failed=len(errors), row_errors=errors)


def _row_error(number: int | None, raw: str, code: int, message: str) -> RowError:
    return RowError(
        message=message,
        code=str(code),
        row_number=number,
        row_key=str(raw)[:255],
        row_data={"promo_code": raw},
    )


def upload_summary(*, job: Job) -> dict[str, Any]:
    return {"codes_added": PromoCode.objects.filter(job=job).count()}


# Links ---------------------------------------------------------------------------------------
def promo_code_get(*, org_ids: tuple[int, ...], code: str) -> PromoCode:
    """The code in the orgs. Raises PromoCodeNotFoundError (4120)."""
    text = str(code or "").strip().upper()
    row = (
        PromoCode.objects.filter(org_id__in=org_ids, code=text).select_related("promotion").first()
        if text
        else None
    )
    if row is None:
        raise PromoCodeNotFoundError(f"Promo code {text or code!r} does not exist", field="code")
    return row


@transaction.atomic
def promo_code_link(
    *, org: Org, customer: Customer, code: str, mode: str, actor: Till | None
) -> PromoCodeLink:
    """Link a (physical) code to the customer: it is applied at their checkouts without being
    typed. Linking again answers the existing link. Raises 4120 unknown code, 4124 promotion
    ended or inactive (or code inactive), 4125 mode not the promotion's."""
    row = promo_code_get(org_ids=(org.pk,), code=code)
    promotion = row.promotion
    now = timezone.now()
    if not row.is_active or not promotion.is_active or promotion.ends_at <= now:
        raise PromoCodeExpiredError(field="code")
    if str(mode or "").strip().upper() != promotion.mode:
        raise PromoCodeModeError(
            f"Code {row.code} belongs to a {promotion.mode} promotion", field="mode"
        )
    existing = PromoCodeLink.objects.filter(code=row, customer=customer, is_active=True).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return PromoCodeLink.objects.create(
                org=org, code=row, customer=customer, mode=promotion.mode, linked_by_till=actor
            )
    except IntegrityError:
        return PromoCodeLink.objects.get(code=row, customer=customer, is_active=True)
