"""Ledger reads for the APIs, member care and jobs. Balances come from stored rows (the account's
cached balance, each entry's closing balance), never from summing entries on the request path."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from ledger.exceptions import (
    InsufficientPointsError,
    InvalidPointsError,
    InvalidProgramIdError,
    LedgerInvalidCategoryError,
    LedgerInvalidEntryTypeError,
    LedgerInvalidProgramError,
    LedgerLegacyLimitExceededError,
    LedgerLimitExceededError,
    LedgerStartAfterEndError,
    LedgerTooManyTillFiltersError,
    LedgerUnsupportedParamsError,
    NotEnrolledError,
)
from ledger.models import (
    CATEGORY_API_NAMES,
    EntryType,
    EventName,
    LedgerEntry,
    LedgerEvent,
    LotConsumption,
    PointsAccount,
    PointsLot,
    PointsRedemption,
)
from loyalty_site.api.pagination import Page, paginate_by_page_number
from loyalty_site.core.compiled import CompiledQuery, marker_int
from loyalty_site.core.exceptions import DomainError
from members.exceptions import CustomerMergedError
from members.models import (
    Customer,
    Org,
    PointsCategory,
    Program,
    ProgramEnrollment,
    UserGroup,
)

ZERO = Decimal(0)
LEGACY_MAX_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def _owner(customer: Customer | None, user_group: UserGroup | None) -> Customer | UserGroup:
    if (customer is None) == (user_group is None):
        raise LedgerUnsupportedParamsError("Give exactly one of customer or user group")
    return customer if customer is not None else user_group


def _owner_filter(owner: Customer | UserGroup, prefix: str = "") -> dict:
    name = "customer" if isinstance(owner, Customer) else "user_group"
    return {f"{prefix}{name}": owner}


# Event listing ------------------------------------------------------------------------------
def _clean_list(values: Iterable[str] | None, allowed: Sequence[str], error) -> list[str]:
    cleaned = [str(value).strip().upper() for value in values or () if str(value).strip()]
    bad = [value for value in cleaned if value not in allowed]
    if bad:
        raise error(f"{error.message}: {', '.join(bad)}")
    return cleaned


def _check_program(owner: Customer | UserGroup, program_id: int | None) -> None:
    if program_id is None:
        return
    if not Program.objects.filter(pk=program_id, org_id=owner.org_id).exists():
        raise LedgerInvalidProgramError(f"Invalid program id {program_id}")


def _entry_conditions(
    *, program_id: int | None, categories: list[str], entry_types: list[str]
) -> Q:
    condition = Q()
    if program_id is not None:
        condition &= Q(account__program_id=program_id)
    if categories:
        condition &= Q(account__category__in=categories)
    if entry_types:
        condition &= Q(entry_type__in=entry_types)
    return condition


def _ledger_events_view(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program_id: int | None = None,
    include_till_concept_events: bool = False,
    categories: Iterable[str] | None = None,
    entry_types: Iterable[str] | None = None,
    till_ids: Iterable[int] | None = None,
    store_ids: Iterable[int] | None = None,
    sources: Iterable[str] | None = None,
    event_names: Iterable[str] | None = None,
    exclude_event_names: Iterable[str] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    sort: str = "DESC",
    page_number: int = 0,
    page_size: int = 10,
    max_page_size: int = MAX_PAGE_SIZE,
) -> tuple[QuerySet[LedgerEvent], Q, Customer | UserGroup, str]:
    """The events of the owner's ledger view the filters describe (unordered), the filter of
    the entries it shows, the owner and the sort. Raises the errors of ledger_events_list."""
    owner = _owner(customer, user_group)
    if not 1 <= page_size <= max_page_size:
        error = (
            LedgerLegacyLimitExceededError
            if max_page_size <= LEGACY_MAX_PAGE_SIZE
            else LedgerLimitExceededError
        )
        raise error(f"limit must be between 1 and {max_page_size}")
    if page_number < 0:
        raise LedgerUnsupportedParamsError("offset (page number) must be 0 or more")
    sort = (sort or "DESC").upper()
    if sort not in ("ASC", "DESC"):
        raise LedgerUnsupportedParamsError("sort must be ASC or DESC")
    if include_till_concept_events and program_id is None:
        raise LedgerUnsupportedParamsError("includeTillConceptEvents needs programId")
    till_ids = list(till_ids or [])
    store_ids = list(store_ids or [])
    if till_ids and store_ids:
        raise LedgerTooManyTillFiltersError()
    if start is not None and end is not None and start > end:
        raise LedgerStartAfterEndError()
    _check_program(owner, program_id)
    categories = _clean_list(categories, PointsCategory.values, LedgerInvalidCategoryError)
    entry_types = _clean_list(entry_types, EntryType.values, LedgerInvalidEntryTypeError)

    events = LedgerEvent.objects.filter(**_owner_filter(owner))
    if start is not None:
        events = events.filter(created_at__gte=start)
    if end is not None:
        events = events.filter(created_at__lte=end)
    if till_ids:
        events = events.filter(till_id__in=till_ids)
    if store_ids:
        events = events.filter(store_id__in=store_ids)
    sources = _source_filter(sources)
    if sources:
        events = events.filter(source__in=sources)
    if event_names:
        events = events.filter(event_name__in=list(event_names))
    if exclude_event_names:
        events = events.exclude(event_name__in=list(exclude_event_names))

    entry_filter = _entry_conditions(
        program_id=program_id, categories=categories, entry_types=entry_types
    )
    shown_entries = entry_filter
    if program_id is not None or categories or entry_types:
        matching = Exists(LedgerEntry.objects.filter(entry_filter, event=OuterRef("pk")))
        if include_till_concept_events:
            concept_filter = _entry_conditions(
                program_id=None, categories=categories, entry_types=entry_types
            )
            concept = Q(source_program_id=program_id) & Exists(
                LedgerEntry.objects.filter(concept_filter, event=OuterRef("pk"))
            )
            events = events.filter(Q(matching) | concept)
            shown_entries = concept_filter
        else:
            events = events.filter(matching)
    return events, shown_entries, owner, sort


def ledger_events_list(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program_id: int | None = None,
    include_till_concept_events: bool = False,
    categories: Iterable[str] | None = None,
    entry_types: Iterable[str] | None = None,
    till_ids: Iterable[int] | None = None,
    store_ids: Iterable[int] | None = None,
    sources: Iterable[str] | None = None,
    event_names: Iterable[str] | None = None,
    exclude_event_names: Iterable[str] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    sort: str = "DESC",
    page_number: int = 0,
    page_size: int = 10,
    max_page_size: int = MAX_PAGE_SIZE,
) -> Page[LedgerEvent]:
    """One page (0-based page number) of the owner's ledger events, newest first (sort DESC) or
    oldest first (ASC) by ledger time. Each event carries `ledger_entries` (the entries matching
    the program / category / entry-type filters, with account and program loaded).

    `program_id` keeps events with an entry in that program; with include_till_concept_events
    also events raised for that program (sourceProgramId, e.g. group redemptions at its tills).
    `start`/`end` bound the ledger time, inclusive. Raises LedgerLimitExceededError (11029, or
    11006 when max_page_size is 10), LedgerInvalidProgramError (11005), LedgerInvalidEntryTypeError
    (11007), LedgerInvalidCategoryError (11008), LedgerStartAfterEndError (11009),
    LedgerTooManyTillFiltersError (11028), LedgerUnsupportedParamsError (11001).
    """
    events, shown_entries, owner, sort = _ledger_events_view(
        customer=customer,
        user_group=user_group,
        program_id=program_id,
        include_till_concept_events=include_till_concept_events,
        categories=categories,
        entry_types=entry_types,
        till_ids=till_ids,
        store_ids=store_ids,
        sources=sources,
        event_names=event_names,
        exclude_event_names=exclude_event_names,
        start=start,
        end=end,
        sort=sort,
        page_number=page_number,
        page_size=page_size,
        max_page_size=max_page_size,
    )
    filtered = (
        program_id is not None
        or include_till_concept_events
        or categories
        or entry_types
        or till_ids
        or store_ids
        or _source_filter(sources)
        or event_names
        or exclude_event_names
        or start is not None
        or end is not None
    )
    if not filtered:
        page = _whole_ledger_page(owner, sort=sort, page_number=page_number, page_size=page_size)
    else:
        events = _page_related(events).order_by(*_page_order(sort))
        page = paginate_by_page_number(events, page_number=page_number, page_size=page_size)
        _events_entries_attach(page.items, entry_filter=shown_entries)
    _events_related_attach(page.items, owner=owner)
    return page


def _source_filter(sources: Iterable[str] | None) -> list[str]:
    cleaned = [value.strip().upper() for value in sources or () if value.strip()]
    return [] if "ALL" in cleaned else cleaned


def _page_order(sort: str) -> tuple[str, str]:
    return ("created_at", "id") if sort == "ASC" else ("-created_at", "-id")


def _page_related(events: QuerySet[LedgerEvent]) -> QuerySet[LedgerEvent]:
    # Few joins per statement: PostgreSQL plans a seven-table join in about 3 ms, several times
    # what reading the page costs. The member who triggered an event (group ledgers only) is
    # read apart, when the page has some; the owner is known.
    return events.select_related("till", "store", "source_program", "transaction")


def _owner_events(kind: str, owner_id: int) -> QuerySet[LedgerEvent]:
    return LedgerEvent.objects.filter(**{f"{kind}_id": owner_id})


def _page_slice(shape: tuple) -> slice:
    _kind, _sort, page_number, page_size = shape
    return slice(page_number * page_size, (page_number + 1) * page_size)


# The whole ledger of one owner (no filter), the page every till and app asks for first: its
# three statements are compiled once per shape (owner kind, sort, page) instead of per call.
# shape = (owner kind, sort, page number, page size).
_WHOLE_PAGE_EVENTS: CompiledQuery[LedgerEvent] = CompiledQuery(
    lambda shape, owner_id: _page_related(_owner_events(shape[0], owner_id)).order_by(
        *_page_order(shape[1])
    )[_page_slice(shape)],
    owner_id=marker_int(),
)
_WHOLE_PAGE_ENTRIES: CompiledQuery[LedgerEntry] = CompiledQuery(
    lambda shape, owner_id: (
        LedgerEntry.objects.filter(
            event_id__in=_owner_events(shape[0], owner_id)
            .order_by(*_page_order(shape[1]))
            .values("id")[_page_slice(shape)]
        )
        .select_related("account__program")
        .order_by("account__program_id", "account__category", "id")
    ),
    owner_id=marker_int(),
)
# shape = owner kind; one row (the count) or none when the ledger has no event.
_WHOLE_LEDGER_COUNT: CompiledQuery = CompiledQuery(
    lambda kind, owner_id: (
        _owner_events(kind, owner_id)
        .order_by()
        .values(f"{kind}_id")
        .annotate(events=Count("id"))
        .values_list("events")
    ),
    owner_id=marker_int(),
)


def _whole_ledger_page(
    owner: Customer | UserGroup, *, sort: str, page_number: int, page_size: int
) -> Page[LedgerEvent]:
    kind = "customer" if isinstance(owner, Customer) else "user_group"
    counted = _WHOLE_LEDGER_COUNT.fetch(shape=kind, owner_id=owner.pk)
    total = counted[0][0] if counted else 0
    shape = (kind, sort, page_number, page_size)
    events = _WHOLE_PAGE_EVENTS.fetch(shape=shape, owner_id=owner.pk) if total else []
    if events:
        by_event: dict[int, list[LedgerEntry]] = {event.pk: [] for event in events}
        for entry in _WHOLE_PAGE_ENTRIES.fetch(shape=shape, owner_id=owner.pk):
            by_event[entry.event_id].append(entry)
        for event in events:
            event.ledger_entries = by_event[event.pk]
    return Page(events, page_number, page_size, total)


def ledger_events_count(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program_id: int | None = None,
    include_till_concept_events: bool = False,
    categories: Iterable[str] | None = None,
    entry_types: Iterable[str] | None = None,
    till_ids: Iterable[int] | None = None,
    store_ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    page_number: int = 0,
    page_size: int = 10,
    max_page_size: int = MAX_PAGE_SIZE,
) -> int:
    """How many events the ledger view of ledger_events_list holds (its totalEntries), without
    reading a page. Raises the errors of ledger_events_list."""
    events, _, _, _ = _ledger_events_view(
        customer=customer,
        user_group=user_group,
        program_id=program_id,
        include_till_concept_events=include_till_concept_events,
        categories=categories,
        entry_types=entry_types,
        till_ids=till_ids,
        store_ids=store_ids,
        start=start,
        end=end,
        page_number=page_number,
        page_size=page_size,
        max_page_size=max_page_size,
    )
    return events.count()


def _events_entries_attach(events: Sequence[LedgerEvent], *, entry_filter: Q) -> None:
    """Set `ledger_entries` on each event: its entries matching `entry_filter`, with account
    and program, by program, category and id."""
    if not events:
        return
    by_event: dict[int, list[LedgerEntry]] = {event.pk: [] for event in events}
    entries = (
        LedgerEntry.objects.filter(entry_filter, event_id__in=list(by_event))
        .select_related("account__program")
        .order_by("account__program_id", "account__category", "id")
    )
    for entry in entries:
        by_event[entry.event_id].append(entry)
    for event in events:
        event.ledger_entries = by_event[event.pk]


def _events_related_attach(events: Sequence[LedgerEvent], *, owner: Customer | UserGroup) -> None:
    """Set the owner and the members who triggered the events (one query, when some event has
    one), so that reading them costs no query per event."""
    ids = {event.triggered_by_id for event in events} - {None}
    members = Customer.objects.in_bulk(ids) if ids else {}
    for event in events:
        event.triggered_by = members.get(event.triggered_by_id)
        if isinstance(owner, Customer):
            event.customer = owner


# Balances ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClosingBalance:
    program_id: int
    program_name: str
    category: str
    closing_balance: Decimal

    @property
    def category_api_name(self) -> str:
        return CATEGORY_API_NAMES[self.category]


def ledger_closing_balances(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program_id: int | None = None,
    categories: Iterable[str] | None = None,
    entry_types: Iterable[str] | None = None,
    till_ids: Iterable[int] | None = None,
    store_ids: Iterable[int] | None = None,
    end: datetime.datetime | None = None,
) -> list[ClosingBalance]:
    """Closing balance per program and category of the ledger view the filters describe: the
    closing balance stored on the view's last entry per account (as of `end`), or the cached
    balance when no entry filter is given. Accounts with no entry in the view are left out.
    Raises the errors of ledger_events_list for bad filters."""
    owner = _owner(customer, user_group)
    _check_program(owner, program_id)
    categories = _clean_list(categories, PointsCategory.values, LedgerInvalidCategoryError)
    entry_types = _clean_list(entry_types, EntryType.values, LedgerInvalidEntryTypeError)
    till_ids = list(till_ids or [])
    store_ids = list(store_ids or [])
    if till_ids and store_ids:
        raise LedgerTooManyTillFiltersError()

    accounts = PointsAccount.objects.filter(**_owner_filter(owner)).select_related("program")
    if program_id is not None:
        accounts = accounts.filter(program_id=program_id)
    if categories:
        accounts = accounts.filter(category__in=categories)
    entry_filter = Q()
    if entry_types:
        entry_filter &= Q(entry_type__in=entry_types)
    if till_ids:
        entry_filter &= Q(event__till_id__in=till_ids)
    if store_ids:
        entry_filter &= Q(event__store_id__in=store_ids)
    if end is not None:
        entry_filter &= Q(created_at__lte=end)
    if entry_filter:
        last_closing = (
            LedgerEntry.objects.filter(entry_filter, account=OuterRef("pk"))
            .order_by("-sequence")
            .values("closing_balance")[:1]
        )
        accounts = accounts.annotate(view_balance=Subquery(last_closing)).filter(
            view_balance__isnull=False
        )
    else:
        accounts = accounts.annotate(view_balance=F("balance"))
    return [
        ClosingBalance(
            program_id=account.program_id,
            program_name=account.program.name,
            category=account.category,
            closing_balance=account.view_balance,
        )
        for account in accounts.order_by("program_id", "category")
    ]


def points_accounts_list(
    *, customer: Customer | None = None, user_group: UserGroup | None = None
) -> QuerySet[PointsAccount]:
    owner = _owner(customer, user_group)
    return (
        PointsAccount.objects.filter(**_owner_filter(owner))
        .select_related("program")
        .order_by("program_id", "category")
    )


def points_balance_get(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program: Program,
    category: str = PointsCategory.REGULAR,
) -> Decimal:
    """The cached balance of one account (zero when it was never opened)."""
    owner = _owner(customer, user_group)
    balance = (
        PointsAccount.objects.filter(**_owner_filter(owner), program=program, category=category)
        .values_list("balance", flat=True)
        .first()
    )
    return balance if balance is not None else ZERO


def points_available_get(
    *, customer: Customer | None = None, user_group: UserGroup | None = None, program: Program
) -> Decimal:
    """Redeemable REGULAR points: the balance less lots past their expiry that the expiry job
    has not taken yet."""
    owner = _owner(customer, user_group)
    account = PointsAccount.objects.filter(
        **_owner_filter(owner), program=program, category=PointsCategory.REGULAR
    ).first()
    if account is None or account.balance <= 0:
        return ZERO
    lapsed = PointsLot.objects.filter(
        account=account, remaining_points__gt=0, expires_at__lte=timezone.now()
    ).aggregate(total=Coalesce(Sum("remaining_points"), Value(ZERO)))["total"]
    return max(ZERO, account.balance - lapsed)


def points_redemption_check(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program: Program,
    points: Decimal | int | str,
) -> list[DomainError]:
    """Every rule a redemption of `points` would break now (empty = redeemable): 801 invalid
    points, 885 program, 8069 merged customer, 1218 not enrolled, 803 more than available."""
    owner = _owner(customer, user_group)
    errors: list[DomainError] = []
    try:
        amount = Decimal(str(points))
        if not amount.is_finite() or amount <= 0:
            raise ValueError
    except (ArithmeticError, ValueError):
        errors.append(InvalidPointsError(f"Invalid points {points!r}"))
        amount = None
    if program.org_id != owner.org_id or not program.is_active:
        return [*errors, InvalidProgramIdError(f"Invalid program id {program.pk}")]
    if isinstance(owner, Customer):
        if owner.merged_into_id:
            errors.append(CustomerMergedError())
        enrolled = ProgramEnrollment.objects.filter(
            customer=owner, program=program, is_active=True
        ).exists()
        has_account = PointsAccount.objects.filter(customer=owner, program=program).exists()
        if not enrolled and not has_account:
            errors.append(NotEnrolledError())
    if amount is not None:
        available = points_available_get(customer=customer, user_group=user_group, program=program)
        if amount > available:
            errors.append(InsufficientPointsError(f"{amount} asked, {available} available"))
    return errors


def points_redemption_get(*, org_ids: Iterable[int], redemption_id: str) -> PointsRedemption | None:
    return (
        PointsRedemption.objects.filter(org_id__in=list(org_ids), code=str(redemption_id).strip())
        .select_related("event", "customer", "user_group")
        .first()
    )


def points_transaction_points(*, transaction) -> dict[tuple[int, str], Decimal]:
    """Points of a bill still held in its lots, by (program id, category): what a full return
    takes back."""
    rows = (
        PointsLot.objects.filter(transaction=transaction, remaining_points__gt=0)
        .values("account__program_id", "account__category")
        .annotate(total=Sum("remaining_points"))
    )
    return {(row["account__program_id"], row["account__category"]): row["total"] for row in rows}


@dataclass(frozen=True)
class ExpirySchedule:
    program_id: int
    category: str
    expires_on: datetime.date
    points: Decimal


def points_expiry_schedules(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program_id: int | None = None,
) -> list[ExpirySchedule]:
    """Points still held per program, category and expiry day (org time zone), soonest first."""
    owner = _owner(customer, user_group)
    lots = PointsLot.objects.filter(
        **_owner_filter(owner, "account__"), remaining_points__gt=0, expires_at__isnull=False
    )
    if program_id is not None:
        lots = lots.filter(account__program_id=program_id)
    tz = owner.org.tzinfo
    totals: dict[tuple[int, str, datetime.date], Decimal] = defaultdict(lambda: ZERO)
    for program, category, expires_at, remaining in lots.values_list(
        "account__program_id", "account__category", "expires_at", "remaining_points"
    ):
        totals[(program, category, timezone.localtime(expires_at, tz).date())] += remaining
    return [
        ExpirySchedule(program_id=p, category=c, expires_on=d, points=v)
        for (p, c, d), v in sorted(totals.items(), key=lambda item: (item[0][2], item[0][0]))
    ]


def points_expired_list(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program_id: int | None = None,
) -> QuerySet[LedgerEntry]:
    """The expiry debits of the owner's ledger, newest first."""
    owner = _owner(customer, user_group)
    entries = LedgerEntry.objects.filter(
        **_owner_filter(owner, "account__"),
        entry_type=EntryType.DEBIT,
        event__event_name=EventName.POINTS_EXPIRY,
    )
    if program_id is not None:
        entries = entries.filter(account__program_id=program_id)
    return entries.select_related("account__program", "event").order_by("-id")


