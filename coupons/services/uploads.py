"""Coupon uploads (contract §3; the seed's "Upload existing coupon codes", "Upload customers" and
its "Validations for Issuing Coupons Through Capillary"): a CSV is stored under
MEDIA_ROOT/uploads/ and a job (coupons.jobs) reads it with a csv reader, batch by batch.

What a file does depends on the offer and the `customerIdentifier` of the upload:

- offer with uploaded codes, NOT_TAGGED: codes only; they become unissued codes of the offer;
- offer with uploaded codes, an identifier: codes with their customers; each row issues its code;
- any other offer (auto or common codes), an identifier: a customer list; each row issues one
  coupon, so a customer listed four times is four issuals, judged one after the other by the
  offer's rules (the seed's four duplicate-customer cases).

Each row is issued by coupon_issue in its own savepoint: a bad row is reported (row number, code,
message) and never stops the others, and never leaves a half-issued coupon. Issued coupons carry
(job, row), unique together, so a resumed job does not issue a row twice.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from coupons.exceptions import (
    CommonCouponAlreadyIssuedError,
    CouponCodeExistsError,
    CouponCodeInvalidError,
    CouponCustomerNotFoundError,
    CouponSeriesInvalidError,
    CouponUploadInvalidError,
    CustomerIssualLimitReachedError,
    InvalidCustomerError,
    IssualGapNotMetError,
    SeriesIssualLimitReachedError,
)
from coupons.models import CodeType, Coupon, CouponAudience, CouponSeries, CouponUpload
from coupons.services.audiences import coupon_audience_add_customers
from coupons.services.codes import coupon_codes_add, validate_given_code
from coupons.services.issue import IssueProvenance, coupon_issue
from loyalty_site.core.exceptions import DomainError
from loyalty_site.core.jobs import BatchOutcome, RowError, job_create
from loyalty_site.core.models import Job
from members.exceptions import InvalidEmailError, InvalidExternalIdError, InvalidMobileError
from members.models import Customer, Till
from members.services.identifiers import normalize_email, normalize_external_id, normalize_mobile

UPLOAD_KIND = "coupon_upload"
Identifier = CouponUpload.CustomerIdentifier
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_COLUMN = 50
# A first row made only of these (lower case, no spaces, '_' or '-') is a header, not data.
HEADER_WORDS = frozenset(
    {
        "mobile",
        "mobileno",
        "mobilenumber",
        "phone",
        "email",
        "emailid",
        "emailaddress",
        "externalid",
        "userid",
        "user",
        "customerid",
        "id",
        "customer",
        "customeridentifier",
        "identifier",
        "code",
        "coupon",
        "couponcode",
        "coupons",
        "couponcodes",
        "voucher",
        "vouchercode",
    }
)
# The seed's messages for rows whose customer cannot be found ("Validations for Issuing Coupons").
NOT_FOUND_MESSAGES = {
    Identifier.EXTERNAL_ID: "User does not exist with provided external id",
    Identifier.MOBILE: "User does not exist with provided mobile",
    Identifier.EMAIL: "User does not exist with provided email",
    Identifier.USER_ID: "User ID is not valid or is inactive",
}
CUSTOMER_FIELDS = {
    Identifier.MOBILE: "mobile",
    Identifier.EMAIL: "email",
    Identifier.EXTERNAL_ID: "external_id",
    Identifier.USER_ID: "pk",
}
MAX_DATABASE_ID = 2**63 - 1

UploadRow = tuple[int, list[str]]  # (row number in the file, 1-based; its cells)


# Starting an upload ---------------------------------------------------------------------------
def _upload_kind(series: CouponSeries, identifier: str) -> str:
    if series.code_type == CodeType.RANDOMIZED_COMMON:
        raise CouponSeriesInvalidError(
            "Customers cannot be uploaded for an offer with randomized common codes",
            field="customerIdentifier",
        )
    if series.code_type == CodeType.UPLOADED:
        if identifier == Identifier.NOT_TAGGED:
            return CouponUpload.Kind.CODES
        return CouponUpload.Kind.CODES_WITH_CUSTOMERS
    if identifier == Identifier.NOT_TAGGED:
        raise CouponSeriesInvalidError(
            "Coupon codes can only be uploaded to an offer whose codes are uploaded "
            "(DISC_CODE_PIN); upload customers to issue this offer's coupons",
            field="customerIdentifier",
        )
    return CouponUpload.Kind.CUSTOMERS


def _columns(kind: str, identifier_column: int, code_column: int | None) -> tuple[int, int | None]:
    for name, value in (
        ("customerIdentifierColumn", identifier_column),
        ("couponCodeColumn", code_column),
    ):
        if value is not None and not 0 <= value <= MAX_COLUMN:
            raise CouponUploadInvalidError(
                f"{name} must be a column number from 0 to {MAX_COLUMN}", field=name
            )
    if kind == CouponUpload.Kind.CODES:
        return 0, code_column if code_column is not None else 0
    if kind == CouponUpload.Kind.CUSTOMERS:
        return identifier_column, None
    # The contract's shape is "customer_identifier,coupon code": the code is the other column.
    if code_column is None:
        code_column = 1 if identifier_column == 0 else 0
    if code_column == identifier_column:
        raise CouponUploadInvalidError(
            "The coupon code and the customer identifier must be different columns",
            field="couponCodeColumn",
        )
    return identifier_column, code_column


def _check_file(file: File) -> None:
    size = getattr(file, "size", None)
    if not size:
        raise CouponUploadInvalidError("The file is empty", field="file")
    if size > MAX_UPLOAD_BYTES:
        raise CouponUploadInvalidError(
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB", field="file"
        )
    file.seek(0)
    head = file.read(64 * 1024)
    file.seek(0)
    if isinstance(head, str):
        head = head.encode()
    if b"\x00" in head:
        raise CouponUploadInvalidError("The file is not a CSV text file", field="file")
    try:
        # The head may end inside a multi-byte character: decode incrementally.
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise CouponUploadInvalidError("The file is not UTF-8 text", field="file") from exc


@transaction.atomic
def coupon_upload_start(
    *,
    series: CouponSeries,
    file: File,
    file_name: str,
    customer_identifier: str,
    identifier_column: int = 0,
    code_column: int | None = None,
    actor: Till | None = None,
    started_by: Any = None,
) -> CouponUpload:
    """Check an upload, store its file under MEDIA_ROOT/uploads/ and queue its job (it starts
    when the transaction commits). Nothing is stored when a check fails.

    Raises CouponUploadInvalidError (400) for a bad identifier, column or file and
    CouponSeriesInvalidError (799) when the offer does not take this kind of upload.
    """
    if customer_identifier not in Identifier.values:
        raise CouponUploadInvalidError(
            f"customerIdentifier must be one of {', '.join(Identifier.values)}",
            field="customerIdentifier",
        )
    kind = _upload_kind(series, customer_identifier)
    identifier_column, code_column = _columns(kind, identifier_column, code_column)
    _check_file(file)
    file_name = (file_name or "upload.csv").strip()[:255] or "upload.csv"
    job = job_create(
        kind=UPLOAD_KIND,
        org=series.org,
        params={
            "series_id": series.pk,
            "kind": kind,
            "customer_identifier": customer_identifier,
            "file_name": file_name,
        },
        started_by=started_by,
    )
    upload = CouponUpload(
        org_id=series.org_id,
        series=series,
        job=job,
        kind=kind,
        customer_identifier=customer_identifier,
        identifier_column=identifier_column,
        code_column=code_column,
        file_name=file_name,
        uploaded_by_till=actor,
    )
    # Streams the file to storage in chunks; the row goes in only if the file is stored.
    upload.file.save(file_name, file, save=False)
    try:
        if kind != CouponUpload.Kind.CODES and series.is_audience_restricted:
            # "Issue to specific customers only": the uploaded customers become an audience.
            upload.audience = CouponAudience.objects.create(
                series=series, name=f"Upload {timezone.now():%Y-%m-%d %H:%M:%S} job #{job.pk}"
            )
        upload.save()
    except Exception:
        upload.file.delete(save=False)
        raise
    return upload


# Reading the file -----------------------------------------------------------------------------
def is_header_row(cells: list[str]) -> bool:
    words = [
        cell.strip().lower().replace(" ", "").replace("_", "").replace("-", "") for cell in cells
    ]
    words = [word for word in words if word]
    return bool(words) and all(word in HEADER_WORDS for word in words)


def coupon_upload_rows(*, upload: CouponUpload) -> Iterator[UploadRow]:
    """The data rows of the file, streamed: (row number in the file, trimmed cells). A header row
    and blank rows are skipped; undecodable bytes become U+FFFD (the row then fails alone)."""
    with upload.file.open("rb") as handle:
        text = codecs.getreader("utf-8-sig")(handle, errors="replace")
        reader = csv.reader(text)
        try:
            for number, cells in enumerate(reader, start=1):
                if number == 1 and is_header_row(cells):
                    continue
                cells = [cell.strip() for cell in cells]
                if not any(cells):
                    continue
                yield number, cells
        except csv.Error as exc:
            raise CouponUploadInvalidError(
                f"Row {reader.line_num} is not valid CSV: {exc}"
            ) from exc


def coupon_upload_row_count(*, upload: CouponUpload) -> int:
    return sum(1 for _row in coupon_upload_rows(upload=upload))


def coupon_upload_batches(
    *, upload: CouponUpload, after: str, size: int
) -> Iterator[tuple[list[UploadRow], str]]:
    """Batches of rows after row number `after`; each batch's cursor is its last row number."""
    done = int(after) if after else 0
    batch: list[UploadRow] = []
    for number, cells in coupon_upload_rows(upload=upload):
        if number <= done:
            continue
        batch.append((number, cells))
        if len(batch) >= size:
            yield batch, str(number)
            batch = []
    if batch:
        yield batch, str(batch[-1][0])


