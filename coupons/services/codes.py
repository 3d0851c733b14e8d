"""Coupon codes: the generator, the code space check, and set-based inserts of codes.

Generation draws bulk random bytes and maps them onto the alphabet with one `bytes.translate`
call: bytes at or above the largest multiple of the alphabet size are deleted (rejection
sampling, so every character is equally likely: no modulo bias), the rest become characters.
That runs in C over the whole buffer, several million codes a second in pure Python.

Codes are unique per org (the `coupons_coupon_code_unique_per_org` constraint). Inserts go in
bulk with ON CONFLICT DO NOTHING; what did not land (a collision) is counted and topped up.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from coupons.exceptions import (
    CodeCapacityExceededError,
    CouponCodeExistsError,
    CouponCodeInvalidError,
    CouponSeriesInvalidError,
    RandomizedFixedPartUnavailableError,
)
from coupons.models import CodeType, Coupon, CouponSeries
from loyalty_site.core.models import Job
from members.models import Till

# No look-alike characters: 0/O, 1/I/L are left out of alphanumeric codes (31 characters).
ALPHANUMERIC_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
NUMERIC_ALPHABET = "0123456789"
# Generation stays below this share of the code space, so that random draws rarely collide and
# top-ups converge quickly. Past half full, each new code needs two or more draws on average.
CODE_SPACE_MARGIN = 0.5
MIN_CODE_LENGTH = 4
MAX_CODE_LENGTH = 20
CODE_MAX_LENGTH = 64  # Coupon.code
INSERT_BATCH_SIZE = 5000
MAX_TOP_UP_ROUNDS = 20
# Given (uploaded or common) codes: letters, digits and a few separators.
GIVEN_CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]*$")
RANDOMIZED_SAMPLE_MIN = 5
RANDOMIZED_SAMPLE_MAX = 10
# What the product note claims for randomized common codes of 10 alphanumeric characters.
SEED_CLAIMED_RANDOMIZED_CAPACITY = 60_000_000


def _translation(alphabet: str) -> tuple[bytes, bytes, int]:
    """(table, bytes to delete, accepted byte count) mapping random bytes onto `alphabet`."""
    size = len(alphabet)
    if not 2 <= size <= 256:
        raise ValueError("The alphabet needs 2 to 256 characters")
    accepted = 256 - 256 % size  # a multiple of size: each character gets accepted/size bytes
    table = bytes(ord(alphabet[value % size]) if value < accepted else 0 for value in range(256))
    return table, bytes(range(accepted, 256)), accepted


_TRANSLATIONS = {
    alphabet: _translation(alphabet) for alphabet in (ALPHANUMERIC_ALPHABET, NUMERIC_ALPHABET)
}


def random_strings(*, alphabet: str, length: int, count: int) -> list[str]:
    """`count` random strings of `length` characters of `alphabet` (uniform, not unique)."""
    if length < 1 or count < 0:
        raise ValueError("length must be positive and count non-negative")
    table, delete, accepted = _TRANSLATIONS.get(alphabet) or _translation(alphabet)
    needed = length * count
    buffer = bytearray()
    while len(buffer) < needed:
        missing = needed - len(buffer)
        # Expected yield is accepted/256 per byte; a little slack avoids a second round.
        draw = secrets.token_bytes(missing * 256 // accepted + 64)
        buffer += draw.translate(table, delete)
    text = buffer[:needed].decode("ascii")
    return [text[start : start + length] for start in range(0, needed, length)]


# Code shapes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CodeShape:
    """What generated codes of a series look like: prefix + random part + suffix."""

    alphabet: str
    random_length: int
    prefix: str = ""
    suffix: str = ""

    @property
    def capacity(self) -> int:
        """How many distinct codes the shape has."""
        return len(self.alphabet) ** self.random_length

    @property
    def usable(self) -> int:
        """How many of them may be generated (the margin keeps collisions rare)."""
        return int(self.capacity * CODE_SPACE_MARGIN)

    @property
    def length(self) -> int:
        return len(self.prefix) + self.random_length + len(self.suffix)

    def generate(self, count: int) -> list[str]:
        strings = random_strings(alphabet=self.alphabet, length=self.random_length, count=count)
        if not (self.prefix or self.suffix):
            return strings
        prefix, suffix = self.prefix, self.suffix
        return [f"{prefix}{value}{suffix}" for value in strings]

    def describe(self) -> str:
        kind = "alphanumeric" if self.alphabet == ALPHANUMERIC_ALPHABET else "numeric"
        return (
            f"{len(self.alphabet)}^{self.random_length} = {self.capacity:,} possible codes "
            f"({self.random_length} random {kind} characters); up to {self.usable:,} can be "
            f"generated ({int(CODE_SPACE_MARGIN * 100)}% margin)"
        )


def alphabet_for(*, is_alphanumeric: bool) -> str:
    return ALPHANUMERIC_ALPHABET if is_alphanumeric else NUMERIC_ALPHABET


def code_shape_for(series: CouponSeries) -> CodeShape | None:
    """The generated-code shape of an auto or randomized series; None for other code types."""
    alphabet = alphabet_for(is_alphanumeric=series.is_alphanumeric)
    if series.code_type == CodeType.UNIQUE:
        return CodeShape(
            alphabet=alphabet,
            random_length=series.code_length,
            prefix=series.code_prefix if series.is_prefix_enabled else "",
            suffix=series.code_suffix if series.is_suffix_enabled else "",
        )
    if series.code_type == CodeType.RANDOMIZED_COMMON:
        sample_length = len(series.random_code_sample)
        return CodeShape(
            alphabet=alphabet,
            random_length=sample_length - len(series.random_fixed_part),
            prefix=series.random_fixed_part,
        )
    return None


def randomized_capacity_note(*, sample_length: int = 10, is_alphanumeric: bool = True) -> str:
    """The real capacity of randomized common codes next to the product note's claim."""
    random_length = sample_length - sample_length // 2
    shape = CodeShape(alphabet_for(is_alphanumeric=is_alphanumeric), random_length)
    full = 36 if is_alphanumeric else 10
    return (
        f"A {sample_length}-character sample keeps {sample_length // 2} characters fixed and "
        f"draws {random_length}: {shape.describe()}. The product note's "
        f"'{SEED_CLAIMED_RANDOMIZED_CAPACITY // 1_000_000} million with 10 alphanumeric "
        f"characters' is {full}^{random_length} = {full**random_length:,}, which counts the "
        "look-alike characters 0/O and 1/I/L and leaves no margin for collisions."
    )


