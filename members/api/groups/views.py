"""userGroup2 APIs (CONTRACT.md §7), v2 envelope: create, get, join and leave (an extension).

Each view validates the query and body, names the group inside the caller's scope (another org's
group is a 404 with 1632), calls one service and serialises. Join and leave are batches: every
item runs in its own transaction (a savepoint when nested), so a failed item writes nothing and
does not stop the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.response import Response

from loyalty_site.api.envelopes import Envelope
from loyalty_site.api.exceptions import flatten_validation_errors
from loyalty_site.api.views import BaseApi
from loyalty_site.core.exceptions import DomainError
from members.api.groups.serializers import (
    UserGroupBatchOutputSerializer,
    UserGroupCreateInputSerializer,
    UserGroupCreateOutputSerializer,
    UserGroupGetOutputSerializer,
    UserGroupJoinInputSerializer,
    UserGroupLeaveInputSerializer,
    UserGroupLookupInputSerializer,
    UserGroupMemberOutputSerializer,
)
from members.exceptions import (
    BatchLimitError,
    GroupNotFoundError,
    GroupValidationError,
    InvalidGroupIdError,
)
from members.models import Org, UserGroup, UserGroupMembership
from members.selectors.groups import user_group_get
from members.services.groups import (
    user_group_create,
    user_group_member_join,
    user_group_member_leave,
)

MAX_BATCH_ITEMS = 100
VALIDATION_CODE = str(GroupValidationError.code)
TAGS = ["user groups"]

SCOPE_PARAMETERS = [
    OpenApiParameter(
        "DATA-SCOPE",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        enum=["SELF", "OTHER", "ALL"],
        description="Connected orgs (§7): SELF (default), OTHER or ALL (GET only). With OTHER "
        "or ALL the response carries orgId.",
    ),
    OpenApiParameter(
        "DATA-SCOPE-ORG",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="Child org id(s), comma separated, for DATA-SCOPE OTHER or ALL.",
    ),
]
LEDGER_PARAMETERS = [
    OpenApiParameter(
        name,
        OpenApiTypes.BOOL,
        OpenApiParameter.QUERY,
        description=f"true: fill `{name}` from the points ledger (default false: empty list).",
    )
    for name in ("expiredPoints", "expirySchedules")
]
BATCH_DESCRIPTION = (
    "Name the group with exactly one of `id`, `externalId` or `primaryUserId` (else 1632; a "
    "malformed id is 1619; an unknown group or another org's is 404 with 1632). The body is a "
    f"JSON array of at most {MAX_BATCH_ITEMS} items (else 1060). Items are independent: each "
    "answers in `response[]` with `entityId`, `result` (null on failure), `errors` (only on "
    "failure) and `warnings`; the call answers 200 with `totalCount` and `failureCount`."
)


def _with_code(detail: Any, code: str) -> Any:
    """DRF's error structure with every message carrying the contract `code`."""
    if isinstance(detail, dict):
        return {key: _with_code(value, code) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_with_code(value, code) for value in detail]
    return ErrorDetail(str(detail), code=code)


def _raise_invalid(serializer: serializers.Serializer) -> NoReturn:
    raise exceptions.ValidationError(_with_code(serializer.errors, VALIDATION_CODE))


def _group_lookup(request: Request) -> dict[str, Any]:
    """The group identifier of the query string, as selector keyword arguments."""
    serializer = UserGroupLookupInputSerializer(data=request.query_params)
    if not serializer.is_valid():
        if "id" in serializer.errors:
            raise InvalidGroupIdError(f"Group id {request.query_params.get('id')} is invalid")
        name = next(iter(serializer.errors))
        raise GroupNotFoundError(
            f"Group {name} {request.query_params.get(name)} passed is not valid", http_status=400
        )
    data = serializer.validated_data
    return {
        "group_id": data.get("id"),
        "external_id": data.get("externalId"),
        "primary_user_id": data.get("primaryUserId"),
    }


def _flag(request: Request, name: str) -> bool:
    return str(request.query_params.get(name, "")).strip().lower() in {"true", "1"}


def _batch_items(body: Any) -> list[Any]:
    if not isinstance(body, list) or not body:
        raise GroupValidationError("The request body must be a non-empty JSON array of members")
    if len(body) > MAX_BATCH_ITEMS:
        raise BatchLimitError(f"At most {MAX_BATCH_ITEMS} members per call")
    return body


def _requested_entity(raw: Any, group: UserGroup) -> dict[str, Any]:
    """The entityId of a failed item: what was asked for, with no live membership."""
    raw = raw if isinstance(raw, dict) else {}
    permissions = raw.get("permissions")
    return {
        "userId": raw.get("userId"),
        "groupId": group.pk,
        "permissions": permissions if isinstance(permissions, list) else [],
        "defaultGroup": False,
        "active": False,
        "primaryMember": raw.get("primaryMember") is True,
    }


def _batch_response(
    *,
    group: UserGroup,
    items: list[Any],
    input_serializer: type[serializers.Serializer],
    action: Callable[[dict[str, Any]], UserGroupMembership],
) -> Response:
    """Run `action` on every valid item and answer the v2 batch envelope."""
    responses: list[dict[str, Any]] = []
    failures = 0
    for raw in items:
        serializer = input_serializer(data=raw)
        try:
            if not serializer.is_valid():
                _raise_invalid(serializer)
            membership = action(serializer.validated_data)
        except DomainError as exc:
            errors = [{"status": False, "code": exc.code, "message": exc.message}]
        except exceptions.ValidationError as exc:
            errors = [item.as_v2() for item in flatten_validation_errors(exc.detail)]
        else:
            member = UserGroupMemberOutputSerializer(membership).data
            responses.append({"entityId": member, "result": member, "warnings": []})
            continue
        failures += 1
        responses.append(
            {
                "entityId": _requested_entity(raw, group),
                "result": None,
                "errors": errors,
                "warnings": [],
            }
        )
    # Items are serialised above; UserGroupBatchOutputSerializer documents this shape.
    return Response({"response": responses, "totalCount": len(items), "failureCount": failures})


