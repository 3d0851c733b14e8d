"""Cart promotion engine APIs (CONTRACT.md §5.2), engine envelope
(`{timestamp, errorCode, message, errorDetails}` on errors, `{"data": ...}` on success).

Each view validates, calls one service or selector and renders; promotions, evaluations, codes
and links are addressed by their 24-hex public ids.
"""

from __future__ import annotations

import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from loyalty_site.api.envelopes import Envelope
from loyalty_site.api.errors import InvalidParameterError
from loyalty_site.api.pagination import paginate_by_page_and_size, parse_int_param
from loyalty_site.api.views import BaseApi
from members.models import Org, Till
from promotions.api.cart_serializers import (
    CartEvaluateInputSerializer,
    CartEvaluationEnvelopeSerializer,
    CartPromotionEnvelopeSerializer,
    CartPromotionInputSerializer,
    CartPromotionListEnvelopeSerializer,
    CodeLinkEnvelopeSerializer,
    CodeLinkInputSerializer,
    CodeLookupEnvelopeSerializer,
    CodesAddEnvelopeSerializer,
    CodesAddInputSerializer,
    EarnEnvelopeSerializer,
    EarnInputSerializer,
    EvaluationEnvelopeSerializer,
    EvaluationListEnvelopeSerializer,
    SettingsEnvelopeSerializer,
    SettingsInputSerializer,
    cart_input_from,
    cart_promotion_representation,
    code_record_representation,
    data_envelope,
    earn_representation,
    evaluation_representation,
    link_representation,
    settings_representation,
)
from promotions.cart_selectors import (
    cart_customer_get,
    cart_evaluation_get,
    cart_evaluations_pending,
    cart_promotion_get,
    cart_promotions_list,
    code_restrictions_status,
    promo_codes_lookup,
)
from promotions.exceptions import CartPromotionNotFoundError, PromoCodeInvalidError
from promotions.models import CartPromotionSettings
from promotions.services.cart import (
    cart_evaluate,
    cart_evaluation_cancel,
    cart_promotion_create,
    cart_promotion_earn,
    cart_promotion_set_active,
    cart_promotion_settings_save,
    cart_promotion_spec_from_body,
    cart_promotion_update,
    promo_code_link,
    promo_codes_add,
    promo_codes_generate_start,
)

TAGS = ["cart promotions"]
MAX_IDS = 100
MAX_PAGE_SIZE = 100
IDEMPOTENCY_HEADER = "HTTP_IDEMPOTENCY_KEY"
TILL_CODE_HEADER = "HTTP_X_CAP_API_ATTRIBUTION_TILL_CODE"
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A replay with the same body answers the first result; another body is 4106.",
)
PAGING_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="0-based page (no promotionIds)."),
    OpenApiParameter("size", OpenApiTypes.INT, description="Page size 1-100, default 20."),
]


def _idempotency_key(request: Request) -> str | None:
    key = (request.META.get(IDEMPOTENCY_HEADER) or "").strip()
    if len(key) > 128:
        raise InvalidParameterError("Idempotency-Key has at most 128 characters")
    return key or None


def _ids(request: Request, name: str = "promotionIds") -> list[str] | None:
    raw = request.query_params.getlist(name)
    if not raw:
        return None
    ids = [part.strip() for value in raw for part in value.split(",") if part.strip()]
    if len(ids) > MAX_IDS:
        raise InvalidParameterError(f"{name} takes at most {MAX_IDS} ids")
    return list(dict.fromkeys(ids))


def _flag(request: Request, name: str) -> bool:
    value = (request.query_params.get(name) or "").strip().lower()
    if value not in {"", "true", "false"}:
        raise InvalidParameterError(f"{name} must be true or false")
    return value == "true"


def _list_response(request: Request, rows, ids: list[str] | None) -> Response:
    if ids is not None:
        found = {row.public_id: row for row in rows}
        errors = [
            {"code": CartPromotionNotFoundError.code, "message": f"Promotion {pid} not found"}
            for pid in ids
            if pid not in found
        ]
        data = [cart_promotion_representation(found[pid]) for pid in ids if pid in found]
        return Response(data_envelope(data, errors=errors))
    page = parse_int_param(request.query_params, "page", default=0, minimum=0)
    size = parse_int_param(
        request.query_params, "size", default=20, minimum=1, maximum=MAX_PAGE_SIZE
    )
    result = paginate_by_page_and_size(rows, page=page, size=size)
    return Response(
        data_envelope(
            [cart_promotion_representation(row) for row in result.items],
            errors=[],
            pagingDto=result.paging_dto(),
        )
    )


