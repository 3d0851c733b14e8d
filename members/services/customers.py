"""Customer registration and profile updates (contract §11.1, §11.2).

Identifiers (mobile, email, external id) are unique per org: the database enforces it with
partial unique constraints, and a registration that loses a race maps the IntegrityError back to
the contract's error instead of creating a second customer.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from members.exceptions import (
    CustomerAlreadyExistsError,
    IdentifierTakenError,
    InvalidLoyaltyTypeError,
    InvalidProgramError,
    InvalidRegistrationSourceError,
    LoyaltyDowngradeError,
    NoIdentifierError,
    RegistrationDateError,
)
from members.models import (
    Customer,
    CustomerSourceProfile,
    LoyaltyType,
    Org,
    Program,
    ProgramEnrollment,
    RegistrationSource,
    Tier,
    Till,
)
from members.services.identifiers import (
    normalize_email,
    normalize_external_id,
    normalize_mobile,
)
from members.services.pipeline import SideEffect, run_pipeline

IDENTIFIER_FIELDS = ("mobile", "email", "external_id")
NAME_MAX_LENGTH = 100  # contract §11.1: names are cut at 100 characters, not rejected

COMBINED_WARNING = {
    "status": False,
    "code": 8050,
    "message": "Same Customer found in other sources,Combining",
}
IDENTIFIER_NOT_UPDATED_CODE = 91006
# Tills' clocks drift; a registration stamped a little ahead of ours is still "now".
REGISTRATION_CLOCK_SKEW = datetime.timedelta(minutes=10)


@dataclass(frozen=True)
class EnrollmentRequest:
    """One `loyaltyProgramEnrollments[]` entry: the program and the tier number (1 = lowest)."""

    program_id: int
    tier_number: int | None = None


@dataclass
class CustomerRegistrationResult:
    customer: Customer
    created: bool
    warnings: list[dict[str, Any]] = field(default_factory=list)
    side_effects: list[SideEffect] = field(default_factory=list)


@dataclass
class CustomerUpdateResult:
    customer: Customer
    warnings: list[dict[str, Any]] = field(default_factory=list)
    side_effects: list[SideEffect] = field(default_factory=list)


def warning(code: int, message: str) -> dict[str, Any]:
    """A contract warning item (`{status: false, code, message}`)."""
    return {"status": False, "code": code, "message": message}


def normalize_identifiers(
    *, mobile: str | None = None, email: str | None = None, external_id: str | None = None
) -> dict[str, str]:
    """The given identifiers in stored form; blank ones are dropped.

    Raises InvalidMobileError (1001), InvalidEmailError (1002) or InvalidExternalIdError (1003).
    """
    identifiers: dict[str, str] = {}
    if mobile not in (None, ""):
        identifiers["mobile"] = normalize_mobile(str(mobile))
    if email not in (None, ""):
        identifiers["email"] = normalize_email(str(email))
    if external_id not in (None, "") and str(external_id).strip():
        identifiers["external_id"] = normalize_external_id(str(external_id))
    return identifiers


def registration_source_clean(source: str | None) -> str:
    """The RegistrationSource value of `source` (any case); raises 3217 when unknown."""
    value = (source or "").strip().upper()
    if value not in RegistrationSource.values:
        raise InvalidRegistrationSourceError(
            f"Invalid source {source!r}: use one of {', '.join(RegistrationSource.values)}",
            field="source",
        )
    return value


def loyalty_type_clean(loyalty_type: str | LoyaltyType) -> str:
    value = str(loyalty_type or "").strip().lower()
    if value not in LoyaltyType.values:
        raise InvalidLoyaltyTypeError(
            f"Invalid loyaltyType {loyalty_type!r}: use loyalty or non_loyalty",
            field="loyaltyType",
        )
    return value


def _enrollment_requests(
    enrollments: Iterable[EnrollmentRequest | Mapping[str, Any]] | None,
) -> list[EnrollmentRequest]:
    """Accept EnrollmentRequest objects or contract-style dicts (`programId`, `tierNumber`)."""
    requests: list[EnrollmentRequest] = []
    for item in enrollments or []:
        if isinstance(item, EnrollmentRequest):
            requests.append(item)
            continue
        program_id = item.get("program_id", item.get("programId"))
        tier_number = item.get("tier_number", item.get("tierNumber"))
        try:
            requests.append(
                EnrollmentRequest(
                    program_id=int(program_id),
                    tier_number=int(tier_number) if tier_number not in (None, "") else None,
                )
            )
        except (TypeError, ValueError) as exc:
            raise InvalidProgramError(
                f"Invalid loyaltyProgramEnrollments entry {dict(item)!r}",
                field="loyaltyProgramEnrollments",
            ) from exc
    return requests


def _enrollment_targets(
    *, org: Org, requests: Sequence[EnrollmentRequest], enroll_all_active: bool
) -> list[tuple[Program, Tier | None]]:
    """The (program, tier) pairs to enroll in; raises InvalidProgramError (1213)."""
    if not requests:
        if not enroll_all_active:
            return []
        programs = list(
            Program.objects.filter(org=org, is_active=True).prefetch_related("tiers").order_by("id")
        )
        return [
            (program, min(program.tiers.all(), key=lambda t: t.number, default=None))
            for program in programs
        ]

    program_ids = {request.program_id for request in requests}
    programs = {
        program.id: program
        for program in Program.objects.filter(
            org=org, id__in=program_ids, is_active=True
        ).prefetch_related("tiers")
    }
    targets: list[tuple[Program, Tier | None]] = []
    seen: set[int] = set()
    for request in requests:
        program = programs.get(request.program_id)
        if program is None:
            raise InvalidProgramError(
                f"Invalid programId {request.program_id}: no active program of this org",
                field="loyaltyProgramEnrollments.programId",
            )
        if program.id in seen:
            continue
        seen.add(program.id)
        tiers = sorted(program.tiers.all(), key=lambda t: t.number)
        if request.tier_number is None:
            tier = tiers[0] if tiers else None
        else:
            tier = next((t for t in tiers if t.number == request.tier_number), None)
            if tier is None:
                raise InvalidProgramError(
                    f"Program {program.id} has no tier number {request.tier_number}",
                    field="loyaltyProgramEnrollments.tierNumber",
                )
        targets.append((program, tier))
    return targets


def _enroll(
    *,
    customer: Customer,
    targets: Sequence[tuple[Program, Tier | None]],
    enrolled_at: datetime.datetime,
) -> list[ProgramEnrollment]:
    """Enroll in the programs the customer is not in yet; existing enrolments stay as they are."""
    existing = set(
        ProgramEnrollment.objects.filter(customer=customer).values_list("program_id", flat=True)
    )
    new_rows = [
        ProgramEnrollment(customer=customer, program=program, tier=tier, enrolled_at=enrolled_at)
        for program, tier in targets
        if program.id not in existing
    ]
    if new_rows:
        ProgramEnrollment.objects.bulk_create(new_rows)
    return new_rows


def _customers_holding(
    *, org: Org, identifiers: Mapping[str, str], lock: bool = False
) -> list[Customer]:
    condition = Q()
    for name, value in identifiers.items():
        condition |= Q(**{name: value})
    queryset = Customer.objects.filter(condition, org=org).order_by("id")
    if lock:
        queryset = queryset.select_for_update()
    return list(queryset)


def _identifiers_fill(
    customer: Customer, identifiers: Mapping[str, str], *, conflict_message: Callable[[str], str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Set the identifiers `customer` does not hold yet (their names are returned); one that
    differs from a value it holds is left alone with a 91006 warning."""
    filled: list[str] = []
    warnings: list[dict[str, Any]] = []
    for name, value in identifiers.items():
        current = getattr(customer, name)
        if current is None:
            setattr(customer, name, value)
            filled.append(name)
        elif current != value:
            warnings.append(warning(IDENTIFIER_NOT_UPDATED_CODE, conflict_message(name)))
    return filled, warnings