# Processing a batch ---------------------------------------------------------------------------
@dataclass
class _RowContext:
    upload: CouponUpload
    series: CouponSeries
    job: Job


def _cell(cells: list[str], column: int | None, what: str) -> str:
    if column is None or column >= len(cells):
        number = (column or 0) + 1
        raise CouponUploadInvalidError(f"The row has no column {number} ({what})")
    return cells[column]


def _row_data(upload: CouponUpload, cells: list[str]) -> dict[str, str]:
    data = {}
    if upload.kind != CouponUpload.Kind.CODES and upload.identifier_column < len(cells):
        data["customer_identifier"] = cells[upload.identifier_column]
    if upload.code_column is not None and upload.code_column < len(cells):
        data["coupon_code"] = cells[upload.code_column]
    return data


def _row_error(upload: CouponUpload, number: int, cells: list[str], code: Any, message: str):
    data = _row_data(upload, cells)
    return RowError(
        message=message,
        code=str(code),
        row_number=number,
        row_key=data.get("customer_identifier") or data.get("coupon_code", ""),
        row_data=data,
    )


def identifier_normalized(identifier: str, value: str) -> Any:
    if identifier == Identifier.MOBILE:
        return normalize_mobile(value)
    if identifier == Identifier.EMAIL:
        return normalize_email(value)
    if identifier == Identifier.EXTERNAL_ID:
        return normalize_external_id(value)
    if not value.isdigit() or not 0 < int(value) <= MAX_DATABASE_ID:
        raise InvalidExternalIdError("not a user id")
    return int(value)


