"""Points operation APIs (CONTRACT.md §11.6-§11.9): redeemability check, validation codes,
redemptions (v1.1 batch, v2), redemption updates and reversals, transfers between customers and
user groups, member-care requests and negative adjustments.

Each view validates the request, finds the customer in the caller's org(s) (reads:
`self.scope.org_ids`, writes: `self.scope.write_org_id`), calls one ledger service and renders the
result. Another org's customer is not found: 8015 on v2, item code 816 on v1.1 (802 when the
identifier itself is missing or malformed).

Idempotency: the contract's own key where it has one (v1.1 redeem `external_reference_number`, v2
redeem `externalReferenceNumber`, request `reference_id`), otherwise the `Idempotency-Key` header
(scoped to the calling till; `<key>:<index>` per item of a v1.1 batch). Both are scoped by endpoint
before they reach the ledger. A replay returns the first result; the same key with a different
request is a conflict (409). Without a key a write is not deduplicated.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ledger import services
from ledger.api.points import serializers as s
from ledger.exceptions import (
    AdjustmentAwardInvalidError,
    AlternateCurrencyUnknownError,
    InvalidEntityError,
    InvalidEntityTypeError,
    InvalidPointsError,
    RedemptionIdentifierError,
    RequestBaseTypeInvalidError,
    RequestIdentifiersMissingError,
    RequestMergeTargetInvalidError,
    RequestTypeInvalidError,
)
from ledger.models import PointsRedemption, PointsRequest
from ledger.points_selectors import (
    org_get,
    points_active_programs,
    points_available_total,
    points_currency_values,
    points_program_get,
    points_redeem_check,
    points_redemption_find,
    points_redemption_program_points,
    points_request_get,
    points_requests_list,
    points_transfer_check,
    points_transfer_event_get,
    points_transfer_events,
    points_transfer_sender_balances,
)
from ledger.selectors import points_available_get, points_balance_get
from ledger.services import ValidationCodePurpose
from ledger.services.requests import points_request_kind
from loyalty_site.api.envelopes import (
    ApiErrorItem,
    ApiErrorResponse,
    Envelope,
    render_error,
    v11_batch_status,
    v11_item_status,
    v11_status,
)
from loyalty_site.api.exceptions import flatten_validation_errors
from loyalty_site.api.views import BaseApi
from loyalty_site.core.exceptions import DomainError
from members.api.customers.serializers import customer_v2_representation
from members.exceptions import (
    BatchLimitError,
    CustomerNotFoundError,
    GroupNotFoundError,
    InvalidEmailError,
    InvalidExternalIdError,
    InvalidIdentifierError,
    InvalidMobileError,
    InvalidSourceError,
    NoIdentifierError,
    UserNotInGroupError,
)
from members.models import (
    Customer,
    Org,
    RegistrationSource,
    UserGroup,
    UserGroupMembership,
)
from members.selectors.customers import customer_details_get, customer_get_by_identifier
from members.selectors.groups import user_group_get

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="A replay returns the first result; the same key with another request is a "
    "conflict (409). The contract's own key (reference number) wins when the body has one.",
)
V11_BATCH_LIMIT = 100
MAX_DATABASE_ID = 2**63 - 1
IDEMPOTENCY_KEY_MAX_LENGTH = 128
POINTS_SUCCESS_CODE = 800
GOODWILL_ADDED_CODE = 9100
CHANGE_IDENTIFIER_ADDED_CODE = 9000
REQUEST_UPDATED_CODE = 9000
OTP_FAILED_WARNING = 876
CUSTOMER_NOT_IN_ORG_CODE = 816
INVALID_IDENTIFIER_CODE = 802

# v2 identifier types (transfers, reversals, lookups) -> Customer identifier names.
V2_IDENTIFIER_TYPES = {
    "ID": "id",
    "USERID": "id",
    "USER_ID": "id",
    "MOBILE": "mobile",
    "EMAIL": "email",
    "EXTERNALID": "external_id",
    "EXTERNAL_ID": "external_id",
}
ADJUSTMENT_IDENTIFIERS = frozenset({"MOBILE", "EMAIL", "EXTERNALID"})
GROUP_IDENTIFIER_TYPES = frozenset(
    {
        "ID",
        "EXTERNALID",
        "PRIMARYUSERID",
        "PRIMARYUSERMOBILE",
        "PRIMARYUSEREMAIL",
        "PRIMARYUSERCARDNUMBER",
    }
)
ENTITY_TYPES = frozenset({"CUSTOMER", "USERGROUP2", "FLEET"})
IDENTIFIER_ERRORS = (
    InvalidIdentifierError,
    InvalidMobileError,
    InvalidEmailError,
    InvalidExternalIdError,
    NoIdentifierError,
)


# Keys -----------------------------------------------------------------------------------------
def _scoped(endpoint: str, key: str) -> str:
    scoped = f"api:{endpoint}:{key}"
    if len(scoped) > IDEMPOTENCY_KEY_MAX_LENGTH:
        scoped = f"api:{endpoint}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return scoped


def idempotency_key(
    api: BaseApi, endpoint: str, *, contract_key: str = "", index: int | None = None
) -> str | None:
    """The scoped key of a write: the contract's key, else the Idempotency-Key header (per
    till, and per item of a batch), else None."""
    contract_key = (contract_key or "").strip()
    if contract_key:
        return _scoped(endpoint, contract_key)
    header = (api.request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
    if not header:
        return None
    if index is not None:
        header = f"{header}:{index}"
    return _scoped(endpoint, f"till{api.principal.auth_till.pk}:{header}")


def write_key(api: BaseApi, endpoint: str, **kwargs: Any) -> str:
    """idempotency_key(), or a fresh one-off key when the client sent none."""
    return idempotency_key(api, endpoint, **kwargs) or f"api:{endpoint}:once:{uuid.uuid4().hex}"


# Lookups --------------------------------------------------------------------------------------
def _customer_lookup(
    *, org_ids: tuple[int, ...], name: str, value: str, allow_merged: bool = False
) -> Customer:
    """Raises InvalidIdentifierError (8013), CustomerNotFoundError (8015), CustomerMergedError
    (8069)."""
    value = str(value or "").strip()
    if name == "id" and value.isdigit() and int(value) > MAX_DATABASE_ID:
        raise CustomerNotFoundError()
    try:
        return customer_get_by_identifier(
            org_ids=org_ids, identifier_name=name, identifier_value=value, allow_merged=allow_merged
        )
    except (InvalidMobileError, InvalidEmailError, InvalidExternalIdError) as exc:
        raise InvalidIdentifierError(f"Invalid identifier value: {exc.message}") from exc


def v2_customer(
    *, org_ids: tuple[int, ...], type: str, value: str, allow_merged: bool = False
) -> Customer:
    """A customer named by a v2 identifier {type: ID|MOBILE|EMAIL|EXTERNAL_ID, value}."""
    name = V2_IDENTIFIER_TYPES.get(str(type or "").strip().upper())
    if name is None:
        raise InvalidIdentifierError(
            f"Invalid identifier type {type!r}: use ID, MOBILE, EMAIL or EXTERNAL_ID"
        )
    return _customer_lookup(org_ids=org_ids, name=name, value=value, allow_merged=allow_merged)


def v11_customer(
    *, org_ids: tuple[int, ...], data: dict[str, Any], allow_merged: bool = False
) -> Customer:
    """A customer named by a v1.1 reference (mobile / email / external_id / id). Raises
    NoIdentifierError (none given) and the errors of _customer_lookup."""
    identifier = s.v11_identifier(data or {})
    if identifier is None:
        raise NoIdentifierError("Give mobile, email, external_id or id")
    name, value = identifier
    if name == "card":
        # Cards are not kept by this platform, so no customer matches one.
        raise CustomerNotFoundError(f"No customer with card {value!r}")
    return _customer_lookup(org_ids=org_ids, name=name, value=value, allow_merged=allow_merged)


def customer_by_path_id(
    *, org_ids: tuple[int, ...], customer_id: int, allow_merged: bool = False
) -> Customer:
    return _customer_lookup(
        org_ids=org_ids, name="id", value=str(customer_id), allow_merged=allow_merged
    )


def group_lookup(*, org_ids: tuple[int, ...], identifier_type: str, value: str) -> UserGroup:
    """A user group by id, externalId or its primary member (id, mobile, email). Raises
    GroupNotFoundError (1632)."""
    kind = str(identifier_type or "").strip().upper()
    value = str(value or "").strip()
    if kind not in GROUP_IDENTIFIER_TYPES or not value:
        raise GroupNotFoundError(f"Invalid group identifier type {identifier_type!r}")
    if kind == "ID":
        if not value.isdigit() or int(value) > MAX_DATABASE_ID:
            raise GroupNotFoundError(f"Group id {value} passed is not valid")
        return user_group_get(org_ids=org_ids, group_id=int(value))
    if kind == "EXTERNALID":
        return user_group_get(org_ids=org_ids, external_id=value)
    if kind == "PRIMARYUSERCARDNUMBER":
        raise GroupNotFoundError("Cards are not kept by this platform")
    name = {"PRIMARYUSERID": "id", "PRIMARYUSERMOBILE": "mobile", "PRIMARYUSEREMAIL": "email"}
    try:
        primary = _customer_lookup(org_ids=org_ids, name=name[kind], value=value)
    except DomainError as exc:
        raise GroupNotFoundError(f"No group with primary member {value!r}") from exc
    return user_group_get(org_ids=org_ids, primary_user_id=primary.pk)


def v11_code(exc: DomainError) -> int:
    """The v1.1 points item code of an error: 816 customer not in the org, 802 bad identifier."""
    if isinstance(exc, CustomerNotFoundError):
        return CUSTOMER_NOT_IN_ORG_CODE
    if isinstance(exc, IDENTIFIER_ERRORS):
        return INVALID_IDENTIFIER_CODE
    return exc.code


def v2_error(exc: DomainError) -> dict[str, Any]:
    return {"status": False, "code": exc.code, "message": exc.message}


class ItemInputError(DomainError):
    """One v1.1 batch item is malformed (its fields' errors, first field's code)."""


def item_input(raw: Any, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ItemInputError("Each item must be an object")
    serializer = serializer_class(data=raw)
    if not serializer.is_valid():
        errors = flatten_validation_errors(serializer.errors)
        raise ItemInputError("; ".join(item.message for item in errors), code=errors[0].code)
    return dict(serializer.validated_data)


def v11_batch_items(request: Request, serializer_class, key: str) -> list[Any]:
    batch = serializer_class(data=request.data)
    batch.is_valid(raise_exception=True)
    items = batch.validated_data["root"][key]
    if len(items) > V11_BATCH_LIMIT:
        raise BatchLimitError(f"At most {V11_BATCH_LIMIT} items per request ({len(items)} sent)")
    return items


def customer_echo(data: Any) -> dict[str, str]:
    """The identifiers a v1.1 item was sent with (reported back when it fails)."""
    if not isinstance(data, dict):
        return {}
    return {
        key: str(data[key])
        for key in ("mobile", "email", "external_id")
        if isinstance(data.get(key), (str, int))
    }


def customer_identifiers(customer: Customer) -> dict[str, str]:
    return {
        "mobile": customer.mobile or "",
        "email": customer.email or "",
        "external_id": customer.external_id or "",
        "user_id": str(customer.pk),
    }


# v1.1 check and validation code ---------------------------------------------------------------
class PointsIsRedeemableApi(BaseApi):
    envelope = Envelope.V11

    @extend_schema(
        tags=["points v1.1"],
        summary="Check whether a customer can redeem points (every failed rule is reported)",
        parameters=[s.PointsIsRedeemableQueryInputSerializer],
        responses=s.PointsIsRedeemableOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        query = s.PointsIsRedeemableQueryInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        item: dict[str, Any] = {**customer_echo(data), "points": data["points"]}
        warnings: list[str] = []
        try:
            customer = v11_customer(org_ids=self.scope.org_ids, data=data)
            program = points_program_get(org_id=customer.org_id, program_id=data["program_id"])
        except DomainError as exc:
            return self._answer(item, [exc], warnings)
        item.update(customer_identifiers(customer))
        skip = data["skip_validation"] or data["validation_type"].upper() == "INVALID"
        amount, errors = points_redeem_check(
            customer=customer,
            program=program,
            points=data["points"],
            group_redemption=data["group_redemption"],
            validation_code="" if skip else data["validation_code"],
        )
        if amount is not None:
            values = points_currency_values(
                program=program, points=amount, till=self.principal.till
            )
            item.update(
                points_redeem_value=values["base_value"],
                points_redeem_local_value=values["local_value"],
                points_currency_ratio=s.points_text(values["ratio"]),
            )
        if not errors and data["issue_otp"]:
            try:
                services.points_validation_code_issue(
                    customer=customer, points=amount, purpose=ValidationCodePurpose.REDEMPTION
                )
            except DomainError:
                warnings.append(str(OTP_FAILED_WARNING))
        return self._answer(item, errors, warnings)

    def _answer(
        self, item: dict[str, Any], errors: list[DomainError], warnings: list[str]
    ) -> Response:
        ok = not errors
        if ok:
            status = v11_item_status(
                success=True,
                code=POINTS_SUCCESS_CODE,
                message="Points can be redeemed",
                warnings=warnings,
            )
        else:
            first = errors[0]
            status = v11_item_status(
                success=False,
                code=v11_code(first),
                message="; ".join(error.message for error in errors),
                warnings=warnings,
            )
            item["errors"] = [
                {"code": v11_code(error), "message": error.message} for error in errors
            ]
        item.update(is_redeemable="true" if ok else "false", item_status=status)
        body = {
            "response": {
                "status": v11_status(
                    success=ok,
                    code=200 if ok else 500,
                    message="SUCCESS" if ok else "All requests have failed due to errors",
                ),
                "points": {"redeemable": item},
            }
        }
        return Response(s.PointsIsRedeemableOutputSerializer(body).data)


class PointsValidationCodeApi(BaseApi):
    envelope = Envelope.V11

    @extend_schema(
        tags=["points v1.1"],
        summary="Send the customer a validation code for redeeming points (same code when "
        "asked again while it is valid)",
        parameters=[s.PointsValidationCodeQueryInputSerializer],
        responses=s.PointsValidationCodeOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        query = s.PointsValidationCodeQueryInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        item: dict[str, Any] = {**customer_echo(data), "points": data["points"]}
        try:
            customer = v11_customer(org_ids=self.scope.org_ids, data=data)
            item.update(customer_identifiers(customer))
            issue = services.points_validation_code_issue(
                customer=customer,
                points=data["points"],
                purpose=ValidationCodePurpose.REDEMPTION,
                actor=self.principal.till,
            )
        except DomainError as exc:
            ok = False
            item["item_status"] = v11_item_status(
                success=False, code=v11_code(exc), message=exc.message
            )
        else:
            ok = True
            item["points"] = s.points_text(issue.points)
            item["item_status"] = v11_item_status(
                success=True, code=200, message="Validation Code Issued by SMS/Email"
            )
        body = {
            "response": {
                "status": v11_status(
                    success=ok,
                    code=200 if ok else 500,
                    message="Operation Successful" if ok else "All requests have failed",
                ),
                "validation_code": {"code": item},
            }
        }
        return Response(s.PointsValidationCodeOutputSerializer(body).data)


# Redemptions ----------------------------------------------------------------------------------
def redemption_balance(redemption: PointsRedemption, customer: Customer, program) -> Decimal:
    if redemption.is_group_redemption:
        return points_available_total(
            owner=customer, programs=points_active_programs(org_id=customer.org_id)
        )
    return points_available_get(customer=customer, program=program)


class PointsRedeemV11Api(BaseApi):
    envelope = Envelope.V11
    endpoint = "v1.1/points/redeem"

    @extend_schema(
        tags=["points v1.1"],
        summary="Redeem points (batch; each item needs its validation code unless "
        "skip_validation=true)",
        parameters=[s.PointsV11RedeemQueryInputSerializer, IDEMPOTENCY_PARAMETER],
        request=s.PointsV11RedeemBatchInputSerializer,
        responses=s.PointsV11RedeemOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        query = s.PointsV11RedeemQueryInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        items = v11_batch_items(request, s.PointsV11RedeemBatchInputSerializer, "redeem")
        org = org_get(org_id=self.scope.write_org_id)
        results = [
            self._redeem_one(org=org, raw=raw, index=index, params=params)
            for index, raw in enumerate(items)
        ]
        success_count = sum(1 for item in results if item["item_status"]["success"] == "true")
        body = {
            "response": {
                "status": v11_batch_status(len(results), success_count, success_code=200),
                "responses": {"points": results},
            }
        }
        return Response(s.PointsV11RedeemOutputSerializer(body).data)

    def _redeem_one(
        self, *, org: Org, raw: Any, index: int, params: dict[str, Any]
    ) -> dict[str, Any]:
        echo = customer_echo(raw.get("customer") if isinstance(raw, dict) else None)
        if isinstance(raw, dict) and isinstance(raw.get("points_redeemed"), (str, int, float)):
            echo["points_redeemed"] = str(raw["points_redeemed"])
        try:
            data = item_input(raw, s.PointsV11RedeemItemInputSerializer)
            customer = v11_customer(org_ids=(org.pk,), data=data["customer"])
            program = points_program_get(org_id=org.pk, program_id=params["program_id"])
            try:
                redeemed_at = s.parse_v11_time(data["redemption_time"], org.tzinfo)
            except serializers.ValidationError as exc:
                raise ItemInputError(f"redemption_time: {exc.detail[0]}") from exc
            key = write_key(
                self,
                self.endpoint,
                contract_key=data["external_reference_number"],
                index=index,
            )
            skip = params["skip_validation"] or params["validation_type"].upper() == "INVALID"
            redemption = services.points_redemption_submit(
                customer=customer,
                program=program,
                points=data["points_redeemed"],
                actor=self.principal.till,
                idempotency_key=key,
                validation_code=data["validation_code"],
                skip_validation=skip,
                group_redemption=params["group_redemption"] or data["group_redemption"],
                transaction_number=data["transaction_number"],
                external_reference=data["external_reference_number"],
                purpose=data["redemption_purpose"],
                notes=data["notes"],
                redeemed_at=redeemed_at,
                custom_fields=data.get("custom_fields"),
            )
        except DomainError as exc:
            status = v11_item_status(success=False, code=v11_code(exc), message=exc.message)
            return {**echo, "item_status": status}
        values = points_currency_values(
            program=program, points=redemption.points, till=self.principal.till
        )
        return {
            **customer_identifiers(customer),
            "redemption_id": redemption.code,
            "points_redeemed": s.points_text(redemption.points),
            "redeemed_value": values["base_value"],
            "redeemed_local_value": values["local_value"],
            "balance": redemption_balance(redemption, customer, program),
            "side_effects": {
                "effect": [
                    {
                        "id": redemption.pk,
                        "case_value": "true",
                        "num_points": redemption.points,
                        "currency_value": values["base_value"],
                        "validation_code": redemption.validation_code,
                        "points_redemption_summary_id": str(redemption.pk),
                        "redeemed_on_bill_number": redemption.transaction_number,
                        "redeemed_on_bill_id": redemption.bill_id or -1,
                        "type": "points",
                    }
                ]
            },
            "item_status": v11_item_status(
                success=True, code=POINTS_SUCCESS_CODE, message="Points Redeemed"
            ),
        }


class PointsRedeemV2Api(BaseApi):
    envelope = Envelope.V2
    endpoint = "v2/customers/redemptions"

    @extend_schema(
        tags=["points"],
        summary="Redeem a customer's points (commit=false only checks)",
        parameters=[
            OpenApiParameter("customer_id", int, OpenApiParameter.PATH),
            IDEMPOTENCY_PARAMETER,
        ],
        request=s.PointsRedeemV2InputSerializer,
        responses=s.PointsRedeemV2OutputSerializer,
    )
    def post(self, request: Request, customer_id: int) -> Response:
        serializer = s.PointsRedeemV2InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        org_id = self.scope.write_org_id
        customer = customer_by_path_id(org_ids=(org_id,), customer_id=customer_id)
        program = points_program_get(org_id=org_id, program_id=data.get("programId"))
        group = data["groupRedemption"]
        if not data["commit"]:
            return self._check(customer=customer, program=program, data=data)
        redemption = services.points_redemption_submit(
            customer=customer,
            program=program,
            points=data["points"],
            actor=self.principal.till,
            idempotency_key=write_key(
                self, self.endpoint, contract_key=data["externalReferenceNumber"]
            ),
            validation_code=data["validationCode"],
            skip_validation=data["skipValidation"],
            group_redemption=group,
            transaction_number=data["transactionNumber"],
            external_reference=data["externalReferenceNumber"],
            purpose=data["purpose"],
            notes=data["notes"],
            source=data["source"].upper(),
        )
        values = points_currency_values(
            program=program, points=redemption.points, till=self.principal.till
        )
        body = {
            "redemptionId": redemption.code,
            "customerId": customer.pk,
            "programId": program.pk,
            "pointsRedeemed": redemption.points,
            "redeemedValue": values["base_value"],
            "balance": redemption_balance(redemption, customer, program),
            "transactionNumber": redemption.transaction_number,
            "externalReferenceNumber": redemption.external_reference,
            "groupRedemption": redemption.is_group_redemption,
            "committed": True,
            "redemptionDate": s.iso_datetime(redemption.created_at, customer.org.tzinfo),
            "warnings": [],
        }
        return Response(s.PointsRedeemV2OutputSerializer(body).data)

    def _check(self, *, customer: Customer, program, data: dict[str, Any]) -> Response:
        amount, errors = points_redeem_check(
            customer=customer,
            program=program,
            points=data["points"],
            group_redemption=data["groupRedemption"],
            validation_code="" if data["skipValidation"] else data["validationCode"],
        )
        if errors:
            return render_error(
                Envelope.V2,
                ApiErrorResponse(
                    400, [ApiErrorItem(error.code, error.message) for error in errors]
                ),
            )
        values = points_currency_values(program=program, points=amount, till=self.principal.till)
        if data["groupRedemption"]:
            programs = points_active_programs(org_id=customer.org_id)
            balance = points_available_total(owner=customer, programs=programs)
        else:
            balance = points_available_get(customer=customer, program=program)
        body = {
            "redemptionId": None,
            "customerId": customer.pk,
            "programId": program.pk,
            "pointsRedeemed": amount,
            "redeemedValue": values["base_value"],
            "balance": balance,
            "transactionNumber": data["transactionNumber"],
            "externalReferenceNumber": data["externalReferenceNumber"],
            "groupRedemption": data["groupRedemption"],
            "committed": False,
            "redemptionDate": None,
            "warnings": [],
        }
        return Response(s.PointsRedeemV2OutputSerializer(body).data)


class PointsRedemptionUpdateApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=["points"],
        summary="Set a redemption's bill number / bill id / purpose / custom fields",
        request=s.PointsUpdateRedemptionInputSerializer,
        responses=s.PointsUpdateRedemptionOutputSerializer,
    )
    def put(self, request: Request) -> Response:
        serializer = s.PointsUpdateRedemptionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        redemption_id = data["redemptionId"].strip()
        reference = data["externalReferenceNumber"].strip()
        if bool(redemption_id) == bool(reference):
            raise RedemptionIdentifierError()
        org_ids = (self.scope.write_org_id,)
        owner = self._entity_owner(org_ids=org_ids, entity=data.get("entity"))
        redemption = points_redemption_find(
            org_ids=org_ids,
            redemption_id=redemption_id or None,
            external_reference=reference or None,
        )
        if redemption.owner != owner:
            raise InvalidEntityError("The redemption does not belong to the entity")
        updated = services.points_redemption_details_update(
            redemption=redemption,
            actor=self.principal.till,
            bill_number=data.get("billNumber") or None,
            bill_id=data.get("billId"),
            purpose=data.get("purpose") or None,
            custom_fields=data.get("customFields"),
        )
        body = s.redemption_v2_representation(
            updated, points_redemption_program_points(redemption=updated)
        )
        return Response(s.PointsUpdateRedemptionOutputSerializer(body).data)

    def _entity_owner(
        self, *, org_ids: tuple[int, ...], entity: dict[str, Any] | None
    ) -> Customer | UserGroup:
        """Raises InvalidEntityError (1219), InvalidEntityTypeError (1212)."""
        if not entity or not entity.get("type"):
            raise InvalidEntityError("entity {type, identifierType, identifierValue} is required")
        kind = entity["type"].strip().upper()
        if kind not in ENTITY_TYPES:
            raise InvalidEntityTypeError()
        try:
            if kind == "CUSTOMER":
                return v2_customer(
                    org_ids=org_ids,
                    type=entity.get("identifierType", ""),
                    value=entity.get("identifierValue", ""),
                    allow_merged=True,
                )
            return group_lookup(
                org_ids=org_ids,
                identifier_type=entity.get("identifierType", ""),
                value=entity.get("identifierValue", ""),
            )
        except DomainError as exc:
            raise InvalidEntityError(f"Invalid entity: {exc.message}") from exc


class PointsReverseApi(BaseApi):
    envelope = Envelope.V2
    endpoint = "v2/points/reverse"

    @extend_schema(
        tags=["points"],
        summary="Reverse a redemption (all that is left, or pointsToBeReversed)",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=s.PointsReverseInputSerializer,
        responses=s.PointsReverseOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        serializer = s.PointsReverseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        org = org_get(org_id=self.scope.write_org_id)
        identifier = data.get("identifier")
        customer = None
        if identifier:
            customer = v2_customer(
                org_ids=(org.pk,),
                type=identifier["type"],
                value=identifier["value"],
                allow_merged=True,
            )
        event = services.points_redemption_reverse(
            org=org,
            redemption_id=data["redemptionId"],
            actor=self.principal.till,
            idempotency_key=write_key(self, self.endpoint),
            points=data.get("pointsToBeReversed"),
            customer=customer,
        )
        redemption = PointsRedemption.objects.get(event_id=event.corrects_id)
        body = {
            "redemptionId": redemption.code,
            "pointsToBeReversed": data.get("pointsToBeReversed") or event.net_points,
            "orgId": org.pk,
            "identifier": dict(identifier) if identifier else None,
            "customerId": redemption.customer_id,
            "pointsReversed": event.net_points,
            "reversalId": str(event.pk),
            "warnings": [],
        }
        return Response(s.PointsReverseOutputSerializer(body).data)


# Transfers ------------------------------------------------------------------------------------
def _transfer_parties(api: BaseApi, data: dict[str, Any]) -> tuple[Customer, Customer, Any]:
    org_ids = (api.scope.write_org_id,)
    sender = v2_customer(org_ids=org_ids, allow_merged=True, **data["fromCustomerIdentifier"])
    receiver = v2_customer(org_ids=org_ids, allow_merged=True, **data["toCustomerIdentifier"])
    program = points_program_get(org_id=org_ids[0], program_id=data.get("programId"))
    return sender, receiver, program


def transfer_customer(org_ids: tuple[int, ...], customer: Customer) -> dict[str, Any]:
    """The full v2 customer, as the isTransferrable sample shows it (segments are not kept)."""
    data = customer_v2_representation(customer_details_get(org_ids=org_ids, customer=customer))
    data.setdefault("segments", {})
    return data


class PointsIsTransferrableApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=["points transfers"],
        summary="Check a transfer between two customers (issueOtp: send the sender a code)",
        request=s.PointsTransferInputSerializer,
        responses=s.PointsIsTransferrableOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        serializer = s.PointsTransferInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sender, receiver, program = _transfer_parties(self, data)
        errors = points_transfer_check(
            sender=sender, receiver=receiver, program=program, points=data["pointsTobeTransferred"]
        )
        warnings = []
        if not errors and data["issueOtp"]:
            try:
                services.points_validation_code_issue(
                    customer=sender,
                    points=data["pointsTobeTransferred"],
                    purpose=ValidationCodePurpose.TRANSFER,
                    actor=self.principal.till,
                )
            except DomainError as exc:
                warnings.append(v2_error(exc))
        org_ids = self.scope.org_ids
        body = {
            "data": [
                {
                    "pointsTobeTransferred": Decimal(data["pointsTobeTransferred"]),
                    "transferFrom": transfer_customer(org_ids, sender),
                    "transferTo": transfer_customer(org_ids, receiver),
                    "transferrable": not errors,
                }
            ],
            "warnings": warnings,
            "errors": [v2_error(error) for error in errors],
        }
        return Response(s.PointsIsTransferrableOutputSerializer(body).data)


def transfer_response(result, *, tz, with_entities: bool = False) -> dict[str, Any]:
    event = points_transfer_event_get(event_id=result.sender_event.pk)
    breakup = points_transfer_sender_balances(event=event) if with_entities else None
    return {
        "data": [
            s.transfer_representation(event, tz=tz, with_entities=with_entities, breakup=breakup)
        ],
        "warnings": [],
        "errors": [],
    }


class PointsTransferApi(BaseApi):
    envelope = Envelope.V2
    endpoint = "v2/points/transfer"

    @extend_schema(
        tags=["points transfers"],
        summary="Transfer points from one customer to another",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=s.PointsTransferInputSerializer,
        responses=s.PointsTransferOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        serializer = s.PointsTransferInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sender, receiver, program = _transfer_parties(self, data)
        result = services.points_transfer_submit(
            sender=sender,
            receiver=receiver,
            program=program,
            points=data["pointsTobeTransferred"],
            actor=self.principal.till,
            idempotency_key=write_key(self, self.endpoint),
            validation_code=data["code"],
            notes=data["notes"],
        )
        body = transfer_response(result, tz=sender.org.tzinfo)
        return Response(s.PointsTransferOutputSerializer(body).data)

    @extend_schema(
        tags=["points transfers"],
        summary="Transfers of a customer (or, with userEntityType=USERGROUP2, a group)",
        parameters=[s.PointsTransferHistoryQueryInputSerializer],
        responses=s.PointsTransferOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        query = s.PointsTransferHistoryQueryInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        org_ids = self.scope.org_ids
        owner: Customer | UserGroup
        if params["userEntityType"] == "USERGROUP2":
            owner = group_lookup(
                org_ids=org_ids,
                identifier_type=params["identifierName"],
                value=params["identifierValue"],
            )
        else:
            owner = v2_customer(
                org_ids=org_ids,
                type=params["identifierName"],
                value=params["identifierValue"],
                allow_merged=True,
            )
        return transfers_page_response(owner, params)


def transfers_page_response(owner: Customer | UserGroup, params: dict[str, Any]) -> Response:
    page = points_transfer_events(
        owner=owner,
        program_id=params.get("programId"),
        offset=params["offset"],
        limit=params["limit"],
    )
    tz = owner.org.tzinfo
    body = {
        "data": [
            s.transfer_representation(event, tz=tz, with_entities=True) for event in page.items
        ],
        "warnings": [],
        "errors": [],
    }
    return Response(s.PointsTransferOutputSerializer(body).data)


class CustomerPointsTransfersApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=["points transfers"],
        summary="A customer's points transfers (DEDUCTION sent, ADDITION received)",
        parameters=[
            OpenApiParameter("customer_id", int, OpenApiParameter.PATH),
            s.PointsTransfersPageQueryInputSerializer,
        ],
        responses=s.PointsTransferOutputSerializer,
    )
    def get(self, request: Request, customer_id: int) -> Response:
        query = s.PointsTransfersPageQueryInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer = customer_by_path_id(
            org_ids=self.scope.org_ids, customer_id=customer_id, allow_merged=True
        )
        return transfers_page_response(customer, query.validated_data)


class _GroupTransferBase(BaseApi):
    envelope = Envelope.V2

    def parties(self, data: dict[str, Any]) -> tuple[Any, Any, Customer, Any]:
        """(sender, receiver, transferredBy customer, program); a group sender's points may be
        moved only by one of its members (1620)."""
        org_ids = (self.scope.write_org_id,)
        by = data["transferredBy"]
        transferred_by = v2_customer(
            org_ids=org_ids, type=by["identifierType"], value=by["identifierValue"]
        )
        sender = self._entity(org_ids, data["fromEntity"])
        receiver = self._entity(org_ids, data["toEntity"])
        if isinstance(sender, UserGroup):
            is_member = UserGroupMembership.objects.filter(
                group=sender, customer=transferred_by, is_active=True
            ).exists()
            if not is_member:
                raise UserNotInGroupError(
                    f"Customer {transferred_by.pk} is not a member of group {sender.pk}"
                )
        program = points_program_get(org_id=org_ids[0], program_id=data.get("programId"))
        return sender, receiver, transferred_by, program

    def _entity(self, org_ids: tuple[int, ...], entity: dict[str, Any]) -> Customer | UserGroup:
        if entity["type"] == "USERGROUP2":
            return group_lookup(
                org_ids=org_ids,
                identifier_type=entity["identifierType"],
                value=entity["identifierValue"],
            )
        return v2_customer(
            org_ids=org_ids,
            type=entity["identifierType"],
            value=entity["identifierValue"],
            allow_merged=True,
        )


class UserGroupPointsIsTransferrableApi(_GroupTransferBase):
    @extend_schema(
        tags=["points transfers"],
        summary="Check a transfer between a user group and a customer (or another group)",
        request=s.PointsGroupTransferInputSerializer,
        responses=s.PointsGroupIsTransferrableOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        serializer = s.PointsGroupTransferInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sender, receiver, _by, program = self.parties(data)
        errors = points_transfer_check(
            sender=sender, receiver=receiver, program=program, points=data["pointsTobeTransferred"]
        )
        body = {
            "data": [
                {
                    "pointsTobeTransferred": Decimal(data["pointsTobeTransferred"]),
                    "transferrable": not errors,
                }
            ],
            "warnings": [],
            "errors": [v2_error(error) for error in errors],
        }
        return Response(s.PointsGroupIsTransferrableOutputSerializer(body).data)


class UserGroupPointsTransferApi(_GroupTransferBase):
    endpoint = "v2/points/userGroup2/transfer"

    @extend_schema(
        tags=["points transfers"],
        summary="Transfer points between a user group and a customer (or another group)",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=s.PointsGroupTransferInputSerializer,
        responses=s.PointsTransferOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        serializer = s.PointsGroupTransferInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sender, receiver, transferred_by, program = self.parties(data)
        result = services.points_transfer_submit(
            sender=sender,
            receiver=receiver,
            program=program,
            points=data["pointsTobeTransferred"],
            actor=self.principal.till,
            idempotency_key=write_key(self, self.endpoint),
            notes=data["notes"],
            triggered_by=transferred_by,
        )
        body = transfer_response(result, tz=sender.org.tzinfo, with_entities=True)
        return Response(s.PointsTransferOutputSerializer(body).data)


# Member-care requests (v1.1) ------------------------------------------------------------------
def request_item(request: PointsRequest, *, code: int, message: str) -> dict[str, Any]:
    return {
        **s.request_v11_representation(request),
        "item_status": v11_item_status(success=True, code=code, message=message),
    }


def request_failure(raw: Any, exc: DomainError) -> dict[str, Any]:
    echo: dict[str, Any] = {}
    if isinstance(raw, dict):
        for key in ("reference_id", "id", "type", "base_type"):
            if isinstance(raw.get(key), (str, int)):
                echo[key] = str(raw[key])
    status = v11_item_status(success=False, code=v11_code(exc), message=exc.message)
    return {**echo, "item_status": status}


def requests_response(results: list[dict[str, Any]]) -> Response:
    success_count = sum(1 for item in results if item["item_status"]["success"] == "true")
    body = {
        "response": {
            "status": v11_batch_status(len(results), success_count, success_code=200),
            "requests": {"request": results},
        }
    }
    return Response(s.PointsRequestBatchOutputSerializer(body).data)


class PointsRequestAddApi(BaseApi):
    envelope = Envelope.V11
    endpoint = "v1.1/request/add"

    @extend_schema(
        tags=["requests v1.1"],
        summary="Add goodwill-points or customer-merge requests (batch; client_auto_approve "
        "approves at once)",
        parameters=[s.PointsRequestQueryInputSerializer, IDEMPOTENCY_PARAMETER],
        request=s.PointsRequestBatchInputSerializer,
        responses=s.PointsRequestBatchOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        query = s.PointsRequestQueryInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        items = v11_batch_items(request, s.PointsRequestBatchInputSerializer, "request")
        org = org_get(org_id=self.scope.write_org_id)
        return requests_response(
            [
                self._add_one(org=org, raw=raw, index=index, params=params)
                for index, raw in enumerate(items)
            ]
        )

    def _add_one(self, *, org: Org, raw: Any, index: int, params: dict[str, Any]) -> dict[str, Any]:
        try:
            data = item_input(raw, s.PointsRequestItemInputSerializer)
            type, base_type = points_request_kind(data["type"], data["base_type"])
            is_merge = base_type == PointsRequest.BaseType.MERGE
            if s.v11_identifier(data["customer"]) is None:
                raise RequestIdentifiersMissingError()
            customer = v11_customer(org_ids=(org.pk,), data=data["customer"], allow_merged=is_merge)
            program = target = None
            if is_merge:
                target = self._survivor(org, data)
            else:
                program = points_program_get(org_id=org.pk, program_id=params["program_id"])
            created = services.points_request_add(
                org=org,
                type=type,
                base_type=base_type,
                customer=customer,
                actor=self.principal.till,
                idempotency_key=idempotency_key(
                    self, self.endpoint, contract_key=data["reference_id"], index=index
                ),
                reference_id=data["reference_id"],
                program=program,
                points=data.get("points"),
                target_customer=target,
                reason=data["reason"],
                comments=data["comments"],
                auto_approve=params["client_auto_approve"],
                one_step=params["is_one_step_change"],
            )
        except DomainError as exc:
            return request_failure(raw, exc)
        if created.type == PointsRequest.Type.GOODWILL:
            return request_item(
                created, code=GOODWILL_ADDED_CODE, message="Goodwill request added successfully"
            )
        return request_item(
            created,
            code=CHANGE_IDENTIFIER_ADDED_CODE,
            message="Change Identifier request added successfully",
        )

    def _survivor(self, org: Org, data: dict[str, Any]) -> Customer:
        target = (data.get("misc_info") or {}).get("target_customer") or {}
        if s.v11_identifier(target) is None:
            raise RequestMergeTargetInvalidError("misc_info.target_customer is required")
        try:
            return v11_customer(org_ids=(org.pk,), data=target, allow_merged=True)
        except DomainError as exc:
            raise RequestMergeTargetInvalidError(f"Target customer: {exc.message}") from exc


class _PointsRequestDecisionApi(BaseApi):
    envelope = Envelope.V11
    endpoint = ""

    def decide(self, request: Request, decide: Callable[..., PointsRequest]) -> Response:
        items = v11_batch_items(request, s.PointsRequestBatchInputSerializer, "request")
        org_ids = (self.scope.write_org_id,)
        results = []
        for index, raw in enumerate(items):
            try:
                data = item_input(raw, s.PointsRequestDecisionItemInputSerializer)
                found = points_request_get(org_ids=org_ids, request_id=data["id"])
                if data["type"] and data["type"].strip().upper() != found.type:
                    raise RequestTypeInvalidError(f"Request {found.pk} is a {found.type} request")
                if data["base_type"] and data["base_type"].strip().upper() != found.base_type:
                    raise RequestBaseTypeInvalidError(
                        f"Request {found.pk} has base type {found.base_type}"
                    )
                decided = decide(
                    found,
                    data,
                    idempotency_key(self, self.endpoint, index=index),
                )
            except DomainError as exc:
                results.append(request_failure(raw, exc))
                continue
            results.append(
                request_item(
                    decided, code=REQUEST_UPDATED_CODE, message="Request updated successfully"
                )
            )
        return requests_response(results)


class PointsRequestApproveApi(_PointsRequestDecisionApi):
    endpoint = "v1.1/request/approve"

    @extend_schema(
        tags=["requests v1.1"],
        summary="Approve pending requests (goodwill credits the points; a merge runs)",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=s.PointsRequestBatchInputSerializer,
        responses=s.PointsRequestBatchOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        def approve(found: PointsRequest, data: dict[str, Any], key: str | None):
            return services.points_request_approve(
                request=found,
                actor=self.principal.till,
                points=data.get("points"),
                updated_comments=data["updated_comments"],
                idempotency_key=key,
            )

        return self.decide(request, approve)


class PointsRequestRejectApi(_PointsRequestDecisionApi):
    endpoint = "v1.1/request/reject"

    @extend_schema(
        tags=["requests v1.1"],
        summary="Reject pending requests",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=s.PointsRequestBatchInputSerializer,
        responses=s.PointsRequestBatchOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        def reject(found: PointsRequest, data: dict[str, Any], key: str | None):
            return services.points_request_reject(
                request=found,
                actor=self.principal.till,
                updated_comments=data["updated_comments"],
                idempotency_key=key,
            )

        return self.decide(request, reject)


class CustomerGoodwillRequestsApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=["requests"],
        summary="A customer's goodwill requests, newest first",
        parameters=[
            OpenApiParameter("customer_id", int, OpenApiParameter.PATH),
            s.PointsGoodwillQueryInputSerializer,
        ],
        responses=s.PointsGoodwillListOutputSerializer,
    )
    def get(self, request: Request, customer_id: int) -> Response:
        query = s.PointsGoodwillQueryInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        customer = customer_by_path_id(
            org_ids=self.scope.org_ids, customer_id=customer_id, allow_merged=True
        )
        page = points_requests_list(
            customer=customer,
            request_id=params.get("requestId"),
            program_id=params.get("programId"),
            is_auto_approved=params["autoApprove"],
            is_one_step=params["is_one_step_change"],
            offset=params["offset"],
            limit=params["limit"],
        )
        tz = customer.org.tzinfo
        body = {
            "pagination": {
                "limit": params["limit"],
                "offset": params["offset"],
                "total": page.total,
            },
            "data": [s.goodwill_representation(item, tz) for item in page.items],
            "warnings": [],
            "errors": [],
        }
        return Response(s.PointsGoodwillListOutputSerializer(body).data)


# Negative adjustment --------------------------------------------------------------------------
def _optional_text(value: Any) -> str:
    return "" if value in (None, "") else str(value).strip()


class PointsNegativeAdjustmentApi(BaseApi):
    envelope = Envelope.V2
    endpoint = "v2/customers/lookup/negativePointsAdjustment"

    @extend_schema(
        tags=["points"],
        summary="Deduct points from a customer (member-care adjustment with a reason)",
        parameters=[s.PointsAdjustmentQueryInputSerializer, IDEMPOTENCY_PARAMETER],
        request=s.PointsNegativeAdjustmentInputSerializer,
        responses=s.PointsNegativeAdjustmentOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        query = s.PointsAdjustmentQueryInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        name = params["identifierName"].strip().upper()
        if name not in ADJUSTMENT_IDENTIFIERS:
            raise InvalidIdentifierError(
                f"Invalid identifierName {params['identifierName']!r}: use mobile, email or "
                "externalId"
            )
        source = params["source"].strip().upper()
        if source and source != "ALL" and source not in RegistrationSource.values:
            raise InvalidSourceError(f"Invalid source {params['source']!r}")
        org_id = self.scope.write_org_id
        customer = v2_customer(org_ids=(org_id,), type=name, value=params["identifierValue"])
        serializer = s.PointsNegativeAdjustmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("valueToBeAdjusted") is not None or data["alternateCurrencyName"]:
            raise AlternateCurrencyUnknownError(
                f"Unknown alternate currency {data['alternateCurrencyName']!r}"
            )
        points = data.get("pointsToBeAdjusted")
        if points in (None, "") or isinstance(points, (bool, dict, list)):
            raise InvalidPointsError("pointsToBeAdjusted is required")
        program_id = _optional_text(data.get("programId"))
        program = points_program_get(org_id=org_id, program_id=program_id or None)
        awarded_id = _optional_text(data.get("pointsAwardedId"))
        if awarded_id and (not awarded_id.isdigit() or int(awarded_id) > MAX_DATABASE_ID):
            raise AdjustmentAwardInvalidError(f"Invalid pointsAwardedId {awarded_id!r}")
        category = data.get("pointCategoryTypes") or "REGULAR"
        services.points_negative_adjust(
            customer=customer,
            program=program,
            points=points,
            reason=data.get("reasonOfReturn", ""),
            actor=self.principal.till,
            idempotency_key=write_key(self, self.endpoint),
            category=category,
            program_given=bool(program_id),
            points_awarded_id=int(awarded_id) if awarded_id else None,
            points_awarded_ref_type=data["pointsAwardedRefType"].strip().lower(),
            promotion_id=_optional_text(data.get("promotionId")),
            promotion_identifier=data["promotionIdentifier"].strip(),
        )
        available = points_balance_get(customer=customer, program=program, category=category)
        body = {
            "status": "success",
            "pointsAvailable": s.points_fixed(available),
            "message": "points deducted successfully for the user ",
            "warnings": [],
        }
        return Response(s.PointsNegativeAdjustmentOutputSerializer(body).data)
