"""Customer-facing promotion APIs, v2 envelope: a customer's loyalty promotions (seed 004,
`/v2/customers/lookup/promotionData` and the connected-org `/v2.1/...`) and custom events
(`POST /v2/events`, this implementation's path: the contract has none)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from loyalty_site.api.envelopes import Envelope
from loyalty_site.api.errors import InvalidParameterError
from loyalty_site.api.pagination import paginate_by_start_index, parse_int_param
from loyalty_site.api.scoping import SCOPE_HEADER, DataScope, DataScopeError
from loyalty_site.api.views import BaseApi
from promotions.api.lookups import customer_lookup, source_clean
from promotions.api.serializers import iso_ms, number
from promotions.exceptions import ConnectedOrgsHeaderError, PromotionEventNameError
from promotions.models import PointsOfferType, PromotionSourceType, RestrictionFamily
from promotions.selectors import CustomerPromotion, CustomerPromotionStatus, customer_promotions
from promotions.services import promotion_event_fire

TAGS = ["loyalty promotions"]
ZERO = Decimal(0)
# promotionType filter (seed 004 / §5.1) -> pointsOfferType.
PROMOTION_TYPES = {
    "GENERIC": PointsOfferType.GENERIC,
    "DIRECT_ISSUE": PointsOfferType.LOYALTY,
    "ENROL_AND_ISSUE": PointsOfferType.LOYALTY_EARNING,
    **{value: value for value in PointsOfferType.values},
}
# sourceType filter -> promotionSourceType.
SOURCE_TYPES = {
    "UI": PromotionSourceType.USER_CREATED,
    "API": PromotionSourceType.PROMOTION_API,
    "CAMPAIGN": PromotionSourceType.CAMPAIGN,
    **{value: value for value in PromotionSourceType.values},
}
FAMILY_KEYS = (
    (RestrictionFamily.ISSUAL, "issualRestrictions"),
    (RestrictionFamily.EARN, "earnRestrictions"),
    (RestrictionFamily.REDEMPTION, "redemptionRestrictions"),
)


def _points_text(value: Decimal) -> str:
    """The samples' usage strings: "0" when nothing, else three decimals ("50.000")."""
    return "0" if not value else f"{value:.3f}"


def _limit_text(value: Decimal | int | None) -> str:
    """The samples show "0" for no limit."""
    return "0" if value is None else str(number(value))


def _usage_text(value: Decimal, measure: str) -> str:
    return _points_text(value) if measure == "points" else str(int(value))


def _csv(raw: str | None, allowed: dict[str, str], name: str) -> list[str]:
    values = []
    for part in (raw or "").split(","):
        key = part.strip().upper()
        if not key:
            continue
        if key not in allowed:
            raise InvalidParameterError(f"Unknown {name} {part.strip()!r}")
        values.append(allowed[key])
    return values


def customer_promotion_representation(
    entry: CustomerPromotion, *, include_org: bool
) -> dict[str, Any]:
    promotion = entry.promotion
    body: dict[str, Any] = {
        "promotionId": promotion.pk,
        "promotionName": promotion.name,
        "programId": promotion.program_id,
        "startDate": iso_ms(promotion.starts_at),
        "endDate": iso_ms(promotion.ends_at),
        "identifier": promotion.identifier,
        "description": promotion.description,
        "active": promotion.is_active,
        "eventName": promotion.event_name,
    }
    if promotion.metadata:
        body["promotionMetadata"] = [
            {"key": str(key), "value": str(value), "brandDefined": True}
            for key, value in promotion.metadata.items()
        ]
    body["limits"] = {
        "maxPointsPerEvent": _limit_text(promotion.points_per_event),
        "pointsPerCustomer": _limit_text(promotion.points_per_customer),
        "numberOFTimesPerCustomer": promotion.times_per_customer or 0,
        "totalPointsInPromotion": _limit_text(promotion.total_points),
    }
    body["customerUsage"] = {
        "currentPointsPerCustomer": _points_text(entry.points),
        "currentNumberOfTimesPerCustomer": entry.times,
        "currentTotalPointsInPromotion": _points_text(entry.total_points),
    }
    body["pointsOfferType"] = promotion.points_offer_type
    restrictions: dict[str, list[dict[str, Any]]] = {key: [] for _, key in FAMILY_KEYS}
    keys = dict(FAMILY_KEYS)
    for usage in entry.restrictions:
        restrictions[keys[usage.family]].append(
            {
                "kpi": usage.kpi,
                "maxLimit": str(number(usage.max_limit)),
                "currentCustomerUsage": _usage_text(usage.current, usage.measure),
                "limitOn": usage.limit_on,
                "type": usage.type,
            }
        )
    body["promotionRestriction"] = restrictions
    if include_org:
        body["orgId"] = promotion.org_id
    return body


