"""Coupon series (offer) APIs, v2 envelope (CONTRACT.md §2, §2.1): create, update and get.

Views validate the body, call one service and answer the series in the contract's shape. The
body is `{"CouponSeriesV2": {...}}`; a bare object is accepted too (the contract's update
template has one). Invalid settings answer 400 with code 799 naming the field.
"""

from __future__ import annotations

from typing import Any, NoReturn

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.response import Response

from coupons.api.serializers import (
    ORG_ENTITY_FILTER_TYPES,
    REQUIRED_ON_UPDATE,
    CouponSeriesCreateInputSerializer,
    CouponSeriesInputSerializer,
    CouponSeriesListInputSerializer,
    CouponSeriesListOutputSerializer,
    CouponSeriesOutputSerializer,
)
from coupons.exceptions import CouponSeriesInvalidError, CouponSeriesNotFoundError
from coupons.models import CouponSeries
from coupons.read_selectors import series_ids_for_org_entities
from coupons.selectors import coupon_series_get, coupon_series_list
from coupons.services.series import coupon_series_create, coupon_series_update
from loyalty_site.api.envelopes import Envelope
from loyalty_site.api.views import BaseApi
from members.models import Org

TAGS = ["coupon series"]
VALIDATION_CODE = str(CouponSeriesInvalidError.code)
BODY_KEY = "CouponSeriesV2"
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Replaying a create with the same key and body returns the series it created; "
    "the same key with other settings answers 409.",
)
SCOPE_PARAMETERS = [
    OpenApiParameter(
        "DATA-SCOPE",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        enum=["SELF", "OTHER", "ALL"],
        description="Connected orgs (§7): SELF (default), OTHER or ALL (GET only).",
    ),
    OpenApiParameter(
        "DATA-SCOPE-ORG",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="Child org id(s), comma separated, for DATA-SCOPE OTHER or ALL.",
    ),
]
SETTINGS_DESCRIPTION = (
    "Fields as in the contract's `CouponSeriesV2`; `-1` means no limit. `clientHandlingType` "
    "DISC_CODE (auto unique codes), GENERIC (one common code: `genericCode` required) or "
    "DISC_CODE_PIN (uploaded codes). `externalIssual` true = third-party delivery: issual and "
    "reminder settings are ignored (with a warning) and anyone may redeem. Extensions: "
    "`currency`, `issualLimitNotificationThreshold`, `restrictToAudience`, `smsUnicodeAllowed`, "
    "`expiryReminders[]`. Invalid settings: 400 with code 799 naming the field."
)


def _with_code(detail: Any, code: str) -> Any:
    if isinstance(detail, dict):
        return {key: _with_code(value, code) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_with_code(value, code) for value in detail]
    return ErrorDetail(str(detail), code=code)


def _raise_invalid(serializer: serializers.Serializer) -> NoReturn:
    raise exceptions.ValidationError(_with_code(serializer.errors, VALIDATION_CODE))


def _series_body(data: Any) -> dict[str, Any]:
    body = data.get(BODY_KEY, data) if isinstance(data, dict) else None
    if not isinstance(body, dict):
        raise CouponSeriesInvalidError(f'The body must be {{"{BODY_KEY}": {{...}}}}')
    return body


def _warnings(messages: list[str]) -> list[dict[str, Any]]:
    return [{"status": False, "code": 799, "message": text} for text in messages]


