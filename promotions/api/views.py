"""Loyalty promotion APIs (CONTRACT.md §5.1), loyalty envelope: add, get by id, the program's
list and the list of all promotions; plus issue and enrol (this implementation's paths beside
them, for LOYALTY and LOYALTY_EARNING promotions)."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from loyalty_site.api.envelopes import Envelope
from loyalty_site.api.errors import InvalidParameterError
from loyalty_site.api.pagination import paginate_by_page_number, parse_int_param
from loyalty_site.api.views import BaseApi
from members.models import Org
from promotions.api.lookups import customer_lookup
from promotions.api.serializers import (
    PromotionAddInputSerializer,
    PromotionEnvelopeOutputSerializer,
    PromotionPageOutputSerializer,
    iso_ms,
    loyalty_envelope,
    promotion_add_representation,
    promotion_detail_representation,
    promotion_spec_from_body,
)
from promotions.exceptions import PromotionInvalidFieldError
from promotions.models import PromotionAddType, PromotionIssue, PromotionSourceType
from promotions.selectors import (
    PromotionStatus,
    program_get,
    promotion_get,
    promotions_list,
)
from promotions.services import promotion_enrol, promotion_issue, promotion_save

TAGS = ["loyalty promotions"]
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 100
ADD_DESCRIPTION = (
    "Create a loyalty promotion of the program (`promotion.id` -1 or absent), or replace the "
    "promotion with that id. `{promotionType}` is SIMPLE, RANGE or KEYWORD. The body is the "
    "seed's `{\"promotion\": {...}}` (a bare promotion object is read too); the path's programId "
    "is the promotion's program. Errors (loyalty envelope, validationErrors[] with the field): "
    "4079 promotionSourceType missing or unknown, 4011 / 4012 start / end date missing or not "
    "ISO, 4013 end not after start, 4074 USER_CREATED without targetGroupIds and targetRuleIds, "
    "4075 not exactly one ruleset, 4076 ruleset without name / contextID / orgID / contextType / "
    "dates, a rule without exp / expJSON or whose expression cannot be read, 4080 action "
    "without actionName or with an empty mandatoryPropertiesValues key or value, 4078 filter "
    "other than LoyaltyType / EventSource, 4081 unknown restriction, 4004 other invalid field, "
    "4007 identifier exists in the program, 4003 name exists in the program, 4002 program not "
    "found, 4001 promotion id not found."
)


def _add_type(value: str) -> str:
    text = (value or "").strip().upper()
    if text not in PromotionAddType.values:
        raise PromotionInvalidFieldError(
            f"Unknown promotion type {value!r}: use SIMPLE, RANGE or KEYWORD",
            field="promotionType",
        )
    return text


def _page(request: Request) -> tuple[int, int]:
    limit = parse_int_param(
        request.query_params, "limit", default=DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE
    )
    offset = parse_int_param(request.query_params, "offset", default=0, minimum=0)
    return limit, offset


def _moment(value: str | None, name: str, *, org: Org, end_of_day: bool):
    text = (value or "").strip()
    if not text:
        return None
    moment = None
    try:
        moment = parse_datetime(text)
        if moment is None and (day := parse_date(text)) is not None:
            moment = datetime.datetime.combine(
                day, datetime.time.max if end_of_day else datetime.time.min
            )
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidParameterError(f"{name} must be an ISO date or date-time")
    return timezone.make_aware(moment, org.tzinfo) if timezone.is_naive(moment) else moment


def _page_response(request: Request, rows) -> Response:
    limit, offset = _page(request)
    page = paginate_by_page_number(rows, page_number=offset, page_size=limit)
    return Response(
        loyalty_envelope(
            [promotion_detail_representation(promotion) for promotion in page.items],
            pageDetails=page.page_details(),
        )
    )


class PromotionAddApi(BaseApi):
    """`POST /api_gateway/loyalty/v1/programs/{programId}/promotions/add/{promotionType}`."""

    envelope = Envelope.LOYALTY

    @extend_schema(
        tags=TAGS,
        summary="Add (or replace) a loyalty promotion",
        description=ADD_DESCRIPTION,
        request=PromotionAddInputSerializer,
        responses={200: PromotionEnvelopeOutputSerializer},
    )
    def post(self, request: Request, program_id: int, promotion_type: str) -> Response:
        add_type = _add_type(promotion_type)
        program = program_get(org_ids=(self.scope.write_org_id,), program_id=program_id)
        serializer = PromotionAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        spec, promotion_id = promotion_spec_from_body(
            serializer.validated_data, org=program.org, add_type=add_type
        )
        saved = promotion_save(
            program=program, spec=spec, actor=self.principal.till, promotion_id=promotion_id
        )
        promotion = promotion_get(
            org_ids=(program.org_id,), program_id=program.pk, promotion_id=saved.pk
        )
        return Response(loyalty_envelope([promotion_add_representation(promotion)]))


class PromotionGetApi(BaseApi):
    """`GET /api_gateway/loyalty/v1/programs/{programId}/promotions/{promotionId}/get`."""

    envelope = Envelope.LOYALTY

    @extend_schema(
        tags=TAGS,
        summary="A loyalty promotion by id",
        description="With its ruleset, rules, actions and filters. 4002 unknown program, 4001 "
        "unknown promotion (also another org's).",
        responses={200: PromotionEnvelopeOutputSerializer},
    )
    def get(self, request: Request, program_id: int, promotion_id: int) -> Response:
        promotion = promotion_get(
            org_ids=self.scope.org_ids, program_id=program_id, promotion_id=promotion_id
        )
        return Response(loyalty_envelope([promotion_detail_representation(promotion)]))


class ProgramPromotionListApi(BaseApi):
    """`GET /api_gateway/loyalty/v1/programs/{programId}/promotionsV2`."""

    envelope = Envelope.LOYALTY

    @extend_schema(
        tags=TAGS,
        summary="The program's loyalty promotions",
        description="Newest first. `offset` is a 0-based page number and `limit` the page size "
        "(1-100, default 100). `sourceType` narrows to PROMOTION_API, CAMPAIGN, BADGES or "
        "USER_CREATED (comma separated; ALL or absent: every source).",
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("offset", OpenApiTypes.INT),
            OpenApiParameter("sourceType", OpenApiTypes.STR),
        ],
        responses={200: PromotionPageOutputSerializer},
    )
    def get(self, request: Request, program_id: int) -> Response:
        program = program_get(org_ids=self.scope.org_ids, program_id=program_id)
        raw = (request.query_params.get("sourceType") or "").strip().upper()
        source_types = [part.strip() for part in raw.split(",") if part.strip()]
        if "ALL" in source_types:
            source_types = []
        unknown = [value for value in source_types if value not in PromotionSourceType.values]
        if unknown:
            raise InvalidParameterError(f"Unknown sourceType {', '.join(unknown)}")
        rows = promotions_list(
            org_ids=(program.org_id,), program_id=program.pk, source_types=source_types
        )
        return _page_response(request, rows)


class PromotionListApi(BaseApi):
    """`GET /api_gateway/loyalty/v1/programs/promotions/list`."""

    envelope = Envelope.LOYALTY

    @extend_schema(
        tags=TAGS,
        summary="Every loyalty promotion of the org, with filters",
        description="Newest first; `offset` is a 0-based page number, `limit` 1-100 (default "
        "100). Filters: `program` (id), `status` (UPCOMING, LIVE, COMPLETED, INACTIVE), "
        "`activity` (ACTIVE or INACTIVE: switched on or off), `startDate` (promotions starting "
        "on or after), `endDate` (ending on or before; dates in the org's time zone), "
        "`promotionName` (contains, any case). Bad values are 400.",
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("offset", OpenApiTypes.INT),
            OpenApiParameter("program", OpenApiTypes.INT),
            OpenApiParameter("status", OpenApiTypes.STR, enum=list(PromotionStatus.ALL)),
            OpenApiParameter("activity", OpenApiTypes.STR, enum=["ACTIVE", "INACTIVE"]),
            OpenApiParameter("startDate", OpenApiTypes.STR),
            OpenApiParameter("endDate", OpenApiTypes.STR),
            OpenApiParameter("promotionName", OpenApiTypes.STR),
        ],
        responses={200: PromotionPageOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        org = self.principal.org
        program_id = None
        if params.get("program"):
            program_id = parse_int_param(params, "program", default=0, minimum=1)
            program_get(org_ids=self.scope.org_ids, program_id=program_id)
        status = (params.get("status") or "").strip().upper() or None
        if status is not None and status not in PromotionStatus.ALL:
            raise InvalidParameterError(f"Unknown status {status!r}")
        activity = (params.get("activity") or "").strip().upper()
        activity_map = {"ACTIVE": True, "TRUE": True, "INACTIVE": False, "FALSE": False}
        if activity and activity not in activity_map:
            raise InvalidParameterError(f"Unknown activity {activity!r}: use ACTIVE or INACTIVE")
        rows = promotions_list(
            org_ids=self.scope.org_ids,
            program_id=program_id,
            status=status,
            is_active=activity_map.get(activity) if activity else None,
            starts_from=_moment(params.get("startDate"), "startDate", org=org, end_of_day=False),
            ends_until=_moment(params.get("endDate"), "endDate", org=org, end_of_day=True),
            name=(params.get("promotionName") or "").strip() or None,
        )
        return _page_response(request, rows)


# Issue and enrol ---------------------------------------------------------------------------------
class PromotionIssueInputSerializer(serializers.Serializer):
    identifierName = serializers.CharField(required=False, allow_blank=True, default="")
    identifierValue = serializers.CharField(required=False, allow_blank=True, default="")
    source = serializers.CharField(required=False, allow_blank=True, default="")


class PromotionIssueOutputSerializer(serializers.Serializer):
    issueId = serializers.IntegerField()
    promotionId = serializers.IntegerField()
    customerId = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=PromotionIssue.Kind.values)
    status = serializers.ChoiceField(choices=PromotionIssue.Status.values)
    issuedOn = serializers.CharField()
    expiresOn = serializers.CharField()


class PromotionIssueEnvelopeOutputSerializer(serializers.Serializer):
    status = serializers.DictField()
    validationErrors = serializers.ListField(child=serializers.DictField(), allow_null=True)
    data = PromotionIssueOutputSerializer(many=True)


def _issue_representation(issue: PromotionIssue) -> dict:
    return {
        "issueId": issue.pk,
        "promotionId": issue.promotion_id,
        "customerId": issue.customer_id,
        "kind": issue.kind,
        "status": issue.status,
        "issuedOn": iso_ms(issue.issued_at),
        "expiresOn": iso_ms(issue.expires_at),
    }


class PromotionIssueApi(BaseApi):
    """`POST .../programs/{programId}/promotions/{promotionId}/issue` (direct issue)."""

    envelope = Envelope.LOYALTY
    service = staticmethod(promotion_issue)

    @extend_schema(
        tags=TAGS,
        summary="Issue a direct-issue (LOYALTY) promotion to a customer",
        description="Extension (the contract has no issue path for loyalty promotions). The "
        "customer is named by identifierName (mobile, email, externalId, id) and "
        "identifierValue, optionally on `source`. 4090 not a live LOYALTY promotion, 4093 "
        "customer not in the program, 4092 already issued (HTTP 409), 4091 "
        "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER reached, 8013 / 8015 / 8003 customer lookup.",
        request=PromotionIssueInputSerializer,
        responses={200: PromotionIssueEnvelopeOutputSerializer},
    )
    def post(self, request: Request, program_id: int, promotion_id: int) -> Response:
        promotion = promotion_get(
            org_ids=(self.scope.write_org_id,), program_id=program_id, promotion_id=promotion_id
        )
        serializer = PromotionIssueInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = customer_lookup(
            org_ids=(promotion.org_id,),
            identifier_name=data["identifierName"],
            identifier_value=data["identifierValue"],
            source=data["source"],
        )
        issue = self.service(promotion=promotion, customer=customer, actor=self.principal.till)
        return Response(loyalty_envelope([_issue_representation(issue)]))


class PromotionEnrolApi(PromotionIssueApi):
    """`POST .../programs/{programId}/promotions/{promotionId}/enrol` (enrol and issue)."""

    service = staticmethod(promotion_enrol)

    @extend_schema(
        tags=TAGS,
        summary="Enrol a customer in an enrol-and-issue (LOYALTY_EARNING) promotion",
        description="Extension, as the issue path: the promotion is issued to the customer as "
        "they enrol. 4090 not a live LOYALTY_EARNING promotion, 4093, 4092 already enrolled, "
        "4091 issual limit, 8013 / 8015 / 8003.",
        request=PromotionIssueInputSerializer,
        responses={200: PromotionIssueEnvelopeOutputSerializer},
    )
    def post(self, request: Request, program_id: int, promotion_id: int) -> Response:
        return super().post(request, program_id, promotion_id)
