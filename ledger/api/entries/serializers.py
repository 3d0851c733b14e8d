"""Points ledger read payloads (CONTRACT.md §4): query parsing and the response shapes.

The input serializers read every query parameter as text and turn it into a LedgerQuery, raising
the contract's ledger codes (11xxx, 8003, 8013, 9005) as domain errors. Points and balances are
strings with three decimals ("350.000"); dates are "YYYY-MM-DD HH:MM:SS.s" in the org's time zone.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from ledger.api.entries.lookups import (
    CUSTOMER,
    GROUP_TYPES,
    OwnerQuery,
    TillFilter,
    TillQuery,
)
from ledger.exceptions import (
    LedgerBadDateFormatError,
    LedgerDateRangeTooLongError,
    LedgerIdentifierMissingError,
    LedgerInvalidAlternateCurrencyError,
    LedgerInvalidEventFilterError,
    LedgerInvalidProgramError,
    LedgerInvalidTillFormatError,
    LedgerInvalidTillIdsError,
    LedgerLegacyLimitExceededError,
    LedgerLimitExceededError,
    LedgerStartAfterEndError,
    LedgerStoreWithoutTillsError,
    LedgerTooManyTillFiltersError,
    LedgerUnsupportedParamsError,
)
from ledger.models import CATEGORY_API_NAMES, EventName, LedgerEvent
from ledger.selectors import ClosingBalance
from loyalty_site.api.pagination import Page
from members.exceptions import InvalidSourceError
from members.models import Customer, PointsCategory, RegistrationSource, UserGroup
from members.selectors.customers import SOURCE_ALL

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
DEFAULT_WINDOW = datetime.timedelta(days=90)
ONE_YEAR_WINDOW = datetime.timedelta(days=365)
MAX_EVENT_FILTERS = 10
DEFAULT_PAGE_SIZE = 10
# Contract spellings that name a stored category another way.
CATEGORY_ALIASES = {"EXTERNAL_TRIGGER_BASED": PointsCategory.TRIGGER_BASED}
EVENT_NAMES = {name.lower(): name for name in EventName.values}


# Query parsing -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LedgerQuery:
    owner: OwnerQuery
    tills: TillQuery
    program_id: int | None
    include_till_concept_events: bool
    categories: list[str]
    entry_types: list[str]
    # Naive local times (the owner's org time zone is known only after the lookup).
    start: datetime.datetime | None
    end: datetime.datetime | None
    sort: str
    page_number: int
    page_size: int
    max_page_size: int
    event_names: list[str]
    exclude_event_names: list[str]
    # excludePointCategories with includeAlternateCurrencies: alternate-currency entries only,
    # and this platform keeps no alternate currencies.
    alternate_currencies_only: bool

    def bounds(self, tz: datetime.tzinfo) -> tuple[datetime.datetime | None, ...]:
        start = timezone.make_aware(self.start, tz) if self.start else None
        # endDate names a whole second: everything recorded within it is included.
        end = (
            timezone.make_aware(self.end, tz) + datetime.timedelta(microseconds=999_999)
            if self.end
            else None
        )
        return start, end

    def selector_kwargs(self, *, tz: datetime.tzinfo, tills: TillFilter) -> dict[str, Any]:
        start, end = self.bounds(tz)
        return {
            "program_id": self.program_id,
            "include_till_concept_events": self.include_till_concept_events,
            "categories": self.categories,
            "entry_types": self.entry_types,
            "till_ids": tills.till_ids,
            "store_ids": tills.store_ids,
            "start": start,
            "end": end,
        }


def _text(attrs: Mapping[str, Any], name: str) -> str:
    return str(attrs.get(name) or "").strip()


def _flag(attrs: Mapping[str, Any], name: str, *, default: bool = False) -> bool:
    text = _text(attrs, name).lower()
    if not text:
        return default
    if text in {"true", "1"}:
        return True
    if text in {"false", "0"}:
        return False
    raise LedgerUnsupportedParamsError(f"{name} must be true or false")


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _owner_query(attrs: Mapping[str, Any]) -> OwnerQuery:
    entity_type = _text(attrs, "type").upper() or CUSTOMER
    if entity_type != CUSTOMER and entity_type not in GROUP_TYPES:
        raise LedgerUnsupportedParamsError(
            f"Invalid type {attrs.get('type')!r}: use CUSTOMER, USERGROUP2 or FLEET"
        )
    name = _text(attrs, "identifierName")
    value = _text(attrs, "identifierValue")
    source = _text(attrs, "source").upper()
    given = {"identifierName": name, "identifierValue": value, "source": source}
    missing = [label for label, text in given.items() if not text]
    if missing:
        raise LedgerIdentifierMissingError(f"Missing {', '.join(missing)}")
    if source != SOURCE_ALL and source not in RegistrationSource.values:
        raise InvalidSourceError(f"Invalid source {attrs.get('source')!r}")
    return OwnerQuery(
        entity_type=entity_type,
        identifier_name=name,
        identifier_value=value,
        source=source,
        account_id=_text(attrs, "accountId"),
    )


def _id(text: str, error: type[Exception], name: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise error(f"{name} must be a positive number, got {text!r}")
    return int(text)


def _till_query(attrs: Mapping[str, Any]) -> TillQuery:
    given = [name for name in ("tillId", "tillIds", "storeId", "storeCode") if _text(attrs, name)]
    if len(given) > 1:
        raise LedgerTooManyTillFiltersError(f"Give only one of {', '.join(given)}")
    if not given:
        return TillQuery()
    name = given[0]
    text = _text(attrs, name)
    if name == "tillId":
        return TillQuery(till_ids=(_id(text, LedgerInvalidTillFormatError, "tillId"),))
    if name == "tillIds":
        parts = _csv(text)
        if not parts:
            raise LedgerInvalidTillIdsError("tillIds is empty")
        ids = tuple(_id(part, LedgerInvalidTillIdsError, "tillIds") for part in parts)
        return TillQuery(till_ids=ids, till_ids_from_list=True)
    if name == "storeId":
        return TillQuery(store_id=_id(text, LedgerStoreWithoutTillsError, "storeId"))
    return TillQuery(store_code=text)


def _page(attrs: Mapping[str, Any], *, max_page_size: int) -> tuple[int, int]:
    error = LedgerLegacyLimitExceededError if max_page_size <= 10 else LedgerLimitExceededError
    limit_text = _text(attrs, "limit")
    if not limit_text:
        page_size = DEFAULT_PAGE_SIZE
    elif limit_text.isdigit() and 1 <= int(limit_text) <= max_page_size:
        page_size = int(limit_text)
    else:
        raise error(f"limit must be a number from 1 to {max_page_size}, got {limit_text!r}")
    offset_text = _text(attrs, "offset") or "0"
    if not offset_text.isdigit() or int(offset_text) >= 2**31:
        raise LedgerUnsupportedParamsError(
            f"offset is a 0-based page number, got {attrs.get('offset')!r}"
        )
    return int(offset_text), page_size


def _date(attrs: Mapping[str, Any], name: str) -> datetime.datetime | None:
    text = _text(attrs, name)
    if not text:
        return None
    try:
        return datetime.datetime.strptime(text, DATE_FORMAT)
    except ValueError:
        raise LedgerBadDateFormatError(f"{name} {text!r} is not YYYY-MM-DDThh:mm:ss")


def _date_range(
    attrs: Mapping[str, Any],
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """startDate/endDate with the contract's defaults: both at most 90 days apart; one alone
    opens a 90-day window from it (a year with includeLastOneYearData); neither is the full
    history; isFilterBasedOnDate=false ignores them."""
    if not _flag(attrs, "isFilterBasedOnDate", default=True):
        return None, None
    start = _date(attrs, "startDate")
    end = _date(attrs, "endDate")
    window = ONE_YEAR_WINDOW if _flag(attrs, "includeLastOneYearData") else DEFAULT_WINDOW
    if start is not None and end is not None:
        if start > end:
            raise LedgerStartAfterEndError()
        if end - start > DEFAULT_WINDOW:
            raise LedgerDateRangeTooLongError(
                f"startDate and endDate are more than {DEFAULT_WINDOW.days} days apart"
            )
    elif start is not None:
        end = start + window
    elif end is not None:
        start = end - window
    return start, end


def _program_id(attrs: Mapping[str, Any]) -> int | None:
    text = _text(attrs, "programId")
    return _id(text, LedgerInvalidProgramError, "programId") if text else None


def _categories(attrs: Mapping[str, Any]) -> list[str]:
    values = _csv(_text(attrs, "pointCategoryType"))
    return [CATEGORY_ALIASES.get(value.upper(), value) for value in values]


def _sort(attrs: Mapping[str, Any]) -> str:
    given = {_text(attrs, name).upper() for name in ("sort", "sortOrder", "order")} - {""}
    if len(given) > 1:
        raise LedgerUnsupportedParamsError("sort, sortOrder and order disagree")
    sort = given.pop() if given else "DESC"
    if sort not in {"ASC", "DESC"}:
        raise LedgerUnsupportedParamsError(f"sort must be ASC or DESC, got {sort!r}")
    return sort


def _event_filter(attrs: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    names = _csv(_text(attrs, "eventFilter"))
    if len(names) > MAX_EVENT_FILTERS:
        raise LedgerInvalidEventFilterError(f"At most {MAX_EVENT_FILTERS} events in eventFilter")
    unknown = [name for name in names if name.lower() not in EVENT_NAMES]
    if unknown:
        raise LedgerInvalidEventFilterError(f"Unknown event(s) {', '.join(unknown)}")
    events = [EVENT_NAMES[name.lower()] for name in names]
    if _flag(attrs, "excludeEvents"):
        if not events:
            raise LedgerUnsupportedParamsError("excludeEvents needs eventFilter")
        return [], events
    return events, []


def _alternate_currencies_only(attrs: Mapping[str, Any]) -> bool:
    names = _csv(_text(attrs, "alternateCurrencyNames"))
    if names:
        raise LedgerInvalidAlternateCurrencyError(
            f"Unknown alternate currencies {', '.join(names)}: none are configured"
        )
    include = _flag(attrs, "includeAlternateCurrencies")
    return include and _flag(attrs, "excludePointCategories")


TEXT = {"required": False, "allow_blank": True, "max_length": 255}


class LedgerQueryInputSerializer(serializers.Serializer):
    """Parameters common to the ledger entries and closing balance reads."""

    max_page_size = 100

    type = serializers.CharField(
        **TEXT, help_text="CUSTOMER (default), or USERGROUP2 / FLEET for a group's ledger."
    )
    identifierName = serializers.CharField(
        **TEXT,
        help_text="Customer: mobile, email, externalId or id. Group: groupId (or id), "
        "externalId or primaryUserId. Required (11013); unknown names are 8013.",
    )
    identifierValue = serializers.CharField(**TEXT, help_text="Required (11013).")
    source = serializers.CharField(
        **TEXT,
        help_text="The source the identifier is registered on, or ALL. Required (11013); "
        "unknown values are 8003.",
    )
    accountId = serializers.CharField(**TEXT, help_text="Account of a multi-account source.")
    tillId = serializers.CharField(
        **TEXT, help_text="Events at this till (11025 not a number, 11004 unknown)."
    )
    limit = serializers.CharField(**TEXT, help_text="Page size, default 10.")
    offset = serializers.CharField(**TEXT, help_text="0-based PAGE NUMBER (not a row offset).")
    programId = serializers.CharField(**TEXT, help_text="Only this program (11005 unknown).")
    endDate = serializers.CharField(**TEXT, help_text="YYYY-MM-DDThh:mm:ss, org time zone.")
    includeTillConceptEvents = serializers.CharField(
        **TEXT,
        help_text="true: also events raised for programId at its tills (group redemptions); "
        "needs programId (11001).",
    )
    ledgerEntryType = serializers.CharField(
        **TEXT, help_text="CREDIT, DEBIT and/or OPENING_BALANCE, comma separated (11007)."
    )
    pointCategoryType = serializers.CharField(
        **TEXT, help_text="REGULAR, PROMISED and/or TRIGGER_BASED, comma separated (11008)."
    )
    includeAlternateCurrencies = serializers.CharField(
        **TEXT, help_text="Accepted; no alternate currencies are configured on this platform."
    )
    alternateCurrencyNames = serializers.CharField(
        **TEXT, help_text="Any name is unknown (9005): no alternate currencies are configured."
    )
    excludePointCategories = serializers.CharField(
        **TEXT,
        help_text="With includeAlternateCurrencies=true: alternate-currency entries only (so "
        "none).",
    )

    @classmethod
    def query_from(cls, params: Mapping[str, Any]) -> LedgerQuery:
        """The LedgerQuery of `params` (the request's query parameters), as
        `is_valid(raise_exception=True)` + `validated_data` give it, without building the
        fields for the usual request: text that the fields would take as it is (at most
        TEXT max_length once trimmed, no NUL or lone surrogate) is trimmed here; anything else
        goes through the fields, so that their errors read the same."""
        attrs: dict[str, str] = {}
        for name in cls._declared_fields:
            if name not in params:
                continue
            value = params[name]
            text = value.strip() if isinstance(value, str) else None
            if text is None or len(text) > TEXT["max_length"] or "\x00" in text:
                return cls._validated(params)
            try:
                text.encode()
            except UnicodeEncodeError:
                return cls._validated(params)
            attrs[name] = text
        return cls(data=params).validate(attrs)

    @classmethod
    def _validated(cls, params: Mapping[str, Any]) -> LedgerQuery:
        serializer = cls(data=params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _common(self, attrs: Mapping[str, Any]) -> dict[str, Any]:
        owner = _owner_query(attrs)
        tills = _till_query(attrs)
        page_number, page_size = _page(attrs, max_page_size=self.max_page_size)
        program_id = _program_id(attrs)
        include_concept = _flag(attrs, "includeTillConceptEvents")
        if include_concept and program_id is None:
            raise LedgerUnsupportedParamsError("includeTillConceptEvents=true needs programId")
        return {
            "owner": owner,
            "tills": tills,
            "program_id": program_id,
            "include_till_concept_events": include_concept,
            "categories": _categories(attrs),
            "entry_types": _csv(_text(attrs, "ledgerEntryType").upper()),
            "page_number": page_number,
            "page_size": page_size,
            "max_page_size": self.max_page_size,
            "alternate_currencies_only": _alternate_currencies_only(attrs),
        }


class LedgerInfoInputSerializer(LedgerQueryInputSerializer):
    """getCustomerLedgerInfo: every filter of CONTRACT.md §4.1."""

    tillIds = serializers.CharField(**TEXT, help_text="Comma-separated till ids (11027).")
    storeId = serializers.CharField(**TEXT, help_text="Events at the store's tills (11026).")
    storeCode = serializers.CharField(**TEXT, help_text="Events at the store's tills (11026).")
    startDate = serializers.CharField(**TEXT, help_text="YYYY-MM-DDThh:mm:ss, org time zone.")
    isFilterBasedOnDate = serializers.CharField(
        **TEXT, help_text="Default true; false ignores startDate/endDate."
    )
    includeLastOneYearData = serializers.CharField(
        **TEXT, help_text="true: one date alone opens a year's window instead of 90 days."
    )
    sort = serializers.CharField(**TEXT, help_text="ASC or DESC (default) by ledger time.")
    sortOrder = serializers.CharField(**TEXT, help_text="Alias of sort.")
    order = serializers.CharField(**TEXT, help_text="Alias of sort (v2.1 spelling).")
    eventFilter = serializers.CharField(
        **TEXT, help_text="Comma-separated event names, at most 10 (11014)."
    )
    excludeEvents = serializers.CharField(
        **TEXT, help_text="true: leave out the eventFilter events instead of keeping only them."
    )
    isPrimaryUser = serializers.CharField(
        **TEXT, help_text="Not supported: filtering a group's ledger by member role is 11001."
    )
    roles = serializers.CharField(
        **TEXT, help_text="Not supported: filtering a group's ledger by member role is 11001."
    )

    def validate(self, attrs: dict[str, Any]) -> LedgerQuery:  # type: ignore[override]
        common = self._common(attrs)
        if _text(attrs, "roles") or _flag(attrs, "isPrimaryUser"):
            raise LedgerUnsupportedParamsError("Filtering by member role is not supported")
        start, end = _date_range(attrs)
        event_names, exclude_event_names = _event_filter(attrs)
        return LedgerQuery(
            **common,
            start=start,
            end=end,
            sort=_sort(attrs),
            event_names=event_names,
            exclude_event_names=exclude_event_names,
        )


class LedgerBalanceInputSerializer(LedgerQueryInputSerializer):
    """getCustomerLedgerBalance: the identifier, tillId, limit (max 10), offset, endDate (the
    balance as of), includeTillConceptEvents, ledgerEntryType, pointCategoryType."""

    max_page_size = 10

    def validate(self, attrs: dict[str, Any]) -> LedgerQuery:  # type: ignore[override]
        common = self._common(attrs)
        return LedgerQuery(
            **common,
            start=None,
            end=_date(attrs, "endDate"),
            sort="DESC",
            event_names=[],
            exclude_event_names=[],
        )


# Representation ------------------------------------------------------------------------------
def points_text(value: Decimal | int | None) -> str:
    """Points as the contract prints them: a string with three decimals ("350.000")."""
    return f"{Decimal(value or 0):.3f}"


def ledger_time(value: datetime.datetime | None, tz: datetime.tzinfo) -> str | None:
    """ "YYYY-MM-DD HH:MM:SS.s" (tenths of a second) in the org's time zone."""
    if value is None:
        return None
    local = timezone.localtime(value, tz)
    return f"{local:%Y-%m-%d %H:%M:%S}.{local.microsecond // 100_000}"


def owner_details(owner: Customer | UserGroup, entity_type: str) -> dict[str, Any]:
    if isinstance(owner, UserGroup):
        details: dict[str, Any] = {"userId": owner.pk, "externalId": owner.external_id}
    else:
        details = {}
        if owner.first_name:
            details["firstName"] = owner.first_name
        if owner.last_name:
            details["lastName"] = owner.last_name
        details["userId"] = owner.pk
        if owner.external_id:
            details["externalId"] = owner.external_id
    details["entityType"] = entity_type
    return details


def _member_identifier(customer: Customer, role: str | None) -> dict[str, Any]:
    for kind, value in (
        ("mobile", customer.mobile),
        ("email", customer.email),
        ("externalId", customer.external_id),
    ):
        if value:
            return {"type": kind, "value": value, "role": role}
    return {"type": "id", "value": str(customer.pk), "role": role}


def _triggered_by(event: LedgerEvent, roles: Mapping[int, str]) -> dict[str, Any] | None:
    member = event.triggered_by
    if member is None:
        return None
    return {
        "firstName": member.first_name,
        "lastName": member.last_name,
        "identifier": _member_identifier(member, roles.get(member.pk)),
        "userId": member.pk,
    }


def _transaction_details(event: LedgerEvent, tz: datetime.tzinfo) -> dict[str, Any]:
    bill = event.transaction
    if bill is None:
        return {}
    gross = bill.gross_amount if bill.gross_amount is not None else bill.bill_amount
    return {
        "transactionId": bill.pk,
        "transactionNumber": bill.number,
        "date": ledger_time(bill.billed_at, tz),
        "amount": float(bill.bill_amount),
        "grossBillAmount": float(gross),
        "source": (bill.source or "").lower(),
    }


def _event_details(event: LedgerEvent, tz: datetime.tzinfo) -> dict[str, Any]:
    """Promotion fields (with eventDate) when a promotion caused it, else the reason, else the
    business time of a bill event; {} for the rest (as the samples show)."""
    if event.promotion_id or event.promotion_identifier or event.promotion_name:
        promotion_id: int | str = event.promotion_id
        if event.promotion_id.isdigit():
            promotion_id = int(event.promotion_id)
        return {
            "eventDisplayName": event.promotion_name,
            "promotionName": event.promotion_name,
            "promotionDescription": event.promotion_description,
            "promotionIdentifier": event.promotion_identifier,
            "promotionId": promotion_id,
            "eventDate": ledger_time(event.occurred_at, tz),
        }
    if event.reason:
        return {"reason": event.reason}
    if event.transaction_id or event.event_name == EventName.POINTS_EXPIRY:
        return {"eventDate": ledger_time(event.occurred_at, tz)}
    return {}


def ledger_event_representation(
    event: LedgerEvent,
    *,
    owner: Customer | UserGroup,
    tz: datetime.tzinfo,
    include_org: bool,
    roles: Mapping[int, str],
) -> dict[str, Any]:
    # A group's ledger shows the group as a negative customer id (the group sample: -2860).
    customer_id = -owner.pk if isinstance(owner, UserGroup) else owner.pk
    entries = getattr(event, "ledger_entries", None)
    if entries is None:
        entries = list(event.entries.select_related("account__program"))
    return {
        "eventLogId": event.pk,
        "eventName": event.event_name,
        "customerId": customer_id,
        "ledgerCreatedDate": ledger_time(event.created_at, tz),
        "customerDetails": _triggered_by(event, roles),
        "entryDetails": [
            {
                "ledgerEntryType": entry.entry_type,
                "points": points_text(entry.points),
                "pointsCategory": CATEGORY_API_NAMES[entry.account.category],
                "programName": entry.account.program.name,
                "programId": entry.account.program_id,
            }
            for entry in entries
        ],
        "netPointsOnEvent": points_text(event.net_points),
        "transactionDetails": _transaction_details(event, tz),
        "store": event.store.name if event.store else None,
        "storeCode": event.store.code if event.store else None,
        "tillCode": event.till.code if event.till else None,
        "eventDetails": _event_details(event, tz),
        "sourceProgramId": event.source_program_id,
        "sourceProgramName": event.source_program.name if event.source_program else None,
        "orgId": event.org_id if include_org else None,
    }


def closing_balances_representation(balances: Iterable[ClosingBalance]) -> list[dict[str, Any]]:
    return [
        {
            "pointsCategory": balance.category_api_name,
            "programName": balance.program_name,
            "programId": balance.program_id,
            "closingBalance": points_text(balance.closing_balance),
        }
        for balance in balances
    ]


def page_details(*, page_number: int, page_size: int, total: int) -> dict[str, int]:
    return {
        "pageNumber": page_number,
        "pageSize": page_size,
        "totalEntries": total,
        "pageCount": math.ceil(total / page_size) if page_size else 0,
    }


def ledger_info_representation(
    *,
    owner: Customer | UserGroup,
    entity_type: str,
    page: Page[LedgerEvent],
    include_org: bool,
    roles: Mapping[int, str],
    closing_balances: Sequence[ClosingBalance] | None = None,
) -> dict[str, Any]:
    tz = owner.org.tzinfo
    ledger_details: dict[str, Any] = page.page_details()
    if closing_balances is not None:
        ledger_details["ledgerClosingBalance"] = closing_balances_representation(closing_balances)
    return {
        "customerDetails": owner_details(owner, entity_type),
        "ledgerDetails": ledger_details,
        "ledgerEntries": [
            ledger_event_representation(
                event, owner=owner, tz=tz, include_org=include_org, roles=roles
            )
            for event in page.items
        ],
        "warnings": [],
    }


# Output documentation ----------------------------------------------------------------------
POINTS_HELP = 'A string with three decimals, e.g. "350.000".'
CATEGORY_HELP = ", ".join(CATEGORY_API_NAMES.values())


class LedgerCustomerDetailsOutputSerializer(serializers.Serializer):
    firstName = serializers.CharField(required=False, help_text="Customers only, when set.")
    lastName = serializers.CharField(required=False, help_text="Customers only, when set.")
    userId = serializers.IntegerField(help_text="Customer id, or the group id.")
    externalId = serializers.CharField(required=False)
    entityType = serializers.ChoiceField(choices=[CUSTOMER, *GROUP_TYPES])


class LedgerClosingBalanceOutputSerializer(serializers.Serializer):
    pointsCategory = serializers.CharField(help_text=CATEGORY_HELP)
    programName = serializers.CharField()
    programId = serializers.IntegerField()
    closingBalance = serializers.CharField(help_text=POINTS_HELP)


class LedgerPageOutputSerializer(serializers.Serializer):
    pageNumber = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    totalEntries = serializers.IntegerField()
    pageCount = serializers.IntegerField()
    ledgerClosingBalance = LedgerClosingBalanceOutputSerializer(
        many=True,
        required=False,
        help_text="v2.1 entries and the closing balance read: the view's closing balances.",
    )


class LedgerEntryDetailOutputSerializer(serializers.Serializer):
    ledgerEntryType = serializers.ChoiceField(choices=["CREDIT", "DEBIT", "OPENING_BALANCE"])
    points = serializers.CharField(help_text=POINTS_HELP)
    pointsCategory = serializers.CharField(help_text=CATEGORY_HELP)
    programName = serializers.CharField()
    programId = serializers.IntegerField()


class LedgerTransactionDetailsOutputSerializer(serializers.Serializer):
    transactionId = serializers.IntegerField(required=False)
    transactionNumber = serializers.CharField(required=False)
    date = serializers.CharField(required=False, help_text="YYYY-MM-DD HH:MM:SS.s")
    amount = serializers.FloatField(required=False)
    grossBillAmount = serializers.FloatField(required=False)
    source = serializers.CharField(required=False, help_text="Lower case, e.g. instore.")


class LedgerEventDetailsOutputSerializer(serializers.Serializer):
    eventDisplayName = serializers.CharField(required=False)
    promotionName = serializers.CharField(required=False)
    promotionDescription = serializers.CharField(required=False)
    promotionIdentifier = serializers.CharField(required=False)
    promotionId = serializers.JSONField(
        required=False, help_text="A number when the promotion id is numeric, else a string."
    )
    eventDate = serializers.CharField(required=False, help_text="YYYY-MM-DD HH:MM:SS.s")
    reason = serializers.CharField(required=False)


class LedgerMemberIdentifierOutputSerializer(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()
    role = serializers.CharField(allow_null=True, help_text="PRIMARY or SECONDARY.")


class LedgerTriggeredByOutputSerializer(serializers.Serializer):
    firstName = serializers.CharField()
    lastName = serializers.CharField()
    identifier = LedgerMemberIdentifierOutputSerializer()
    userId = serializers.IntegerField()


class LedgerEventOutputSerializer(serializers.Serializer):
    eventLogId = serializers.IntegerField()
    eventName = serializers.CharField()
    customerId = serializers.IntegerField(help_text="Negative group id on a group's ledger.")
    ledgerCreatedDate = serializers.CharField(help_text="YYYY-MM-DD HH:MM:SS.s, org time zone.")
    customerDetails = LedgerTriggeredByOutputSerializer(
        allow_null=True, help_text="The group member who triggered the event, else null."
    )
    entryDetails = LedgerEntryDetailOutputSerializer(many=True)
    netPointsOnEvent = serializers.CharField(help_text="Signed. " + POINTS_HELP)
    transactionDetails = LedgerTransactionDetailsOutputSerializer(help_text="{} when none.")
    store = serializers.CharField(allow_null=True)
    storeCode = serializers.CharField(allow_null=True)
    tillCode = serializers.CharField(allow_null=True)
    eventDetails = LedgerEventDetailsOutputSerializer()
    sourceProgramId = serializers.IntegerField(allow_null=True)
    sourceProgramName = serializers.CharField(allow_null=True)
    orgId = serializers.IntegerField(
        allow_null=True, help_text="Null unless read with a DATA-SCOPE other than SELF."
    )


class LedgerInfoOutputSerializer(serializers.Serializer):
    customerDetails = LedgerCustomerDetailsOutputSerializer()
    ledgerDetails = LedgerPageOutputSerializer()
    ledgerEntries = LedgerEventOutputSerializer(many=True)
    warnings = serializers.ListField(child=serializers.DictField())


class LedgerBalanceOutputSerializer(serializers.Serializer):
    customerDetails = LedgerCustomerDetailsOutputSerializer()
    ledgerDetails = LedgerPageOutputSerializer()
    warnings = serializers.ListField(child=serializers.DictField())