@dataclass(frozen=True)
class ProgramPointsSummary:
    """An owner's stored points in one program (the members APIs' points figures)."""

    program_id: int
    regular: Decimal  # current REGULAR balance (loyaltyPoints)
    available: Decimal  # REGULAR less lapsed lots not expired yet (totalAvailablePoints)
    promised: Decimal  # PROMISED balance (delayedPoints)
    trigger_based: Decimal


def points_program_summaries(
    *, customer: Customer | None = None, user_group: UserGroup | None = None
) -> dict[int, ProgramPointsSummary]:
    """Points per program from the accounts' cached balances, in two queries: the accounts, and
    the lots that lapsed but the expiry job has not taken yet (so that `available` agrees with
    points_available_get, what a redemption may take). Programs without accounts are absent."""
    owner = _owner(customer, user_group)
    balances: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for program_id, category, amount in PointsAccount.objects.filter(
        **_owner_filter(owner)
    ).values_list("program_id", "category", "balance"):
        balances[program_id][category] = amount
    lapsed = dict(
        PointsLot.objects.filter(
            **_owner_filter(owner, "account__"),
            account__category=PointsCategory.REGULAR,
            remaining_points__gt=0,
            expires_at__lte=timezone.now(),
        )
        .values("account__program_id")
        .annotate(total=Sum("remaining_points"))
        .values_list("account__program_id", "total")
    )
    summaries = {}
    for program_id, by_category in balances.items():
        regular = by_category.get(PointsCategory.REGULAR, ZERO)
        summaries[program_id] = ProgramPointsSummary(
            program_id=program_id,
            regular=regular,
            available=max(ZERO, regular - lapsed.get(program_id, ZERO)) if regular > 0 else ZERO,
            promised=by_category.get(PointsCategory.PROMISED, ZERO),
            trigger_based=by_category.get(PointsCategory.TRIGGER_BASED, ZERO),
        )
    return summaries