def _customers_of_batch(
    context: _RowContext, rows: list[UploadRow]
) -> dict[int, Customer | DomainError]:
    """Each row's customer, or the row's error; one query for the batch."""
    upload = context.upload
    identifier = upload.customer_identifier
    not_found = NOT_FOUND_MESSAGES[identifier]
    error_class = (
        InvalidCustomerError if identifier == Identifier.USER_ID else CouponCustomerNotFoundError
    )
    wanted: dict[int, Any] = {}
    resolved: dict[int, Customer | DomainError] = {}
    for number, cells in rows:
        try:
            raw = _cell(cells, upload.identifier_column, "the customer identifier")
        except CouponUploadInvalidError as exc:
            resolved[number] = exc
            continue
        try:
            wanted[number] = identifier_normalized(identifier, raw)
        except (InvalidMobileError, InvalidEmailError, InvalidExternalIdError):
            resolved[number] = error_class(not_found)
    field = CUSTOMER_FIELDS[identifier]
    customers = {
        getattr(customer, field): customer
        for customer in Customer.objects.filter(
            org_id=upload.org_id, **{f"{field}__in": set(wanted.values())}
        ).select_related("org")
    }
    for number, value in wanted.items():
        customer = customers.get(value)
        if customer is None or customer.merged_into_id is not None:
            # A merged-away customer is inactive: the seed's user id message says so.
            resolved[number] = error_class(not_found)
        else:
            resolved[number] = customer
    return resolved


def _issued_in_this_job(context: _RowContext, customer: Customer) -> bool:
    return Coupon.objects.filter(
        series=context.series, customer=customer, issue_job=context.job
    ).exists()


