"""userGroup2 payloads (CONTRACT.md §7): field names exactly as the contract spells them."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger.selectors import points_expired_list, points_expiry_schedules
from members.models import PointsCategory, UserGroup, UserGroupMembership
from members.selectors.groups import user_group_live_members
from members.services.groups import EXTERNAL_ID_MAX_LENGTH, MAX_GROUP_SIZE, NAME_MAX_LENGTH


class UserGroupLookupInputSerializer(serializers.Serializer):
    """Query parameters naming one group: exactly one of them."""

    id = serializers.IntegerField(
        required=False, min_value=1, help_text="The group id (userGroup2Id)."
    )
    externalId = serializers.CharField(
        required=False, max_length=EXTERNAL_ID_MAX_LENGTH, help_text="The group's external id."
    )
    primaryUserId = serializers.IntegerField(
        required=False, min_value=1, help_text="Customer id of the group's primary member."
    )


class UserGroupCreateInputSerializer(serializers.Serializer):
    externalId = serializers.CharField(max_length=EXTERNAL_ID_MAX_LENGTH)
    groupName = serializers.CharField(
        max_length=NAME_MAX_LENGTH, required=False, allow_blank=True, allow_null=True, default=""
    )
    maxGroupSize = serializers.IntegerField(min_value=1, max_value=MAX_GROUP_SIZE)
    extendedFields = serializers.DictField(required=False, default=dict)


class UserGroupCreateOutputSerializer(serializers.Serializer):
    entity = serializers.IntegerField(help_text="Id of the new group.")
    warnings = serializers.ListField(child=serializers.DictField(), default=list)


class UserGroupMemberOutputSerializer(serializers.Serializer):
    """One membership, as the join response and the transfer samples show it."""

    userId = serializers.IntegerField(source="customer_id")
    groupId = serializers.IntegerField(source="group_id")
    permissions = serializers.ListField(child=serializers.CharField())
    # The default group of a customer is the one it is primary of (V2SLATE response table).
    defaultGroup = serializers.BooleanField(source="is_primary")
    active = serializers.BooleanField(source="is_active")
    primaryMember = serializers.BooleanField(source="is_primary")


LEDGER_LIST_FIELD = serializers.ListField(child=serializers.DictField())


class UserGroupExpiredPointsOutputSerializer(serializers.Serializer):
    points = serializers.FloatField(help_text="Points that expired that day in that program.")
    expiredOn = serializers.DateField(help_text="The day they lapsed (org time zone).")
    programId = serializers.IntegerField()


class UserGroupExpiryScheduleOutputSerializer(serializers.Serializer):
    points = serializers.FloatField(help_text="Points held that expire at the end of that day.")
    expiryDate = serializers.DateField(help_text="Org time zone.")
    programId = serializers.IntegerField()


def group_expired_points(group: UserGroup) -> list[dict[str, Any]]:
    """The group's expired points per program and day, newest first (ledger expiry debits)."""
    tz = group.org.tzinfo
    totals: dict[tuple[datetime.date, int], Decimal] = defaultdict(Decimal)
    for entry in points_expired_list(user_group=group):
        day = timezone.localtime(entry.event.occurred_at, tz).date()
        totals[(day, entry.account.program_id)] += entry.points
    return [
        {"points": float(points), "expiredOn": day.isoformat(), "programId": program_id}
        for (day, program_id), points in sorted(
            totals.items(), key=lambda item: item[0][0], reverse=True
        )
    ]


def group_expiry_schedules(group: UserGroup) -> list[dict[str, Any]]:
    """Regular points the group holds, per program and expiry day, soonest first."""
    return [
        {
            "points": float(schedule.points),
            "expiryDate": schedule.expires_on.isoformat(),
            "programId": schedule.program_id,
        }
        for schedule in points_expiry_schedules(user_group=group)
        if schedule.category == PointsCategory.REGULAR
    ]