def _combine_with_existing(
    *, existing: Customer, identifiers: Mapping[str, str], source: str, account_id: str
) -> CustomerRegistrationResult:
    """Attach the new source profile to `existing` (warning 8050) or raise 8006.

    Register never rewrites the existing customer: its identifiers, names and fields stay. An
    identifier of the request that the customer does not hold yet is filled in; one that differs
    from a value it already holds is left alone with a warning.
    """
    profile_exists = CustomerSourceProfile.objects.filter(
        customer=existing, source=source, account_id=account_id
    ).exists()
    if profile_exists:
        raise CustomerAlreadyExistsError(
            f"Customer {existing.pk} is already registered on source {source}"
            + (f" account {account_id}" if account_id else "")
        )
    filled, not_changed = _identifiers_fill(
        existing,
        identifiers,
        conflict_message=lambda name: (
            f"{name} not changed: customer {existing.pk} already has a different {name}"
        ),
    )
    warnings = [dict(COMBINED_WARNING), *not_changed]
    try:
        with transaction.atomic():
            CustomerSourceProfile.objects.create(
                customer=existing, source=source, account_id=account_id
            )
            if filled:
                existing.save(update_fields=[*filled, "updated_at"])
    except IntegrityError as exc:
        # A concurrent registration attached the same source first, or took a filled identifier.
        if CustomerSourceProfile.objects.filter(
            customer=existing, source=source, account_id=account_id
        ).exists():
            raise CustomerAlreadyExistsError(
                f"Customer {existing.pk} is already registered on source {source}"
            ) from exc
        raise IdentifierTakenError() from exc
    return CustomerRegistrationResult(customer=existing, created=False, warnings=warnings)