def normalize_code(code: str) -> str:
    """The stored form of a given code: trimmed and upper case (lookups ignore case)."""
    return code.strip().upper()


def validate_given_code(code: str) -> str:
    """A normalized given code. Raises CouponCodeInvalidError (702)."""
    normalized = normalize_code(code) if isinstance(code, str) else ""
    if not normalized or len(normalized) > CODE_MAX_LENGTH:
        raise CouponCodeInvalidError(f"A coupon code has 1 to {CODE_MAX_LENGTH} characters")
    if not GIVEN_CODE_PATTERN.match(normalized):
        raise CouponCodeInvalidError(
            f"Coupon code {normalized!r} may only contain letters, digits, '-' and '_'"
        )
    return normalized


def _shape_codes_in_use(series: CouponSeries, shape: CodeShape) -> int:
    """Codes already drawn from the same space in the org (series with the same shape)."""
    same_shape = CouponSeries.objects.filter(
        org_id=series.org_id,
        code_type=series.code_type,
        is_alphanumeric=series.is_alphanumeric,
    )
    if series.code_type == CodeType.RANDOMIZED_COMMON:
        same_shape = same_shape.filter(pk=series.pk)
    else:
        same_shape = same_shape.filter(code_length=series.code_length)
    total = 0
    for other in same_shape.only(
        "id",
        "code_type",
        "is_alphanumeric",
        "code_length",
        "code_prefix",
        "is_prefix_enabled",
        "code_suffix",
        "is_suffix_enabled",
        "num_codes",
        "random_code_sample",
        "random_fixed_part",
    ):
        if code_shape_for(other) == shape:
            total += other.num_codes
    return total