class UserGroupApi(BaseApi):
    """`/v2/userGroup2`: GET reads one group, POST creates one (one path, two actions)."""

    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS,
        summary="Get a user group (userGroup2)",
        description=(
            "Name the group with exactly one of `id`, `externalId` or `primaryUserId` (else "
            "1632; a malformed id is 1619). An unknown group, or one outside the caller's "
            "DATA-SCOPE, answers 404 with 1632. `createdBy` is the id of the till that created "
            "the group; `createdOn` is ISO 8601 in the org's time zone. With "
            "`expiredPoints=true`, `expiredPoints` lists the points that expired per program "
            "and day (newest first); with `expirySchedules=true`, `expirySchedules` lists the "
            "points held per program and expiry day (soonest first); both come from the points "
            "ledger and are empty lists otherwise. `gapToUpgrade` is always an empty list (tier "
            "upgrades of groups are not modelled). "
            "`fleetGroupUsers` (the live members, primary first) is an addition to the "
            "contract's GET sample, shaped as in the group-transfer samples."
        ),
        parameters=[UserGroupLookupInputSerializer, *LEDGER_PARAMETERS, *SCOPE_PARAMETERS],
        responses={200: UserGroupGetOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        """One group of the caller's scope, with its points history when asked for
        (expiredPoints / expirySchedules); fleetGroupUsers is an additive field."""
        group = user_group_get(org_ids=self.scope.org_ids, **_group_lookup(request))
        serializer = UserGroupGetOutputSerializer(
            group,
            context={
                "include_org_id": self.scope.is_connected,
                "expired_points": _flag(request, "expiredPoints"),
                "expiry_schedules": _flag(request, "expirySchedules"),
            },
        )
        return Response(serializer.data)

    @extend_schema(
        tags=TAGS,
        summary="Create a user group (userGroup2)",
        description=(
            "`externalId` (at most 50 characters, unique in the org: else 1633) and "
            "`maxGroupSize` (1 to 30000) are mandatory; `groupName` has at most 50 characters. "
            "Invalid input answers 400 with 1634 naming the field. Answers the new group id in "
            "`entity`."
        ),
        parameters=SCOPE_PARAMETERS,
        request=UserGroupCreateInputSerializer,
        responses={200: UserGroupCreateOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = UserGroupCreateInputSerializer(data=request.data)
        if not serializer.is_valid():
            _raise_invalid(serializer)
        data = serializer.validated_data
        group = user_group_create(
            org=Org.objects.get(pk=self.scope.write_org_id),
            actor=self.principal.till,
            external_id=data["externalId"],
            name=data.get("groupName") or "",
            max_size=data["maxGroupSize"],
            extended_fields=data.get("extendedFields") or {},
        )
        return Response(UserGroupCreateOutputSerializer({"entity": group.pk, "warnings": []}).data)


class UserGroupJoinApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS,
        summary="Join customers to a user group (userGroup2)",
        description=(
            BATCH_DESCRIPTION
            + " Item errors: 1634 invalid item or unknown permission · 1639 group not ACTIVE · "
            "8015 customer not found · 1622 customer of another (connected) org · 8069 merged "
            "customer · 1642 primary member of another group · 1623 already in a group · 1637 "
            "the group already has a primary member · 1638 group full. `defaultGroup` is true "
            "for the primary member."
        ),
        parameters=[UserGroupLookupInputSerializer, *SCOPE_PARAMETERS],
        request=UserGroupJoinInputSerializer(many=True),
        responses={200: UserGroupBatchOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        lookup = _group_lookup(request)
        group = user_group_get(org_ids=[self.scope.write_org_id], **lookup)
        items = _batch_items(request.data)
        actor = self.principal.till

        def join(data: dict[str, Any]) -> UserGroupMembership:
            return user_group_member_join(
                group=group,
                actor=actor,
                customer_id=data["userId"],
                is_primary=data["primaryMember"],
                permissions=data["permissions"],
            )

        return _batch_response(
            group=group, items=items, input_serializer=UserGroupJoinInputSerializer, action=join
        )


class UserGroupLeaveApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=TAGS,
        summary="Remove customers from a user group (extension)",
        description=(
            "Extension: the contract documents no leave path of this shape (the old "
            "`DELETE /v2/userGroup2/{groupId}/leave` is not built); this mirrors join. "
            + BATCH_DESCRIPTION
            + " Item errors: 1634 invalid item · 1620 not a member of the group · 1640 the "
            "primary member cannot leave while other members remain (it can leave when alone). "
            "A left membership answers with `active` false."
        ),
        parameters=[UserGroupLookupInputSerializer, *SCOPE_PARAMETERS],
        request=UserGroupLeaveInputSerializer(many=True),
        responses={200: UserGroupBatchOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        lookup = _group_lookup(request)
        group = user_group_get(org_ids=[self.scope.write_org_id], **lookup)
        items = _batch_items(request.data)
        actor = self.principal.till

        def leave(data: dict[str, Any]) -> UserGroupMembership:
            return user_group_member_leave(group=group, actor=actor, customer_id=data["userId"])

        return _batch_response(
            group=group, items=items, input_serializer=UserGroupLeaveInputSerializer, action=leave
        )