class UserGroupGetOutputSerializer(serializers.Serializer):
    """A user group with its live members; `orgId` only on connected-org (DATA-SCOPE) reads."""

    # The view passes context include_org_id=True when the scope is not SELF.

    id = serializers.IntegerField()
    orgId = serializers.IntegerField(
        source="org_id",
        required=False,
        help_text="Only with a DATA-SCOPE other than SELF (connected orgs).",
    )
    externalId = serializers.CharField(source="external_id")
    groupStatus = serializers.ChoiceField(source="status", choices=UserGroup.Status.choices)
    createdBy = serializers.IntegerField(
        source="created_by_till_id", allow_null=True, help_text="Id of the till that created it."
    )
    createdOn = serializers.SerializerMethodField()
    groupName = serializers.CharField(source="name")
    maxGroupSize = serializers.IntegerField(source="max_size")
    expiredPoints = serializers.SerializerMethodField()
    expirySchedules = serializers.SerializerMethodField()
    gapToUpgrade = serializers.SerializerMethodField()
    fleetGroupUsers = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_createdOn(self, group: UserGroup) -> str:  # noqa: N802 (contract field name)
        return group.created_at.astimezone(group.org.tzinfo).isoformat(timespec="seconds")

    # Points history from the points ledger, only when asked for (expiredPoints=true,
    # expirySchedules=true: the view passes them in the context).
    @extend_schema_field(UserGroupExpiredPointsOutputSerializer(many=True))
    def get_expiredPoints(self, group: UserGroup) -> list[dict[str, Any]]:  # noqa: N802
        if not self.context.get("expired_points"):
            return []
        return group_expired_points(group)

    @extend_schema_field(UserGroupExpiryScheduleOutputSerializer(many=True))
    def get_expirySchedules(self, group: UserGroup) -> list[dict[str, Any]]:  # noqa: N802
        if not self.context.get("expiry_schedules"):
            return []
        return group_expiry_schedules(group)

    @extend_schema_field(LEDGER_LIST_FIELD)
    def get_gapToUpgrade(self, group: UserGroup) -> list[dict[str, Any]]:  # noqa: N802
        return []

    @extend_schema_field(UserGroupMemberOutputSerializer(many=True))
    def get_fleetGroupUsers(self, group: UserGroup) -> list[dict[str, Any]]:  # noqa: N802
        members = user_group_live_members(group=group)
        return UserGroupMemberOutputSerializer(members, many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_warnings(self, group: UserGroup) -> list[dict[str, Any]]:
        return []

    def to_representation(self, instance: UserGroup) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("include_org_id"):
            data.pop("orgId", None)
        return data


class UserGroupJoinInputSerializer(serializers.Serializer):
    """One member to add (the request body is a JSON array of these)."""

    userId = serializers.IntegerField(min_value=1, help_text="Customer id.")
    primaryMember = serializers.BooleanField(required=False, default=False)
    permissions = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text="Restrictions of the member: "
        + ", ".join(UserGroupMembership.Permission.values)
        + " (disables redeeming points). Unknown codes fail the item with 1634.",
    )


class UserGroupLeaveInputSerializer(serializers.Serializer):
    """One member to remove (the request body is a JSON array of these)."""

    userId = serializers.IntegerField(min_value=1, help_text="Customer id.")


class UserGroupErrorOutputSerializer(serializers.Serializer):
    status = serializers.BooleanField(default=False)
    code = serializers.IntegerField()
    message = serializers.CharField()


class UserGroupBatchItemOutputSerializer(serializers.Serializer):
    entityId = UserGroupMemberOutputSerializer(
        help_text="The membership (on failure: the requested userId, groupId and flags)."
    )
    result = UserGroupMemberOutputSerializer(allow_null=True, help_text="Null on failure.")
    errors = UserGroupErrorOutputSerializer(many=True, required=False, help_text="Only on failure.")
    warnings = serializers.ListField(child=serializers.DictField())


class UserGroupBatchOutputSerializer(serializers.Serializer):
    response = UserGroupBatchItemOutputSerializer(many=True)
    totalCount = serializers.IntegerField()
    failureCount = serializers.IntegerField()