def coupon_code_capacity_check(*, series: CouponSeries, additional: int) -> CodeShape:
    """The series' code shape, if `additional` more codes fit its usable space.

    Raises CouponSeriesInvalidError (799) for a series without generated codes and
    CodeCapacityExceededError (798) with the numbers when the request does not fit.
    """
    shape = code_shape_for(series)
    if shape is None:
        raise CouponSeriesInvalidError(
            "Only series with automatically created or randomized codes generate codes",
            field="code_type",
        )
    in_use = _shape_codes_in_use(series, shape)
    if in_use + additional > shape.usable:
        left = max(shape.usable - in_use, 0)
        raise CodeCapacityExceededError(
            f"Cannot generate {additional:,} codes: {shape.describe()}, {in_use:,} are already "
            f"used, so at most {left:,} more. Use longer or alphanumeric codes."
        )
    return shape


# Inserts ----------------------------------------------------------------------------------
def _common_codes(org_id: int) -> set[str]:
    return set(
        CouponSeries.objects.filter(org_id=org_id)
        .exclude(generic_code="")
        .values_list("generic_code", flat=True)
    )


def org_common_codes(*, org_id: int) -> set[str]:
    """The common codes of the org's offers (generated codes must not take one)."""
    return _common_codes(org_id)


def _insert_unissued(*, series: CouponSeries, codes: Iterable[str], source: str) -> int:
    """Insert unissued codes, skipping any the org already has; returns how many landed."""
    rows = [Coupon(org_id=series.org_id, series=series, code=code, source=source) for code in codes]
    if not rows:
        return 0
    # The series row is locked by the caller, so no other insert into this series runs now and
    # the rows above the last id are exactly the ones this call landed.
    last_id = (
        Coupon.objects.filter(series=series).order_by("-id").values_list("id", flat=True).first()
    )
    Coupon.objects.bulk_create(rows, batch_size=INSERT_BATCH_SIZE, ignore_conflicts=True)
    landed = Coupon.objects.filter(series=series)
    if last_id is not None:
        landed = landed.filter(id__gt=last_id)
    return landed.count()


def _series_lock(series: CouponSeries) -> CouponSeries:
    return CouponSeries.objects.select_for_update().select_related("org").get(pk=series.pk)


@transaction.atomic
def coupon_codes_generate(*, series: CouponSeries, count: int, actor: Till | None = None) -> int:
    """Generate `count` new unissued codes for an auto or randomized series; returns `count`.

    Checks the code space first (with margin). Collisions with existing codes of the org are
    dropped by the database and topped up. Raises CouponSeriesInvalidError (799) and
    CodeCapacityExceededError (798).
    """
    if count < 1:
        raise CouponSeriesInvalidError("Generate at least one code", field="count")
    series = _series_lock(series)
    shape = coupon_code_capacity_check(series=series, additional=count)
    reserved = _common_codes(series.org_id)
    landed = 0
    for _round in range(MAX_TOP_UP_ROUNDS):
        missing = count - landed
        if missing <= 0:
            break
        candidates = set(shape.generate(missing)) - reserved
        landed += _insert_unissued(series=series, codes=candidates, source=Coupon.Source.GENERATED)
    if landed < count:
        raise CodeCapacityExceededError(
            f"Only {landed:,} of {count:,} codes could be placed: the code space is too crowded"
        )
    CouponSeries.objects.filter(pk=series.pk).update(
        num_codes=F("num_codes") + landed, updated_at=timezone.now()
    )
    return landed


