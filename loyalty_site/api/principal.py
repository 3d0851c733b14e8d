"""The authenticated API caller: a till of an org (contract §8: a till is the API identity)."""

from __future__ import annotations

from dataclasses import dataclass

from members.models import Org, Store, Till


@dataclass(frozen=True)
class ApiPrincipal:
    """`till`: the till the call is booked on (after attribution); `auth_till`: who logged in."""

    till: Till
    auth_till: Till
    auth_method: str  # "basic" or "oauth"

    is_authenticated = True
    is_anonymous = False

    @property
    def org(self) -> Org:
        return self.auth_till.org

    @property
    def org_id(self) -> int:
        return self.auth_till.org_id

    @property
    def store(self) -> Store:
        return self.till.store

    def __str__(self) -> str:
        return f"till:{self.till.code}"
