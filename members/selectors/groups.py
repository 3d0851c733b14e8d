"""User group (userGroup2) reads, always scoped to the orgs the caller may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from members.exceptions import GroupNotFoundError
from members.models import Org, UserGroup, UserGroupMembership


def user_group_queryset(*, org_ids: Iterable[int]) -> QuerySet[UserGroup]:
    """Groups of the given orgs, with their live members (primary first) prefetched."""
    live_members = UserGroupMembership.objects.filter(is_active=True).order_by("-is_primary", "id")
    return (
        UserGroup.objects.filter(org_id__in=list(org_ids))
        .select_related("org")
        .prefetch_related(Prefetch("memberships", queryset=live_members, to_attr="live_members"))
    )


def user_group_get(
    *,
    org_ids: Iterable[int],
    group_id: int | None = None,
    external_id: str | None = None,
    primary_user_id: int | None = None,
) -> UserGroup:
    """The group named by exactly one of id, external id or its primary member's customer id.

    Raises GroupNotFoundError (1632): 400 when not exactly one identifier is given, 404 when no
    group of `org_ids` matches (another org's group is not found either).
    """
    given = {
        name: value
        for name, value in (
            ("id", group_id),
            ("externalId", external_id),
            ("primaryUserId", primary_user_id),
        )
        if value not in (None, "")
    }
    if len(given) != 1:
        raise GroupNotFoundError(
            "Pass exactly one of id, externalId or primaryUserId to name the group",
            http_status=400,
        )
    groups = user_group_queryset(org_ids=org_ids)
    if group_id is not None:
        groups = groups.filter(pk=group_id)
    elif external_id:
        groups = groups.filter(external_id=external_id)
    else:
        groups = groups.filter(
            memberships__customer_id=primary_user_id,
            memberships__is_primary=True,
            memberships__is_active=True,
        )
    group = groups.first()
    if group is None:
        ((name, value),) = given.items()
        raise GroupNotFoundError(f"Group {name} {value} passed is not valid")
    return group


def user_group_live_members(*, group: UserGroup) -> list[UserGroupMembership]:
    """The group's current members, primary first (uses the prefetch when there is one)."""
    prefetched = getattr(group, "live_members", None)
    if prefetched is not None:
        return list(prefetched)
    return list(group.memberships.filter(is_active=True).order_by("-is_primary", "id"))


def org_connected_ids(*, org_id: int) -> list[int]:
    """The org and its active child orgs: every org whose data the org may reach (§7)."""
    children = Org.objects.filter(parent_id=org_id, is_active=True).values_list("id", flat=True)
    return [org_id, *children]