@dataclass
class CodesAddResult:
    """Outcome of adding given codes: how many landed and which were refused, with why."""

    added: int = 0
    duplicates: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)


@transaction.atomic
def coupon_codes_add(
    *, series: CouponSeries, codes: Sequence[str], actor: Till | None = None
) -> CodesAddResult:
    """Add given (uploaded) codes to an upload series as unissued codes, set-based.

    A code that is malformed lands in `invalid`; one repeated in `codes`, already in the org,
    or equal to a common code lands in `duplicates`; nothing else fails. Raises
    CouponSeriesInvalidError (799) when the series does not take uploaded codes.
    """
    series = _series_lock(series)
    if series.code_type != CodeType.UPLOADED:
        raise CouponSeriesInvalidError(
            "Codes can only be uploaded to a series whose codes are uploaded", field="code_type"
        )
    result = CodesAddResult()
    wanted: dict[str, None] = {}
    for raw in codes:
        try:
            code = validate_given_code(raw)
        except CouponCodeInvalidError as exc:
            result.invalid.append((str(raw), exc.message))
            continue
        if code in wanted:
            result.duplicates.append(code)
        else:
            wanted[code] = None
    reserved = _common_codes(series.org_id)
    existing: set[str] = set(reserved & wanted.keys())
    candidates = list(wanted)
    for start in range(0, len(candidates), INSERT_BATCH_SIZE):
        chunk = candidates[start : start + INSERT_BATCH_SIZE]
        existing.update(
            Coupon.objects.filter(
                org_id=series.org_id, is_common=False, code__in=chunk, revoked_at__isnull=True
            ).values_list("code", flat=True)
        )
    fresh = [code for code in candidates if code not in existing]
    landed = _insert_unissued(series=series, codes=fresh, source=Coupon.Source.UPLOADED)
    if landed != len(fresh):
        # A concurrent insert took some codes between the check and the insert: find them.
        mine = set()
        for start in range(0, len(fresh), INSERT_BATCH_SIZE):
            chunk = fresh[start : start + INSERT_BATCH_SIZE]
            mine.update(
                Coupon.objects.filter(
                    series=series, customer__isnull=True, code__in=chunk
                ).values_list("code", flat=True)
            )
        existing.update(code for code in fresh if code not in mine)
    result.duplicates.extend(code for code in candidates if code in existing)
    result.added = landed
    CouponSeries.objects.filter(pk=series.pk).update(
        num_codes=F("num_codes") + landed,
        num_uploaded_total=F("num_uploaded_total") + landed,
        num_uploaded_non_issued=F("num_uploaded_non_issued") + landed,
        updated_at=timezone.now(),
    )
    return result


def code_in_use(*, org_id: int, code: str) -> bool:
    """True when `code` is a coupon code or a common code of the org."""
    return (
        Coupon.objects.filter(
            org_id=org_id, is_common=False, code=code, revoked_at__isnull=True
        ).exists()
        or CouponSeries.objects.filter(org_id=org_id, generic_code=code).exists()
    )


def coupon_code_insert_issued(
    *, series: CouponSeries, shape: CodeShape, values: dict[str, object], attempts: int = 10
) -> Coupon:
    """Insert one freshly generated code, already issued (`values`), retrying on collision.

    Raises CodeCapacityExceededError (798) after `attempts` collisions in a row.
    """
    reserved = _common_codes(series.org_id)
    for _attempt in range(attempts):
        (code,) = shape.generate(1)
        if code in reserved:
            continue
        try:
            with transaction.atomic():
                return Coupon.objects.create(
                    org_id=series.org_id,
                    series=series,
                    code=code,
                    source=Coupon.Source.GENERATED,
                    **values,
                )
        except IntegrityError:
            if not Coupon.objects.filter(org_id=series.org_id, code=code).exists():
                raise
    raise CodeCapacityExceededError(
        f"No free code found after {attempts} draws: {shape.describe()}"
    )