class CustomerPromotionDataInputSerializer(serializers.Serializer):
    identifierName = serializers.CharField(required=False, allow_blank=True)
    identifierValue = serializers.CharField(required=False, allow_blank=True)
    source = serializers.CharField(required=False, allow_blank=True)
    promotionStatusForCustomer = serializers.CharField(required=False, allow_blank=True)
    promotionType = serializers.CharField(required=False, allow_blank=True)
    sourceType = serializers.CharField(required=False, allow_blank=True)
    programs = serializers.CharField(required=False, allow_blank=True)
    fetchAllUsage = serializers.BooleanField(required=False, default=False)
    includeAlternateCurrencyUsage = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(required=False)
    offset = serializers.IntegerField(required=False)


class CustomerPromotionOutputSerializer(serializers.Serializer):
    promotionId = serializers.IntegerField()
    promotionName = serializers.CharField()
    programId = serializers.IntegerField()
    startDate = serializers.CharField()
    endDate = serializers.CharField()
    identifier = serializers.CharField()
    description = serializers.CharField()
    active = serializers.BooleanField()
    eventName = serializers.CharField()
    limits = serializers.DictField()
    customerUsage = serializers.DictField()
    pointsOfferType = serializers.CharField()
    promotionRestriction = serializers.DictField()
    orgId = serializers.IntegerField(required=False)


class CustomerPromotionDataOutputSerializer(serializers.Serializer):
    pageDetails = serializers.DictField()
    customerId = serializers.IntegerField()
    promotions = CustomerPromotionOutputSerializer(many=True)
    warnings = serializers.ListField(child=serializers.DictField())


DATA_DESCRIPTION = (
    "The loyalty promotions of the programs the customer is enrolled in, newest first, with the "
    "customer's usage and each restriction's maxLimit / currentCustomerUsage / limitOn. "
    "identifierName: mobile, email, externalId or id (8013 missing or other); identifierValue "
    "(8015 missing, malformed or no such customer on `source`); source: INSTORE ... or ALL "
    "(8003 missing or unknown). promotionStatusForCustomer: AVAILABLE_TO_ENROL (enrol-and-issue "
    "promotions the customer has not enrolled in), AVAILABLE_TO_EARN (live direct-issue "
    "promotions issued to the customer and enrol-and-issue ones they enrolled in, earn limits "
    "left), AVAILABLE_TO_REDEEM (live promotions of any type the customer can get points from "
    "now, redemption limits left), EXPIRED (ended). promotionType: GENERIC, DIRECT_ISSUE, "
    "ENROL_AND_ISSUE; sourceType: UI, API, CAMPAIGN; programs: ids, comma separated. limit 0-100 "
    "(default 10), offset: start index (>= 0). fetchAllUsage=true also lists the restrictions "
    "that are not set, with maxLimit -1. In `limits`, 0 means no limit (as in the samples)."
)
SCOPE_PARAMETERS = [
    OpenApiParameter(
        "DATA-SCOPE", OpenApiTypes.STR, OpenApiParameter.HEADER, enum=["SELF", "OTHER", "ALL"]
    ),
    OpenApiParameter("DATA-SCOPE-ORG", OpenApiTypes.STR, OpenApiParameter.HEADER),
]


