"""Transaction APIs: v2 add / bulk add / get (§11.3) and v1.1 add / get (§11.4).

Each view validates the request, calls members.services.transactions.transaction_submit (one
database transaction per bill) and renders the result. v2 never registers customers; v1.1
registers unknown ones on the fly.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from loyalty_site.api.envelopes import ApiErrorItem, Envelope, v11_status
from loyalty_site.api.exceptions import flatten_validation_errors
from loyalty_site.api.views import BaseApi
from loyalty_site.core.exceptions import DomainError
from members.api.common import (
    V11ItemResult,
    v11_batch_body,
    v11_batch_run,
    v11_item_input,
    v11_item_status_of,
)
from members.api.transactions import serializers as s
from members.exceptions import (
    TransactionBatchLimitError,
    TransactionIdOrNumberMissingError,
    TransactionNotFoundError,
)
from members.models import Org
from members.selectors.transactions import transaction_get, transactions_by_number
from members.services.transactions import transaction_submit

BULK_LIMIT = 100
V11_BATCH_LIMIT = 100
V11_SUCCESS_CODE = 600
IDEMPOTENCY_HEADER = "Idempotency-Key"

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Replays of the same request return the first result (returns use it; adds "
    "are also deduplicated by bill number and store).",
)


def _write_org(view: BaseApi) -> Org:
    return Org.objects.get(pk=view.scope.write_org_id)


class TransactionAddApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=["transactions v2"],
        summary="Add a bill or a return for a registered customer",
        parameters=[
            OpenApiParameter("source", str, required=False, description="INSTORE (default), ..."),
            OpenApiParameter(
                "identifierName", str, required=False, description="mobile, email, externalId or id"
            ),
            OpenApiParameter("identifierValue", str, required=False),
            OpenApiParameter("accountId", str, required=False),
            OpenApiParameter("rawSideEffects", bool, required=False),
            IDEMPOTENCY_PARAMETER,
        ],
        request=s.TransactionV2InputSerializer,
        responses=s.TransactionAddOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        query = s.TransactionAddQueryInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        body = s.TransactionV2InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        bill = s.bill_from_v2(body.validated_data)
        identity = s.identity_from_v2(
            type=bill.type,
            identifier_name=params["identifierName"],
            identifier_value=params["identifierValue"],
            account_id=params["accountId"],
        )
        raw_side_effects = params["rawSideEffects"]
        result = transaction_submit(
            org=_write_org(self),
            actor=self.principal.till,
            bill=bill,
            identity=identity,
            source=params["source"] or "INSTORE",
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
            context={"api": "v2", "raw_side_effects": raw_side_effects},
        )
        data = s.transaction_add_representation(result, raw_side_effects=raw_side_effects)
        return Response(s.TransactionAddOutputSerializer(data).data)


class TransactionBulkAddApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=["transactions v2"],
        summary="Add up to 100 bills or returns; each item succeeds or fails on its own",
        request=s.TransactionV2BulkItemInputSerializer(many=True),
        responses=s.TransactionBulkOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        items = request.data
        if not isinstance(items, list) or not items:
            raise serializers.ValidationError("The body must be a non-empty JSON array of bills")
        if len(items) > BULK_LIMIT:
            raise TransactionBatchLimitError(
                f"At most {BULK_LIMIT} transactions per request ({len(items)} sent)"
            )
        org = _write_org(self)
        responses = [self._add_one(org=org, raw=raw) for raw in items]
        body = {
            "response": responses,
            "totalCount": len(responses),
            "failureCount": sum(1 for item in responses if item["errors"]),
        }
        return Response(s.TransactionBulkOutputSerializer(body).data)

    def _add_one(self, *, org: Org, raw: Any) -> dict[str, Any]:
        echo = dict(raw) if isinstance(raw, dict) else {}
        serializer = s.TransactionV2BulkItemInputSerializer(data=raw)
        if not serializer.is_valid():
            errors = [item.as_v2() for item in flatten_validation_errors(serializer.errors)]
            return {"entityId": None, "result": echo, "errors": errors, "warnings": []}
        data = serializer.validated_data
        try:
            bill = s.bill_from_v2(data)
            result = transaction_submit(
                org=org,
                actor=self.principal.till,
                bill=bill,
                identity=s.identity_from_v2(
                    type=bill.type,
                    identifier_name=data["identifierType"],
                    identifier_value=data["identifierValue"],
                    account_id=data.get("accountId"),
                ),
                source=data["source"] or "INSTORE",
                context={"api": "v2", "raw_side_effects": False},
            )
        except DomainError as exc:
            return {
                "entityId": None,
                "result": echo,
                "errors": [ApiErrorItem(code=exc.code, message=exc.message).as_v2()],
                "warnings": [],
            }
        regular, _raw = s.split_side_effects(result.side_effects)
        txn = result.transaction
        return {
            "entityId": txn.pk,
            "result": {
                **echo,
                "sideEffects": regular,
                "billingDate": serializers.DateTimeField().to_representation(txn.billed_at),
            },
            "errors": [],
            "warnings": list(result.warnings),
        }


class TransactionGetApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=["transactions v2"],
        summary="Get a transaction of the caller's org(s) with its line items",
        parameters=[
            OpenApiParameter("transaction_id", int, OpenApiParameter.PATH),
            OpenApiParameter(
                "type",
                str,
                required=False,
                description="REGULAR, RETURN, NOT_INTERESTED, NOT_INTERESTED_RETURN",
            ),
        ],
        responses=s.TransactionGetOutputSerializer,
    )
    def get(self, request: Request, transaction_id: int) -> Response:
        txn = transaction_get(
            org_ids=self.scope.org_ids,
            transaction_id=transaction_id,
            type=request.query_params.get("type") or None,
        )
        return Response(
            s.TransactionGetOutputSerializer(txn, include_org=self.scope.is_connected).data
        )


# v1.1 ---------------------------------------------------------------------------------------
def _v11_echo(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {"number": "", "type": ""}
    return {
        "number": str(raw.get("number") or ""),
        "bill_client_id": str(raw.get("bill_client_id") or ""),
        "type": str(raw.get("type") or "").upper(),
    }


class TransactionV11AddApi(BaseApi):
    envelope = Envelope.V11

    @extend_schema(
        tags=["transactions v1.1"],
        summary="Add bills, returns and mixed bills (batch); unknown customers are registered",
        parameters=[OpenApiParameter("format", str, required=False, description="json")],
        request=s.TransactionV11BatchInputSerializer,
        responses=s.TransactionV11BatchOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        batch = s.TransactionV11BatchInputSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        raw_items = batch.validated_data["root"]["transaction"]
        items = raw_items if isinstance(raw_items, list) else [raw_items]
        if len(items) > V11_BATCH_LIMIT:
            raise TransactionBatchLimitError(
                f"At most {V11_BATCH_LIMIT} transactions per request ({len(items)} sent)"
            )
        org = _write_org(self)
        results = v11_batch_run(items, lambda raw: self._add_one(org=org, raw=raw), echo=_v11_echo)
        body = v11_batch_body(results, collection="transactions", member="transaction")
        return Response(s.TransactionV11BatchOutputSerializer(body).data)

    def _add_one(self, *, org: Org, raw: Any) -> V11ItemResult:
        data = v11_item_input(
            raw,
            s.TransactionV11ItemInputSerializer,
            not_object_message="Each transaction is an object",
        )
        result = transaction_submit(
            org=org,
            actor=self.principal.till,
            bill=s.bill_from_v11(data),
            identity=s.identity_from_v11(data),
            source=s.v11_source(data.get("source")),
            register_unknown_customer=True,
            context={"api": "v1.1", "raw_side_effects": False},
        )
        txn = result.transaction
        item = {
            **s.v11_transaction_representation(txn, bill_client_id=data["bill_client_id"]),
            "side_effects": {"effect": s.v11_effects(result.side_effects)},
            "source": txn.source,
            "item_status": v11_item_status_of(
                True, V11_SUCCESS_CODE, "Transaction added successfully", result.warnings
            ),
        }
        return V11ItemResult(item=item, entity_id=txn.pk)


class TransactionV11GetApi(BaseApi):
    envelope = Envelope.V11

    @extend_schema(
        tags=["transactions v1.1"],
        summary="Get the transactions with a bill number (or id) in the caller's org(s)",
        parameters=[
            OpenApiParameter("number", str, required=False),
            OpenApiParameter("id", int, required=False),
            OpenApiParameter("type", str, required=False, description="REGULAR, RETURN, ..."),
            OpenApiParameter("format", str, required=False, description="json"),
        ],
        responses=s.TransactionV11BatchOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        number = (params.get("number") or "").strip()
        raw_id = (params.get("id") or "").strip()
        type = params.get("type") or None
        if raw_id:
            if not raw_id.isdigit():
                raise TransactionNotFoundError(f"Transaction {raw_id} not found")
            found = [
                transaction_get(org_ids=self.scope.org_ids, transaction_id=int(raw_id), type=type)
            ]
        elif number:
            found = transactions_by_number(org_ids=self.scope.org_ids, number=number, type=type)
            if not found:
                raise TransactionNotFoundError(f"Transaction number {number} not found")
        else:
            raise TransactionIdOrNumberMissingError("Pass number or id")
        tz = self.principal.org.tzinfo
        items = [
            {
                **s.v11_transaction_details(txn, tz),
                "item_status": v11_item_status_of(
                    True, V11_SUCCESS_CODE, "Transaction retrieved successfully"
                ),
            }
            for txn in found
        ]
        body = {
            "response": {
                "status": v11_status(success=True, code=200, message="Success"),
                "transactions": {"transaction": items},
            }
        }
        return Response(s.TransactionV11BatchOutputSerializer(body).data)