def _single_holder(*, org: Org, identifiers: Mapping[str, str]) -> Customer | None:
    holders = _customers_holding(org=org, identifiers=identifiers, lock=True)
    if len(holders) > 1:
        # Name the identifier that points away from the first holder, for v1.1's 1016/1032/1033.
        taken = next(
            name for name, value in identifiers.items() if getattr(holders[0], name) != value
        )
        raise IdentifierTakenError(
            f"The identifiers of the request belong to different customers "
            f"({', '.join(str(customer.pk) for customer in holders)}): {taken} is taken",
            field=taken,
        )
    return holders[0] if holders else None


@transaction.atomic
def customer_register(
    *,
    org: Org,
    actor: Till,
    source: str,
    mobile: str | None = None,
    email: str | None = None,
    external_id: str | None = None,
    first_name: str = "",
    last_name: str = "",
    loyalty_type: str = LoyaltyType.LOYALTY,
    account_id: str = "",
    registered_at: datetime.datetime | None = None,
    extended_fields: Mapping[str, Any] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    enrollments: Iterable[EnrollmentRequest | Mapping[str, Any]] | None = None,
    status_label: str | None = None,
    associated_till: Till | None = None,
) -> CustomerRegistrationResult:
    """Register a customer of `org` on `source`, or attach `source` to the customer who holds
    the identifiers already (created=False, warning 8050).

    Raises InvalidMobileError / InvalidEmailError / InvalidExternalIdError (1001-1003),
    NoIdentifierError (1015), InvalidRegistrationSourceError (3217), InvalidProgramError (1213),
    RegistrationDateError (1034, a future date), CustomerAlreadyExistsError (8006, same source
    and account) or IdentifierTakenError (8008, the identifiers belong to different customers).
    """
    identifiers = normalize_identifiers(mobile=mobile, email=email, external_id=external_id)
    if not identifiers:
        raise NoIdentifierError("Give at least one of mobile, email or external id")
    source = registration_source_clean(source)
    account_id = (account_id or "").strip()
    loyalty_type = loyalty_type_clean(loyalty_type)
    targets = _enrollment_targets(
        org=org,
        requests=_enrollment_requests(enrollments),
        enroll_all_active=loyalty_type == LoyaltyType.LOYALTY,
    )

    existing = _single_holder(org=org, identifiers=identifiers)
    if existing is not None:
        return _combine_with_existing(
            existing=existing, identifiers=identifiers, source=source, account_id=account_id
        )

    now = timezone.now()
    if registered_at is not None and registered_at > now + REGISTRATION_CLOCK_SKEW:
        raise RegistrationDateError(
            f"Registration date {registered_at.isoformat()} is in the future", field="createDate"
        )
    registered_till = associated_till or actor
    customer = Customer(
        org=org,
        first_name=(first_name or "").strip()[:NAME_MAX_LENGTH],
        last_name=(last_name or "").strip()[:NAME_MAX_LENGTH],
        loyalty_type=loyalty_type,
        registration_source=source,
        registered_at=registered_at or now,
        registered_till=registered_till,
        registered_store_id=registered_till.store_id,
        updated_by_till=actor,
        status_label=(status_label or "").strip() or "Active",
        extended_fields=dict(extended_fields or {}),
        custom_fields=dict(custom_fields or {}),
        **identifiers,
    )
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        # Lost a race on an identifier: the winner is committed now (the unique index waited for
        # it), so treat the request like any registration of a known identifier.
        existing = _single_holder(org=org, identifiers=identifiers)
        if existing is None:
            raise IdentifierTakenError("Identifier was registered concurrently; retry") from exc
        return _combine_with_existing(
            existing=existing, identifiers=identifiers, source=source, account_id=account_id
        )

    CustomerSourceProfile.objects.create(customer=customer, source=source, account_id=account_id)
    enrolled = _enroll(customer=customer, targets=targets, enrolled_at=customer.registered_at)
    side_effects = run_pipeline(
        "CUSTOMER_REGISTRATION_PIPELINE",
        customer=customer,
        actor=actor,
        context={
            "source": source,
            "account_id": account_id,
            "enrollments": enrolled,
            "registered_at": customer.registered_at,
        },
    )
    return CustomerRegistrationResult(
        customer=customer, created=True, warnings=[], side_effects=list(side_effects)
    )


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    actor: Till,
    first_name: str | None = None,
    last_name: str | None = None,
    mobile: str | None = None,
    email: str | None = None,
    external_id: str | None = None,
    loyalty_type: str | None = None,
    extended_fields: Mapping[str, Any] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    status_label: str | None = None,
    enrollments: Iterable[EnrollmentRequest | Mapping[str, Any]] | None = None,
) -> CustomerUpdateResult:
    """Update a customer's profile; `None` leaves a value as it is.

    Identifiers are never changed here (use changeIdentifier): one the customer lacks is filled
    in, a different value for one it has is ignored with warning 91006. Extended and custom
    fields are merged key by key. Enrolments of programs the customer is already in are ignored.
    Raises LoyaltyDowngradeError (1046), InvalidProgramError (1213), the identifier errors
    (1001-1003) or IdentifierTakenError (8008) when a filled identifier belongs to someone else.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)

    new_loyalty_type = loyalty_type_clean(loyalty_type) if loyalty_type else None
    if new_loyalty_type == LoyaltyType.NON_LOYALTY and customer.loyalty_type == LoyaltyType.LOYALTY:
        raise LoyaltyDowngradeError()
    becomes_loyalty = (
        new_loyalty_type == LoyaltyType.LOYALTY and customer.loyalty_type != LoyaltyType.LOYALTY
    )
    # Enrolment fields of programs the customer is in already are ignored (contract §11.1).
    enrolled_program_ids = set(customer.enrollments.values_list("program_id", flat=True))
    targets = _enrollment_targets(
        org=customer.org,
        requests=[
            request
            for request in _enrollment_requests(enrollments)
            if request.program_id not in enrolled_program_ids
        ],
        enroll_all_active=becomes_loyalty,
    )

    filled, warnings = _identifiers_fill(
        customer,
        normalize_identifiers(mobile=mobile, email=email, external_id=external_id),
        conflict_message=lambda name: (
            f"{name} cannot be changed with an update; use changeIdentifier"
        ),
    )
    changed = set(filled)

    if first_name is not None:
        customer.first_name = first_name.strip()[:NAME_MAX_LENGTH]
        changed.add("first_name")
    if last_name is not None:
        customer.last_name = last_name.strip()[:NAME_MAX_LENGTH]
        changed.add("last_name")
    if becomes_loyalty:
        customer.loyalty_type = LoyaltyType.LOYALTY
        changed.add("loyalty_type")
    if extended_fields:
        customer.extended_fields = {**customer.extended_fields, **extended_fields}
        changed.add("extended_fields")
    if custom_fields:
        customer.custom_fields = {**customer.custom_fields, **custom_fields}
        changed.add("custom_fields")
    if status_label is not None and status_label.strip():
        customer.status_label = status_label.strip()
        changed.add("status_label")

    customer.updated_by_till = actor
    try:
        with transaction.atomic():
            customer.save(update_fields=[*sorted(changed), "updated_by_till", "updated_at"])
    except IntegrityError as exc:
        taken = ", ".join(name for name in IDENTIFIER_FIELDS if name in changed)
        raise IdentifierTakenError(
            f"{taken or 'identifier'} already belongs to another customer of the org"
        ) from exc
    _enroll(customer=customer, targets=targets, enrolled_at=timezone.now())
    return CustomerUpdateResult(customer=customer, warnings=warnings)