class CouponSeriesApi(BaseApi):
    """`/v2/coupon/series`: POST creates a series, GET reads series by id or by
    redemption place."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS,
        summary="Create a coupon series (offer)",
        description=SETTINGS_DESCRIPTION
        + " `description` (the offer name) is required. Answers the full series.",
        parameters=[IDEMPOTENCY_PARAMETER, *SCOPE_PARAMETERS],
        request=CouponSeriesCreateInputSerializer,
        responses={200: CouponSeriesOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = CouponSeriesInputSerializer(data=_series_body(request.data))
        if not serializer.is_valid():
            _raise_invalid(serializer)
        result = coupon_series_create(
            org=Org.objects.get(pk=self.scope.write_org_id),
            actor=self.principal.till,
            values=serializer.series_values(),
            reminders=serializer.reminders(),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        series = coupon_series_get(org_ids=[result.series.org_id], series_id=result.series.pk)
        output = CouponSeriesOutputSerializer((series, _warnings(result.warnings)))
        return Response(output.data)

    @extend_schema(
        tags=TAGS,
        summary="Get coupon series by id or by redemption place",
        description=(
            "`ids` repeated (`?ids=1&ids=2`) or comma separated, at most 100: answers `entity` "
            "(the series found, in the order asked) and a warning (707) per id not found in the "
            "caller's scope; none found at all is 404 with 707. Or `orgEntityType` (STORE, ZONE "
            "or CONCEPT, one per request) with `orgEntityIds`: the series tagged to those "
            "places exactly (a zone does not match series tagged to its stores), newest first; "
            "unknown ids match nothing (an empty `entity`, not an error). With both, the "
            "series among `ids` tagged to the places. Bad parameters: 400 with 799."
        ),
        parameters=[
            OpenApiParameter(
                "ids", OpenApiTypes.INT, OpenApiParameter.QUERY, many=True, required=False
            ),
            OpenApiParameter(
                "orgEntityType",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=False,
                enum=ORG_ENTITY_FILTER_TYPES,
            ),
            OpenApiParameter(
                "orgEntityIds", OpenApiTypes.INT, OpenApiParameter.QUERY, many=True, required=False
            ),
            *SCOPE_PARAMETERS,
        ],
        responses={200: CouponSeriesListOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        params = CouponSeriesListInputSerializer(
            data={
                name: [
                    value.upper() if name == "orgEntityType" else value
                    for value in _query_list(request, name)
                ]
                for name in ("ids", "orgEntityType", "orgEntityIds")
                if _query_list(request, name)
            }
        )
        if not params.is_valid():
            _raise_invalid(params)
        ids = params.validated_data.get("ids", [])
        entity_types = params.validated_data.get("orgEntityType")
        if entity_types:
            tagged = series_ids_for_org_entities(
                org_ids=self.scope.org_ids,
                entity_type=entity_types[0],
                entity_ids=params.validated_data["orgEntityIds"],
            )
            if ids:
                asked = set(ids)
                tagged = [pk for pk in tagged if pk in asked]
            found = coupon_series_list(org_ids=self.scope.org_ids, ids=tagged)
            return Response({"entity": _entity(found), "warnings": []})
        found = coupon_series_list(org_ids=self.scope.org_ids, ids=ids)
        if not found:
            raise CouponSeriesNotFoundError(f"Coupon series {', '.join(map(str, ids))} not found")
        found_ids = {series.pk for series in found}
        warnings = [
            {"status": False, "code": 707, "message": f"Coupon series {pk} not found"}
            for pk in dict.fromkeys(ids)
            if pk not in found_ids
        ]
        return Response({"entity": _entity(found), "warnings": warnings})


def _query_list(request: Request, name: str) -> list[str]:
    """A query parameter repeated and/or comma separated."""
    return [
        part.strip()
        for value in request.query_params.getlist(name)
        for part in value.split(",")
        if part.strip()
    ]


def _entity(found: list[CouponSeries]) -> list[dict[str, Any]]:
    entity = [CouponSeriesOutputSerializer((series, [])).data for series in found]
    for item in entity:
        item.pop("warnings", None)
    return entity


class CouponSeriesUpdateApi(BaseApi):
    """`/v2/coupon/series/{id}`: PUT changes a series."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS,
        summary="Update a coupon series (offer)",
        description=SETTINGS_DESCRIPTION
        + " `description`, `discountCode` and `discountType` are required; other fields left "
        "out keep their values. Code settings are fixed once the series has codes, the common "
        "code once coupons are issued. Another org's series is 404 with 707.",
        parameters=SCOPE_PARAMETERS,
        request=CouponSeriesCreateInputSerializer,
        responses={200: CouponSeriesOutputSerializer},
    )
    def put(self, request: Request, series_id: int) -> Response:
        series = coupon_series_get(org_ids=[self.scope.write_org_id], series_id=series_id)
        serializer = CouponSeriesInputSerializer(data=_series_body(request.data))
        if not serializer.is_valid():
            _raise_invalid(serializer)
        missing = [name for name in REQUIRED_ON_UPDATE if not serializer.validated_data.get(name)]
        if missing:
            raise CouponSeriesInvalidError(
                f"{', '.join(missing)} required when updating a series", field=missing[0]
            )
        result = coupon_series_update(
            series=series,
            actor=self.principal.till,
            values=serializer.series_values(),
            reminders=serializer.reminders(),
        )
        series = coupon_series_get(org_ids=[series.org_id], series_id=series.pk)
        output = CouponSeriesOutputSerializer((series, _warnings(result.warnings)))
        return Response(output.data)
