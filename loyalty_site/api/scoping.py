"""Org scoping for every API call, with connected-org reads (contract §7).

`DATA-SCOPE`: SELF (default) = the caller's org only; OTHER = the child org(s) named in
`DATA-SCOPE-ORG` (one or two ids, comma separated; writes only from a parent to one child);
ALL = the caller's org plus its children (GET only; at most two children, narrowed with
`DATA-SCOPE-ORG` when the parent has more). `DATA-SCOPE-ORGS` is accepted as an alias of
`DATA-SCOPE-ORG` (the contract's pages spell it both ways). Data of any other org is invisible:
selectors filter on `scope.org_ids`, so a foreign id answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.request import Request

from loyalty_site.api.principal import ApiPrincipal
from loyalty_site.core.exceptions import DomainError
from members.models import Org

SCOPE_HEADER = "HTTP_DATA_SCOPE"
SCOPE_ORG_HEADERS = ("HTTP_DATA_SCOPE_ORG", "HTTP_DATA_SCOPE_ORGS")
MAX_SCOPE_CHILDREN = 2
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class DataScopeError(DomainError):
    """Bad DATA-SCOPE / DATA-SCOPE-ORG header (1064), or a scope the caller may not use (403)."""

    code = 1064
    http_status = 400


@dataclass(frozen=True)
class DataScope:
    mode: str  # SELF, OTHER or ALL
    caller_org_id: int
    org_ids: tuple[int, ...]

    @property
    def is_connected(self) -> bool:
        """True when the response must carry `orgId` (any scope other than SELF)."""
        return self.mode != "SELF"

    @property
    def write_org_id(self) -> int:
        """The one org a write lands in: the caller's, or the single child named with OTHER."""
        if len(self.org_ids) != 1:
            raise DataScopeError("A write needs exactly one target org in DATA-SCOPE-ORG")
        return self.org_ids[0]


def _parse_org_ids(raw: str) -> list[int]:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts:
        raise DataScopeError("DATA-SCOPE-ORG is empty")
    try:
        ids = [int(part) for part in parts]
    except ValueError as exc:
        raise DataScopeError("DATA-SCOPE-ORG must be comma-separated org ids") from exc
    if len(ids) > MAX_SCOPE_CHILDREN:
        raise DataScopeError(f"DATA-SCOPE-ORG takes at most {MAX_SCOPE_CHILDREN} org ids")
    return list(dict.fromkeys(ids))


def _child_org_ids(org_id: int) -> list[int]:
    return list(
        Org.objects.filter(parent_id=org_id, is_active=True)
        .order_by("id")
        .values_list("id", flat=True)
    )


def resolve_data_scope(request: Request) -> DataScope:
    """Read the scope headers of `request` and return the orgs the call may touch."""
    principal: ApiPrincipal = request.user
    caller = principal.org_id
    mode = (request.META.get(SCOPE_HEADER) or "SELF").strip().upper()
    raw_orgs = next((request.META[h] for h in SCOPE_ORG_HEADERS if request.META.get(h)), "")
    method = request.method.upper()

    if mode == "SELF":
        if raw_orgs:
            raise DataScopeError("DATA-SCOPE-ORG is only used with DATA-SCOPE OTHER or ALL")
        return DataScope("SELF", caller, (caller,))
    if mode not in {"OTHER", "ALL"}:
        raise DataScopeError(f"Unknown DATA-SCOPE {mode!r}: use SELF, OTHER or ALL")

    children = _child_org_ids(caller)
    if not children:
        raise DataScopeError("Only a parent org can read across connected orgs", http_status=403)
    requested = _parse_org_ids(raw_orgs) if raw_orgs else []
    foreign = [org_id for org_id in requested if org_id not in children]
    if foreign:
        raise DataScopeError(
            f"Org(s) {', '.join(map(str, foreign))} are not child orgs of the caller",
            http_status=403,
        )

    if mode == "OTHER":
        if not requested:
            raise DataScopeError("DATA-SCOPE OTHER needs DATA-SCOPE-ORG with the child org id(s)")
        if method not in SAFE_METHODS and len(requested) != 1:
            raise DataScopeError("A write with DATA-SCOPE OTHER names exactly one child org")
        return DataScope("OTHER", caller, tuple(requested))

    if method not in SAFE_METHODS:
        raise DataScopeError("DATA-SCOPE ALL is allowed for GET only", http_status=403)
    if not requested:
        if len(children) > MAX_SCOPE_CHILDREN:
            raise DataScopeError(
                "This org has more than two child orgs: name up to two in DATA-SCOPE-ORG"
            )
        requested = children
    return DataScope("ALL", caller, (caller, *requested))
