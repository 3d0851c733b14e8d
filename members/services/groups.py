"""User group (userGroup2) writes: create a group, join members to it, let members leave.

Invariants held by the database and kept under concurrency here: an external id is unique per
org (1633), a customer is in at most one group at a time (1623), a group has at most one primary
member (1637) and never more members than its `max_size` (1638). Joins and leaves lock the group
row first, so checks and the `member_count` update of one group are serialised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from members.exceptions import (
    GroupCapacityReachedError,
    GroupExternalIdExistsError,
    GroupInactiveError,
    GroupNotFoundError,
    GroupOtherOrgError,
    GroupPrimaryExistsError,
    GroupValidationError,
    PrimaryElsewhereError,
    PrimaryMemberCannotLeaveError,
    UserAlreadyInGroupError,
    UserNotInGroupError,
)
from members.models import Customer, Org, Till, UserGroup, UserGroupMembership
from members.selectors.customers import customer_get_by_identifier
from members.selectors.groups import org_connected_ids

EXTERNAL_ID_MAX_LENGTH = 50
NAME_MAX_LENGTH = 50
# The product cap on a group's size (CONF_MAX_FLEET_GROUP_SIZE in the contract, §7).
MAX_GROUP_SIZE = UserGroup.DEFAULT_MAX_SIZE
PERMISSIONS = frozenset(UserGroupMembership.Permission.values)


def _validate_group_fields(
    *, external_id: Any, name: Any, max_size: Any, extended_fields: Any
) -> tuple[str, str, int, dict[str, Any]]:
    """The cleaned create fields; raises GroupValidationError (1634) naming the bad field."""
    if not isinstance(external_id, str) or not external_id.strip():
        raise GroupValidationError("externalId is mandatory", field="externalId")
    external_id = external_id.strip()
    if len(external_id) > EXTERNAL_ID_MAX_LENGTH:
        raise GroupValidationError(
            f"externalId is longer than {EXTERNAL_ID_MAX_LENGTH} characters", field="externalId"
        )
    name = "" if name is None else name
    if not isinstance(name, str):
        raise GroupValidationError("groupName must be a string", field="groupName")
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise GroupValidationError(
            f"groupName is longer than {NAME_MAX_LENGTH} characters", field="groupName"
        )
    if isinstance(max_size, bool) or not isinstance(max_size, int):
        raise GroupValidationError(
            "maxGroupSize is mandatory and must be an integer", field="maxGroupSize"
        )
    if not 1 <= max_size <= MAX_GROUP_SIZE:
        raise GroupValidationError(
            f"maxGroupSize must be between 1 and {MAX_GROUP_SIZE}", field="maxGroupSize"
        )
    extended_fields = {} if extended_fields is None else extended_fields
    if not isinstance(extended_fields, Mapping):
        raise GroupValidationError("extendedFields must be an object", field="extendedFields")
    return external_id, name, max_size, dict(extended_fields)


@transaction.atomic
def user_group_create(
    *,
    org: Org,
    actor: Till,
    external_id: str,
    name: str = "",
    max_size: int,
    extended_fields: Mapping[str, Any] | None = None,
) -> UserGroup:
    """Create an ACTIVE group in `org` created by the till `actor`.

    Raises GroupValidationError (1634) and GroupExternalIdExistsError (1633), also when a
    concurrent request creates the same external id first.
    """
    external_id, name, max_size, extended = _validate_group_fields(
        external_id=external_id, name=name, max_size=max_size, extended_fields=extended_fields
    )
    duplicate = GroupExternalIdExistsError(f"Group external id {external_id} already exists")
    if UserGroup.objects.filter(org=org, external_id=external_id).exists():
        raise duplicate
    try:
        # The unique constraint decides between concurrent creates; the savepoint keeps the
        # surrounding transaction usable when it fires.
        with transaction.atomic():
            return UserGroup.objects.create(
                org=org,
                external_id=external_id,
                name=name,
                max_size=max_size,
                extended_fields=extended,
                created_by_till=actor,
            )
    except IntegrityError:
        if UserGroup.objects.filter(org=org, external_id=external_id).exists():
            raise duplicate
        raise


def _permissions_clean(permissions: Sequence[str] | None) -> list[str]:
    """Known permission codes without duplicates; raises GroupValidationError (1634)."""
    if permissions is None:
        return []
    if isinstance(permissions, str) or not isinstance(permissions, Sequence):
        raise GroupValidationError("permissions must be a list", field="permissions")
    unknown = [item for item in permissions if item not in PERMISSIONS]
    if unknown:
        raise GroupValidationError(
            f"Invalid permission code {unknown[0]!r} passed: use one of "
            f"{', '.join(sorted(PERMISSIONS))}",
            field="permissions",
        )
    return list(dict.fromkeys(permissions))


def _group_lock(group: UserGroup) -> UserGroup:
    """The group row, locked until the end of the transaction (1632 if it was deleted)."""
    locked = UserGroup.objects.select_for_update().filter(pk=group.pk).first()
    if locked is None:
        raise GroupNotFoundError(f"Group {group.pk} no longer exists")
    return locked


def _customer_for_group(*, group: UserGroup, actor: Till, customer_id: int) -> Customer:
    """The customer to add to `group`.

    Only customers the caller could see (its org and child orgs, plus the group's org) are
    looked up, so a customer of an unrelated org is simply not found (8015). Raises
    CustomerNotFoundError (8015), CustomerMergedError (8069) or GroupOtherOrgError (1622) for a
    visible customer of another org than the group's.
    """
    visible_org_ids = {group.org_id, *org_connected_ids(org_id=actor.org_id)}
    customer = customer_get_by_identifier(
        org_ids=visible_org_ids, identifier_name="id", identifier_value=customer_id
    )
    if customer.org_id != group.org_id:
        raise GroupOtherOrgError(f"User {customer_id} belongs to another org than group {group.pk}")
    return customer


@transaction.atomic
def user_group_member_join(
    *,
    group: UserGroup,
    actor: Till,
    customer_id: int,
    is_primary: bool = False,
    permissions: Sequence[str] | None = None,
) -> UserGroupMembership:
    """Add the customer to `group`, as its primary member when `is_primary`.

    Raises GroupValidationError (1634, unknown permission), GroupInactiveError (1639),
    CustomerNotFoundError (8015), CustomerMergedError (8069), GroupOtherOrgError (1622),
    PrimaryElsewhereError (1642), UserAlreadyInGroupError (1623), GroupPrimaryExistsError (1637)
    or GroupCapacityReachedError (1638). Nothing is written when it raises.
    """
    cleaned_permissions = _permissions_clean(permissions)
    locked = _group_lock(group)
    if locked.status != UserGroup.Status.ACTIVE:
        raise GroupInactiveError(f"Group {locked.pk} is {locked.status}: members cannot join")
    customer = _customer_for_group(group=locked, actor=actor, customer_id=customer_id)
    _check_not_in_group(customer=customer, group=locked)
    if is_primary and locked.memberships.filter(is_active=True, is_primary=True).exists():
        raise GroupPrimaryExistsError(f"Primary member exists for group {locked.pk}")
    if locked.member_count >= locked.max_size:
        raise _capacity_error(locked)

    try:
        # Another group's transaction may add the same customer at the same moment: the
        # one-active-group constraint decides, inside a savepoint.
        with transaction.atomic():
            membership = UserGroupMembership.objects.create(
                group=locked,
                customer=customer,
                is_primary=is_primary,
                permissions=cleaned_permissions,
                is_active=True,
                joined_at=timezone.now(),
            )
    except IntegrityError:
        _check_not_in_group(customer=customer, group=locked)
        raise GroupPrimaryExistsError(f"Primary member exists for group {locked.pk}")

    # The row lock already serialises joins; the conditional update is the backstop.
    grown = UserGroup.objects.filter(pk=locked.pk, member_count__lt=F("max_size")).update(
        member_count=F("member_count") + 1, updated_at=timezone.now()
    )
    if not grown:
        raise _capacity_error(locked)
    return membership


def _check_not_in_group(*, customer: Customer, group: UserGroup) -> None:
    """Raises PrimaryElsewhereError (1642) or UserAlreadyInGroupError (1623)."""
    current = (
        UserGroupMembership.objects.filter(customer=customer, is_active=True)
        .only("group_id", "is_primary")
        .first()
    )
    if current is None:
        return
    if current.is_primary and current.group_id != group.pk:
        raise PrimaryElsewhereError(
            f"User {customer.pk} is the primary member of group {current.group_id}"
        )
    raise UserAlreadyInGroupError(f"User {customer.pk} already present in group {current.group_id}")


def _capacity_error(group: UserGroup) -> GroupCapacityReachedError:
    return GroupCapacityReachedError(
        f"Total members in group {group.pk} reached maximum group capacity {group.max_size}"
    )


@transaction.atomic
def user_group_member_leave(
    *, group: UserGroup, actor: Till, customer_id: int
) -> UserGroupMembership:
    """End the customer's membership of `group` (kept as history with `left_at`).

    The primary member may leave only as the last member. Raises UserNotInGroupError (1620) or
    PrimaryMemberCannotLeaveError (1640). `actor` is the till asking; memberships do not record it.
    """
    locked = _group_lock(group)
    membership = (
        UserGroupMembership.objects.select_for_update()
        .filter(group=locked, customer_id=customer_id, is_active=True)
        .first()
    )
    if membership is None:
        raise UserNotInGroupError(f"User {customer_id} does not belong to group {locked.pk}")
    if (
        membership.is_primary
        and locked.memberships.filter(is_active=True).exclude(pk=membership.pk).exists()
    ):
        raise PrimaryMemberCannotLeaveError(
            f"User {customer_id} is the primary member of group {locked.pk} and other members "
            "remain: they must leave first"
        )
    now = timezone.now()
    membership.is_active = False
    membership.left_at = now
    membership.save(update_fields=["is_active", "left_at", "updated_at"])
    UserGroup.objects.filter(pk=locked.pk, member_count__gt=0).update(
        member_count=F("member_count") - 1, updated_at=now
    )
    return membership