class CartPromotionCollectionApi(BaseApi):
    """`POST /api_gateway/v1/promotions` (create), `GET /api_gateway/v1/promotions/`."""

    envelope = Envelope.ENGINE

    @extend_schema(
        tags=TAGS,
        summary="Create a cart promotion",
        description="Body as §5.2. 4102 a field breaks a rule (named in the message: name 1-50 "
        "characters, type, messageLabel, active, start / end dates (end after start and in the "
        "future), condition and action shapes, percentages 0-100, amounts > 0 with 2 decimals, "
        "TENDER condition with TENDER action only, restrictions), 4103 name exists in the org, "
        "4104 priority taken in the campaign, 4105 250 active promotions already, 4106 "
        "Idempotency-Key reused with another body.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=CartPromotionInputSerializer,
        responses={200: CartPromotionEnvelopeSerializer},
    )
    def post(self, request: Request) -> Response:
        spec = cart_promotion_spec_from_body(request.data)
        promotion = cart_promotion_create(
            org=_write_org(self),
            spec=spec,
            actor=self.principal.till,
            idempotency_key=_idempotency_key(request),
        )
        return Response(data_envelope(cart_promotion_representation(promotion)))

    @extend_schema(
        tags=TAGS,
        summary="Cart promotions by id",
        description="`promotionIds` (comma separated, at most 100): the promotions found, and an "
        "error (4101) per id not found. Without it: every promotion of the org, newest first, "
        "paged with page / size and pagingDto.",
        parameters=[OpenApiParameter("promotionIds", OpenApiTypes.STR), *PAGING_PARAMETERS],
        responses={200: CartPromotionListEnvelopeSerializer},
    )
    def get(self, request: Request) -> Response:
        ids = _ids(request)
        rows = cart_promotions_list(org_ids=self.scope.org_ids, public_ids=ids)
        return _list_response(request, rows, ids)


@extend_schema_view(
    get=extend_schema(operation_id="api_gateway_v1_promotions_slash_retrieve"),
    post=extend_schema(operation_id="api_gateway_v1_promotions_slash_create"),
)
class CartPromotionCollectionSlashApi(CartPromotionCollectionApi):
    """`GET /api_gateway/v1/promotions/` (the contract's get path ends with a slash): the same
    view under its own operation ids."""


def _write_org(view: BaseApi) -> Org:
    """The org a write lands in: the caller's, or the one child named with DATA-SCOPE OTHER."""
    org_id = view.scope.write_org_id
    return view.principal.org if org_id == view.principal.org_id else Org.objects.get(pk=org_id)


class CartPromotionUpdateApi(BaseApi):
    """`PUT /api_gateway/v1/promotions/{promotionId}` (full replace)."""

    envelope = Envelope.ENGINE

    @extend_schema(
        tags=TAGS,
        summary="Update (replace) a cart promotion",
        description="The whole body again, as on create. 4101 unknown id; 4102-4105 as create.",
        request=CartPromotionInputSerializer,
        responses={200: CartPromotionEnvelopeSerializer},
    )
    def put(self, request: Request, promotion_id: str) -> Response:
        promotion = cart_promotion_get(
            org_ids=(self.scope.write_org_id,), promotion_id=promotion_id
        )
        spec = cart_promotion_spec_from_body(request.data)
        promotion = cart_promotion_update(promotion=promotion, spec=spec, actor=self.principal.till)
        return Response(data_envelope(cart_promotion_representation(promotion)))


class CartPromotionActivateApi(BaseApi):
    """`POST /api_gateway/v1/promotions/{promotionId}/activate`."""

    envelope = Envelope.ENGINE
    is_active = True

    @extend_schema(
        tags=TAGS,
        summary="Activate a cart promotion",
        description="Idempotent. 4101 unknown id, 4105 the org has 250 active promotions.",
        request=None,
        responses={200: CartPromotionEnvelopeSerializer},
    )
    def post(self, request: Request, promotion_id: str) -> Response:
        promotion = cart_promotion_get(
            org_ids=(self.scope.write_org_id,), promotion_id=promotion_id
        )
        promotion = cart_promotion_set_active(
            promotion=promotion, is_active=self.is_active, actor=self.principal.till
        )
        return Response(data_envelope(cart_promotion_representation(promotion)))