def coupon_code_insert_given(
    *, series: CouponSeries, code: str, source: str, values: dict[str, object]
) -> Coupon:
    """Insert one given code (uploaded with its customer). Raises CouponCodeExistsError (796)."""
    exists = CouponCodeExistsError(f"Coupon code {code} already exists in the org")
    if code_in_use(org_id=series.org_id, code=code):
        raise exists
    try:
        with transaction.atomic():
            return Coupon.objects.create(
                org_id=series.org_id, series=series, code=code, source=source, **values
            )
    except IntegrityError:
        if Coupon.objects.filter(org_id=series.org_id, code=code).exists():
            raise exists
        raise


# Randomized common codes ------------------------------------------------------------------
def randomized_sample_clean(sample: str) -> tuple[str, bool]:
    """(normalized sample, is_alphanumeric). Raises CouponSeriesInvalidError (799)."""
    value = normalize_code(sample or "")
    if not RANDOMIZED_SAMPLE_MIN <= len(value) <= RANDOMIZED_SAMPLE_MAX:
        raise CouponSeriesInvalidError(
            f"The sample code needs {RANDOMIZED_SAMPLE_MIN} to {RANDOMIZED_SAMPLE_MAX} characters",
            field="random_code_sample",
        )
    if not value.isascii() or not value.isalnum():
        raise CouponSeriesInvalidError(
            "The sample code may only contain letters and digits", field="random_code_sample"
        )
    return value, not value.isdigit()


def randomized_fixed_part_choose(*, org_id: int, sample: str, is_alphanumeric: bool) -> str:
    """A fixed part (the first half of the codes) not used by another series of the org.

    The sample's own first half is preferred; otherwise one is drawn at random. Raises
    RandomizedFixedPartUnavailableError (797) when none is free.
    """
    length = len(sample) // 2
    taken = set(
        CouponSeries.objects.filter(org_id=org_id)
        .exclude(random_fixed_part="")
        .values_list("random_fixed_part", flat=True)
    )
    alphabet = alphabet_for(is_alphanumeric=is_alphanumeric)
    if sample[:length] not in taken:
        return sample[:length]
    space = len(alphabet) ** length
    if len([part for part in taken if len(part) == length]) >= space:
        raise RandomizedFixedPartUnavailableError()
    for candidate in random_strings(alphabet=alphabet, length=length, count=64):
        if candidate not in taken:
            return candidate
    # Nearly every part is taken: walk the space in order instead of guessing.
    for index in range(space):
        digits = []
        for _position in range(length):
            index, remainder = divmod(index, len(alphabet))
            digits.append(alphabet[remainder])
        candidate = "".join(reversed(digits))
        if candidate not in taken:
            return candidate
    raise RandomizedFixedPartUnavailableError()


def series_codes_summary(*, series: CouponSeries) -> dict[str, int]:
    """Code counts of a series: total, issued, unissued."""
    unissued = Coupon.objects.filter(
        series=series, customer__isnull=True, revoked_at__isnull=True
    ).count()
    return {"total": series.num_codes, "issued": series.num_issued, "unissued": unissued}


def coupon_codes_generate_start(*, series: CouponSeries, count: int, started_by: Any = None) -> Job:
    """Check that `count` codes fit the offer's code space, then start a job generating them
    in batches (see coupons.jobs). Raises CouponSeriesInvalidError (799) and
    CodeCapacityExceededError (798) before any job exists."""
    from coupons.jobs import CODE_GENERATION_KIND
    from loyalty_site.core.jobs import job_create

    if count < 1:
        raise CouponSeriesInvalidError("Generate at least one code", field="count")
    coupon_code_capacity_check(series=series, additional=count)
    return job_create(
        kind=CODE_GENERATION_KIND,
        org=series.org,
        params={"series_id": series.pk, "count": count},
        started_by=started_by,
    )