# Verification -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LedgerDrift:
    kind: str
    message: str
    account_id: int | None = None


SIGNED_POINTS = Case(
    When(entry_type=EntryType.DEBIT, then=-F("points")),
    default=F("points"),
    output_field=DecimalField(max_digits=20, decimal_places=3),
)


def ledger_verify(*, org: Org | None = None) -> list[LedgerDrift]:
    """Check the ledger's invariants (all orgs, or one): balance = sum of entries, closing
    balances are a running sum from an opening balance, sequences have no gaps, lots add up to
    the balance (max(balance, 0)), each lot's remainder matches its movements, each event's net
    matches its entries. Returns every drift found."""
    accounts = PointsAccount.objects.all()
    if org is not None:
        accounts = accounts.filter(org=org)
    account_scope = {"account__org": org} if org is not None else {}
    drifts: list[LedgerDrift] = []

    entry_sums = dict(
        LedgerEntry.objects.filter(**account_scope)
        .values("account_id")
        .annotate(total=Sum(SIGNED_POINTS))
        .values_list("account_id", "total")
    )
    lot_sums = dict(
        PointsLot.objects.filter(**account_scope)
        .values("account_id")
        .annotate(total=Sum("remaining_points"))
        .values_list("account_id", "total")
    )
    balances: dict[int, tuple[Decimal, int]] = {}
    for account_id, balance, last_sequence in accounts.values_list(
        "pk", "balance", "last_sequence"
    ).iterator():
        balances[account_id] = (balance, last_sequence)
        total = entry_sums.get(account_id, ZERO)
        if total != balance:
            drifts.append(
                LedgerDrift("balance", f"balance {balance} but entries sum to {total}", account_id)
            )
        lots = lot_sums.get(account_id) or ZERO
        if lots != max(balance, ZERO):
            drifts.append(
                LedgerDrift("lots", f"lots hold {lots} for a balance of {balance}", account_id)
            )

    running: dict[int, tuple[int, Decimal]] = {}
    for account_id, entry_type, sequence, signed, closing in (
        LedgerEntry.objects.filter(**account_scope)
        .annotate(signed=SIGNED_POINTS)
        .order_by("account_id", "sequence")
        .values_list("account_id", "entry_type", "sequence", "signed", "closing_balance")
        .iterator()
    ):
        previous_sequence, previous_closing = running.get(account_id, (0, ZERO))
        if previous_sequence == 0 and entry_type != EntryType.OPENING_BALANCE:
            drifts.append(
                LedgerDrift("opening", "the first entry is not an opening balance", account_id)
            )
        if sequence != previous_sequence + 1:
            drifts.append(
                LedgerDrift(
                    "sequence", f"entry {sequence} follows entry {previous_sequence}", account_id
                )
            )
        expected = previous_closing + signed
        if closing != expected:
            drifts.append(
                LedgerDrift(
                    "closing",
                    f"entry {sequence} closes at {closing}, the running sum is {expected}",
                    account_id,
                )
            )
        running[account_id] = (sequence, closing)
    for account_id, (balance, last_sequence) in balances.items():
        sequence, closing = running.get(account_id, (0, ZERO))
        if sequence == 0:
            drifts.append(LedgerDrift("opening", "the account has no entries", account_id))
        elif closing != balance or sequence != last_sequence:
            drifts.append(
                LedgerDrift(
                    "closing",
                    f"last entry {sequence} closes at {closing}; account says "
                    f"{balance} after entry {last_sequence}",
                    account_id,
                )
            )

    movement_rows = (
        LotConsumption.objects.filter(**{f"lot__{k}": v for k, v in account_scope.items()})
        .values("lot_id", "kind")
        .annotate(total=Sum("points"))
        .values_list("lot_id", "kind", "total")
    )
    moved: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for lot_id, kind, total in movement_rows:
        moved[lot_id] += -total if kind == LotConsumption.Kind.CONSUME else total
    for lot_id, account_id, original, remaining in (
        PointsLot.objects.filter(**account_scope)
        .values_list("pk", "account_id", "original_points", "remaining_points")
        .iterator()
    ):
        if original + moved.get(lot_id, ZERO) != remaining:
            drifts.append(
                LedgerDrift(
                    "lot",
                    f"lot {lot_id} holds {remaining}; {original} less its movements is "
                    f"{original + moved.get(lot_id, ZERO)}",
                    account_id,
                )
            )

    events = LedgerEvent.objects.all() if org is None else LedgerEvent.objects.filter(org=org)
    entry_net = (
        LedgerEntry.objects.filter(event=OuterRef("pk"))
        .exclude(entry_type=EntryType.OPENING_BALANCE)
        .values("event")
        .annotate(total=Sum(SIGNED_POINTS))
        .values("total")
    )
    mismatched = events.annotate(
        entry_net=Coalesce(Subquery(entry_net), Value(ZERO), output_field=DecimalField())
    ).exclude(net_points=F("entry_net"))
    for event_id, net, entry_total in mismatched.values_list("pk", "net_points", "entry_net"):
        drifts.append(
            LedgerDrift("event", f"event {event_id} says net {net}, its entries {entry_total}")
        )
    return drifts