class CartPromotionDeactivateApi(CartPromotionActivateApi):
    """`POST /api_gateway/v1/promotions/{promotionId}/deactivate`."""

    is_active = False

    @extend_schema(
        tags=TAGS,
        summary="Deactivate a cart promotion",
        description="Idempotent; its codes stop working. 4101 unknown id.",
        request=None,
        responses={200: CartPromotionEnvelopeSerializer},
    )
    def post(self, request: Request, promotion_id: str) -> Response:
        return super().post(request, promotion_id)


class CartPromotionConfigApi(BaseApi):
    """`GET /api_gateway/v1/promotions/config`."""

    envelope = Envelope.ENGINE

    @extend_schema(
        tags=TAGS,
        summary="Cart promotion configurations",
        description="`promotionIds` (optional, comma separated); ended promotions only with "
        "`includeExpired=true`, inactive ones only with `includeInactive=true`.",
        parameters=[
            OpenApiParameter("promotionIds", OpenApiTypes.STR),
            OpenApiParameter("includeExpired", OpenApiTypes.BOOL),
            OpenApiParameter("includeInactive", OpenApiTypes.BOOL),
            *PAGING_PARAMETERS,
        ],
        responses={200: CartPromotionListEnvelopeSerializer},
    )
    def get(self, request: Request) -> Response:
        ids = _ids(request)
        rows = cart_promotions_list(
            org_ids=self.scope.org_ids,
            public_ids=ids,
            include_expired=_flag(request, "includeExpired"),
            include_inactive=_flag(request, "includeInactive"),
        )
        return _list_response(request, rows, ids)