def _rule_message(context: _RowContext, customer: Customer, exc: DomainError) -> str:
    """The seed's wording of the duplicate-customer cases: an earlier row of this file or an
    earlier issual (re-upload) used up what the rule allows."""
    series = context.series
    duplicate = _issued_in_this_job(context, customer)
    if isinstance(exc, CustomerIssualLimitReachedError):
        limit = series.per_customer_limit
        if duplicate:
            return (
                f"Issuance limit exceeded for the duplicate customer: at most {limit} coupon(s) "
                "of this offer per customer"
            )
        return f"The limit of {limit} coupon(s) of this offer per customer has been exhausted"
    if isinstance(exc, IssualGapNotMetError):
        gap = series.min_days_between_issuals
        prefix = "Duplicate customer: " if duplicate else ""
        return (
            f"{prefix}the minimum gap of {gap} day(s) between two issuals to a customer has not "
            f"been met ({exc.message})"
        )
    if isinstance(exc, SeriesIssualLimitReachedError):
        return (
            f"The maximum issuance limit of the offer ({series.max_issuals} coupons) has been "
            "reached"
        )
    if isinstance(exc, CommonCouponAlreadyIssuedError):
        if duplicate:
            return (
                "Only one generic coupon code can be issued to a customer (duplicate customer "
                "in the file)"
            )
        return "Generic coupon code has already been issued to this customer"
    return exc.message


def _process_codes(context: _RowContext, rows: list[UploadRow]) -> BatchOutcome:
    upload = context.upload
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    cells_of: dict[int, list[str]] = {}
    for number, cells in rows:
        cells_of[number] = cells
        try:
            code = validate_given_code(_cell(cells, upload.code_column, "the coupon code"))
        except (CouponCodeInvalidError, CouponUploadInvalidError) as exc:
            errors.append(_row_error(upload, number, cells, exc.code, exc.message))
            continue
        if code in first_row:
            errors.append(
                _row_error(
                    upload,
                    number,
                    cells,
                    CouponCodeExistsError.code,
                    f"Coupon code {code} is repeated in the file (row {first_row[code]})",
                )
            )
            continue
        first_row[code] = number
    result = coupon_codes_add(series=context.series, codes=list(first_row))
    for code in result.duplicates:
        number = first_row[code]
        errors.append(
            _row_error(
                upload,
                number,
                cells_of[number],
                CouponCodeExistsError.code,
                f"Coupon code {code} already exists in the org",
            )
        )
    errors.sort(key=lambda error: error.row_number or 0)
    return BatchOutcome(processed=len(rows), failed=len(errors), row_errors=errors)


def _process_issuals(context: _RowContext, rows: list[UploadRow]) -> BatchOutcome:
    upload, series, job = context.upload, context.series, context.job
    customers = _customers_of_batch(context, rows)
    numbers = [number for number, _cells in rows]
    # Rows a crashed earlier attempt already issued (backstop: batches commit with the cursor).
    done = set(
        Coupon.objects.filter(
            issue_job=job, issue_job_row__gte=numbers[0], issue_job_row__lte=numbers[-1]
        ).values_list("issue_job_row", flat=True)
    )
    if upload.audience_id is not None:
        coupon_audience_add_customers(
            audience=upload.audience,
            customer_ids=[c.pk for c in customers.values() if isinstance(c, Customer)],
        )
    errors: list[RowError] = []
    for number, cells in rows:
        if number in done:
            continue
        customer = customers[number]
        if isinstance(customer, DomainError):
            errors.append(_row_error(upload, number, cells, customer.code, customer.message))
            continue
        try:
            code = None
            if upload.kind == CouponUpload.Kind.CODES_WITH_CUSTOMERS:
                code = _cell(cells, upload.code_column, "the coupon code")
            with transaction.atomic():
                coupon_issue(
                    series=series,
                    customer=customer,
                    actor=upload.uploaded_by_till,
                    code=code,
                    provenance=IssueProvenance(job=job, row=number),
                )
        except DomainError as exc:
            message = _rule_message(context, customer, exc)
            errors.append(_row_error(upload, number, cells, exc.code, message))
    return BatchOutcome(processed=len(rows), failed=len(errors), row_errors=errors)


def coupon_upload_process(*, job: Job, rows: list[UploadRow]) -> BatchOutcome:
    """Process one batch of an upload's rows (inside the job runner's batch transaction)."""
    upload = CouponUpload.objects.select_related("audience").get(job=job)
    series = CouponSeries.objects.select_related("org").get(pk=upload.series_id)
    context = _RowContext(upload=upload, series=series, job=job)
    if upload.kind == CouponUpload.Kind.CODES:
        return _process_codes(context, rows)
    return _process_issuals(context, rows)


def coupon_upload_summary(*, job: Job) -> dict[str, Any]:
    """Extra keys of the finished job's result: coupons issued or codes added."""
    upload = CouponUpload.objects.get(job=job)
    if upload.kind == CouponUpload.Kind.CODES:
        return {"codes_added": job.processed - job.failed}
    return {"coupons_issued": Coupon.objects.filter(issue_job=job).count()}