class CustomerPromotionDataApi(BaseApi):
    """`GET /v2/customers/lookup/promotionData`."""

    envelope = Envelope.V2
    is_connected_org_api = False

    def _data_scope(self, request: Request) -> DataScope:
        if not self.is_connected_org_api:
            return self.scope
        if not (request.META.get(SCOPE_HEADER) or "").strip():
            raise ConnectedOrgsHeaderError(
                "Connected Orgs not set properly in Headers: DATA-SCOPE is required"
            )
        try:
            return self.scope
        except DataScopeError as exc:
            raise ConnectedOrgsHeaderError(
                f"Connected Orgs not set properly in Headers: {exc.message}",
                http_status=exc.http_status,
            ) from exc

    @extend_schema(
        tags=TAGS,
        summary="A customer's loyalty promotions",
        description=DATA_DESCRIPTION,
        parameters=[CustomerPromotionDataInputSerializer, *SCOPE_PARAMETERS],
        responses={200: CustomerPromotionDataOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        scope = self._data_scope(request)
        params = request.query_params
        customer = customer_lookup(
            org_ids=scope.org_ids,
            identifier_name=params.get("identifierName"),
            identifier_value=params.get("identifierValue"),
            source=params.get("source"),
            source_required=True,
        )
        limit = parse_int_param(params, "limit", default=10, minimum=0, maximum=100)
        offset = parse_int_param(params, "offset", default=0, minimum=0)
        status = (params.get("promotionStatusForCustomer") or "").strip().upper() or None
        if status is not None and status not in CustomerPromotionStatus.ALL:
            raise InvalidParameterError(
                f"Unknown promotionStatusForCustomer {status!r}: use "
                + ", ".join(CustomerPromotionStatus.ALL)
            )
        try:
            program_ids = [
                int(part) for part in (params.get("programs") or "").split(",") if part.strip()
            ]
        except ValueError as exc:
            raise InvalidParameterError("programs must be comma-separated ids") from exc
        fetch_all = (params.get("fetchAllUsage") or "").strip().lower() == "true"
        entries = customer_promotions(
            customer=customer,
            status=status,
            offer_types=_csv(params.get("promotionType"), PROMOTION_TYPES, "promotionType"),
            source_types=_csv(params.get("sourceType"), SOURCE_TYPES, "sourceType"),
            program_ids=program_ids,
            fetch_all_usage=fetch_all,
        )
        page = paginate_by_start_index(entries, start_index=offset, page_size=limit)
        include_org = self.is_connected_org_api or scope.is_connected
        return Response(
            {
                "pageDetails": page.page_details(),
                "customerId": customer.pk,
                "promotions": [
                    customer_promotion_representation(entry, include_org=include_org)
                    for entry in page.items
                ],
                "warnings": [],
            }
        )


class CustomerPromotionDataConnectedOrgApi(CustomerPromotionDataApi):
    """`GET /v2.1/customers/lookup/promotionData` (connected orgs)."""

    is_connected_org_api = True

    @extend_schema(
        tags=TAGS,
        summary="A customer's loyalty promotions across connected orgs (v2.1)",
        description="As the v2 read, for the orgs of the DATA-SCOPE headers, which are required "
        "here: a missing DATA-SCOPE, a malformed DATA-SCOPE-ORG or an org that is not a child "
        "of the caller is 310144 (Connected Orgs not set properly in Headers). Each promotion "
        "carries orgId. " + DATA_DESCRIPTION,
        parameters=[CustomerPromotionDataInputSerializer, *SCOPE_PARAMETERS],
        responses={200: CustomerPromotionDataOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


# Custom events -----------------------------------------------------------------------------------
class PromotionEventInputSerializer(serializers.Serializer):
    eventName = serializers.CharField(required=False, allow_blank=True, default="")
    identifierName = serializers.CharField(required=False, allow_blank=True, default="")
    identifierValue = serializers.CharField(required=False, allow_blank=True, default="")
    source = serializers.CharField(required=False, allow_blank=True, default="")
    eventId = serializers.CharField(required=False, allow_blank=True, default="", max_length=128)
    eventTime = serializers.CharField(required=False, allow_blank=True, default="")
    attributes = serializers.DictField(required=False, default=dict)


class PromotionEventOutputSerializer(serializers.Serializer):
    eventId = serializers.CharField()
    eventName = serializers.CharField()
    customerId = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.DictField())
    sideEffects = serializers.ListField(child=serializers.DictField())


class PromotionEventAddApi(BaseApi):
    """`POST /v2/events` (extension: a custom event for a customer)."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS,
        summary="Send a custom event for a customer (promotions with that eventName earn)",
        description="Extension: the contract has no custom-event path. Body `{eventName, "
        "identifierName, identifierValue, source (default INSTORE), eventId, eventTime (ISO), "
        "attributes{}}`; rules read `event.attributes.<key>`, and `attributes.amount` (or "
        "`value`) is the amount PER_CURRENCY_UNIT / PERCENT awards apply to. `eventId` (or the "
        "Idempotency-Key header) makes a resend answer the first result; the same id with "
        "another event is 4095 (HTTP 409). 4094: missing, malformed or reserved eventName "
        "(TransactionAdd and CustomerRegistration come from their own APIs), or a future "
        "eventTime. 8013 / 8015 / 8003: customer lookup. Ledger event name: GenericEvent.",
        request=PromotionEventInputSerializer,
        responses={200: PromotionEventOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = PromotionEventInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source = source_clean(data["source"], required=False, default="INSTORE")
        if source == "ALL":
            raise InvalidParameterError("source ALL is for reads; name the event's source")
        customer = customer_lookup(
            org_ids=(self.scope.write_org_id,),
            identifier_name=data["identifierName"],
            identifier_value=data["identifierValue"],
        )
        occurred_at = None
        if data["eventTime"].strip():
            try:
                occurred_at = parse_datetime(data["eventTime"].strip())
            except ValueError:
                occurred_at = None
            if occurred_at is None or occurred_at.tzinfo is None:
                raise PromotionEventNameError(
                    "eventTime must be an ISO date-time with an offset", field="eventTime"
                )
        event_id = data["eventId"] or request.headers.get("Idempotency-Key", "")
        result = promotion_event_fire(
            customer=customer,
            event_name=data["eventName"],
            actor=self.principal.till,
            event_id=event_id,
            source=source,
            occurred_at=occurred_at,
            attributes=data["attributes"],
        )
        return Response(
            {
                "eventId": result.event.event_id,
                "eventName": result.event.event_name,
                "customerId": customer.pk,
                "warnings": [],
                "sideEffects": result.side_effects,
            }
        )