class CartPromotionSettingsApi(BaseApi):
    """`POST /v1/management/promotions/settings/strategy` (and GET, an extension)."""

    envelope = Envelope.ENGINE

    @extend_schema(
        tags=TAGS,
        summary="Set the org's promotion ranking strategy",
        description="Fields left out keep their values. Extension: "
        "`maxCombinedDiscountPercentage` (0-100, default 100), the most all promotions together "
        "take off a cart. 4102 an unknown strategy value.",
        request=SettingsInputSerializer,
        responses={200: SettingsEnvelopeSerializer},
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise InvalidParameterError("The body must be a JSON object")
        settings = cart_promotion_settings_save(org=_write_org(self), values=dict(request.data))
        return Response(data_envelope(settings_representation(settings)))

    @extend_schema(
        tags=TAGS,
        summary="The org's promotion ranking strategy",
        responses={200: SettingsEnvelopeSerializer},
    )
    def get(self, request: Request) -> Response:
        org_id = self.scope.org_ids[0]
        settings = CartPromotionSettings.objects.filter(org_id=org_id).first()
        if settings is None:
            settings = CartPromotionSettings(org_id=org_id)
        return Response(data_envelope(settings_representation(settings)))


class CartEvaluateApi(BaseApi):
    """`POST /api_gateway/v1/promotions/evaluate`."""

    envelope = Envelope.ENGINE

    @extend_schema(
        tags=TAGS,
        summary="Evaluate a cart",
        description="A quote: per-line and cart discounts, the promotions applied with the "
        "`identifier` to send back on the bill (`appliedPromotionIdentifiers`, with the "
        "`evaluationId` as `promotionEvaluationId`), and a log line for every promo code that "
        "did not apply. Item `amount` is the unit price. Usage of limited promotions is held "
        "for 15 minutes and counted when the bill is added. 8015 / 8069 customer, 4106 "
        "Idempotency-Key reused with another cart, 400 invalid body.",
        parameters=[
            IDEMPOTENCY_PARAMETER,
            OpenApiParameter(
                "X-CAP-API-ATTRIBUTION-TILL-CODE", OpenApiTypes.STR, OpenApiParameter.HEADER
            ),
        ],
        request=CartEvaluateInputSerializer,
        responses={200: CartEvaluationEnvelopeSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = CartEvaluateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        org_id = self.scope.write_org_id
        customer = cart_customer_get(org_ids=(org_id,), customer_id=data["customerId"])
        evaluation = cart_evaluate(
            org=customer.org,
            actor=self._till(org_id),
            customer=customer,
            cart=cart_input_from(data, request.data),
            idempotency_key=_idempotency_key(request),
        )
        return Response(data_envelope(evaluation.result))

    def _till(self, org_id: int) -> Till:
        code = (self.request.META.get(TILL_CODE_HEADER) or "").strip()
        if not code:
            return self.principal.till
        till = Till.objects.filter(org_id=org_id, code=code).first()
        if till is None:
            raise InvalidParameterError(
                f"X-CAP-API-ATTRIBUTION-TILL-CODE {code!r} is not a till of the org"
            )
        return till


class CartEvaluationCancelApi(BaseApi):
    """`PUT /v1/promotions/customer/{customerId}/evaluation/{evaluationId}/cancel`."""

    envelope = Envelope.ENGINE

    @extend_schema(
        tags=TAGS,
        summary="Cancel a pending evaluation",
        description="Frees what the evaluation holds at once. Cancelling again answers the "
        "cancelled evaluation. 8015 customer, 4110 unknown evaluation, 4111 already used by a "
        "bill.",
        request=None,
        responses={200: EvaluationEnvelopeSerializer},
    )
    def put(self, request: Request, customer_id: str, evaluation_id: str) -> Response:
        org_ids = (self.scope.write_org_id,)
        customer = cart_customer_get(org_ids=org_ids, customer_id=customer_id)
        evaluation = cart_evaluation_get(
            org_ids=org_ids, customer=customer, evaluation_id=evaluation_id
        )
        evaluation = cart_evaluation_cancel(evaluation=evaluation, actor=self.principal.till)
        return Response(data_envelope(evaluation_representation(evaluation)))


class CartPendingEvaluationsApi(BaseApi):
    """`GET /v1/promotions/customer/{customerId}/evaluations/pending_carts`."""

    envelope = Envelope.ENGINE

    @extend_schema(
        tags=TAGS,
        summary="A customer's pending (locked) carts",
        description="Evaluations still holding usage, newest first. 8015 customer.",
        responses={200: EvaluationListEnvelopeSerializer},
    )
    def get(self, request: Request, customer_id: str) -> Response:
        customer = cart_customer_get(org_ids=self.scope.org_ids, customer_id=customer_id)
        rows = cart_evaluations_pending(customer=customer)
        return Response(data_envelope([evaluation_representation(row) for row in rows], errors=[]))


class PromoCodeLinkApi(BaseApi):
    """`POST /api_gateway/v1/promotions/code/link`."""

    envelope = Envelope.ENGINE

    @extend_schema(
        tags=TAGS,
        summary="Link a promo code to a customer",
        description="The code is then applied at the customer's checkouts without being typed. "
        "Linking again answers the same link. 8015 customer, 4120 unknown code, 4124 the "
        "code's promotion has ended or is inactive, 4125 mode is not the promotion's mode.",
        request=CodeLinkInputSerializer,
        responses={200: CodeLinkEnvelopeSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = CodeLinkInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        org_id = self.scope.write_org_id
        customer = cart_customer_get(org_ids=(org_id,), customer_id=data["customerId"])
        link = promo_code_link(
            org=customer.org,
            customer=customer,
            code=data["code"],
            mode=data["mode"],
            actor=self.principal.till,
        )
        return Response(data_envelope(link_representation(link)))


class PromoCodeLookupApi(BaseApi):
    """`GET /api_gateway/v1/promotions/code?codes=..&mode=..&includeRedemptions`."""

    envelope = Envelope.ENGINE

    @extend_schema(
        tags=TAGS,
        summary="Promo codes with their restrictions and remaining redemptions",
        description="`codes` comma separated (at most 100). Per code: its promotion, linked "
        "customers, and per restriction level (Code, Promotion; Customer with `customerId`) "
        "maxLimit, remainingRedemption and tempRedemption (held by pending carts) for the "
        "current window. `includeRedemptions=true` adds the bills that used it. An unknown code "
        "answers a record with apiError 4120; `mode` keeps codes of that mode only.",
        parameters=[
            OpenApiParameter("codes", OpenApiTypes.STR, required=True),
            OpenApiParameter("mode", OpenApiTypes.STR, enum=["DISCOUNT", "PAYMENT_VOUCHER"]),
            OpenApiParameter("includeRedemptions", OpenApiTypes.BOOL),
            OpenApiParameter("customerId", OpenApiTypes.INT),
        ],
        responses={200: CodeLookupEnvelopeSerializer},
    )
    def get(self, request: Request) -> Response:
        codes = _ids(request, "codes")
        if not codes:
            raise PromoCodeInvalidError("codes is required", field="codes")
        mode = (request.query_params.get("mode") or "").strip().upper()
        if mode and mode not in {"DISCOUNT", "PAYMENT_VOUCHER"}:
            raise InvalidParameterError("mode must be DISCOUNT or PAYMENT_VOUCHER")
        customer_id = None
        if request.query_params.get("customerId"):
            customer_id = cart_customer_get(
                org_ids=self.scope.org_ids, customer_id=request.query_params["customerId"]
            ).pk
        include = _flag(request, "includeRedemptions")
        data = []
        for lookup in promo_codes_lookup(
            org_ids=self.scope.org_ids, codes=codes, include_redemptions=include
        ):
            if lookup.code is not None and mode and lookup.code.promotion.mode != mode:
                continue
            statuses = (
                code_restrictions_status(lookup.code, customer_id=customer_id)
                if lookup.code is not None
                else []
            )
            data.append(code_record_representation(lookup, statuses, include_redemptions=include))
        return Response(data_envelope(data, errors=[]))


def _moment(value: Any, name: str) -> datetime.datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.datetime.fromtimestamp(int(value) / 1000, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidParameterError(f"{name} is not a valid epoch in milliseconds")


class CartPromotionEarnApi(BaseApi):
    """`POST /api_gateway/v1/promotions/{promotionId}/earn`."""

    envelope = Envelope.ENGINE

    @extend_schema(
        tags=TAGS,
        summary="A customer earns (activates) a promotion",
        description="For promotions with customerActivationRequired, and EARNING / REWARD "
        "promotions: they apply to the customer until validTill (at most the promotion's end). "
        "The same `id` again answers the first earn. 4101, 8015, 4130 not earnable or "
        "maxIssuancePerCustomer reached.",
        request=EarnInputSerializer,
        responses={200: EarnEnvelopeSerializer},
    )
    def post(self, request: Request, promotion_id: str) -> Response:
        serializer = EarnInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        org_ids = (self.scope.write_org_id,)
        promotion = cart_promotion_get(org_ids=org_ids, promotion_id=promotion_id)
        customer = cart_customer_get(org_ids=org_ids, customer_id=data["customerId"])
        earn = cart_promotion_earn(
            promotion=promotion,
            customer=customer,
            earned_from_type=data["earnedFromType"],
            earned_from_id=data.get("earnedFromId") or "",
            event_time=_moment(data.get("eventTime"), "eventTime"),
            valid_till=_moment(data.get("validTill"), "validTill"),
            request_id=(data.get("id") or "").strip(),
            actor=self.principal.till,
        )
        return Response(data_envelope(earn_representation(earn)))


class CartPromotionCodesApi(BaseApi):
    """`POST /api_gateway/v1/promotions/{promotionId}/codes` (extension)."""

    envelope = Envelope.ENGINE

    @extend_schema(
        tags=TAGS,
        summary="Add or generate promo codes of a CODE promotion",
        description="Extension (the contract keeps code management in the UI, as the admin "
        "does here). `codes`: given codes (e.g. HOLIMAN100), added at once; `generate`: how "
        "many codes to generate (`length` random characters, `prefix`, `alphanumeric`) in a "
        "job, whose id is answered. 4101, 4121 bad code or shape, 4122 code exists, 4123 not "
        "a CODE promotion, 4126 code space too small.",
        request=CodesAddInputSerializer,
        responses={200: CodesAddEnvelopeSerializer},
    )
    def post(self, request: Request, promotion_id: str) -> Response:
        serializer = CodesAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not data.get("codes") and not data.get("generate"):
            raise PromoCodeInvalidError("Give codes or generate", field="codes")
        promotion = cart_promotion_get(
            org_ids=(self.scope.write_org_id,), promotion_id=promotion_id
        )
        added = [
            row.code for row in promo_codes_add(promotion=promotion, codes=data.get("codes") or [])
        ]
        job_id = None
        if data.get("generate"):
            job_id = promo_codes_generate_start(
                promotion=promotion,
                count=data["generate"],
                length=data["length"],
                prefix=data["prefix"],
                is_alphanumeric=data["alphanumeric"],
            ).pk
        return Response(
            data_envelope({"promotionId": promotion.public_id, "codes": added, "jobId": job_id})
        )
