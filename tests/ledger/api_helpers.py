"""Helpers shared by the ledger API tests: contract fixtures, paths, frozen clocks."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
from pathlib import Path
from typing import Any
from unittest import mock

from django.utils import timezone

from members.models import UserGroup, UserGroupMembership

CONTRACT = Path(__file__).resolve().parent.parent / "fixtures" / "contract"
INFO_URL = "/v2/pointsLedger/getCustomerLedgerInfo"
INFO_V21_URL = "/v2.1/pointsLedger/getCustomerLedgerInfo"
BALANCE_URL = "/v2/pointsLedger/getCustomerLedgerBalance"
POINTS_TEXT = re.compile(r"^-?\d+\.\d{3}$")
LEDGER_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d$")


def contract(name: str) -> Any:
    return json.loads((CONTRACT / name).read_text())


def by_mobile(customer, **params: Any) -> dict[str, Any]:
    return {
        "identifierName": "mobile",
        "identifierValue": customer.mobile,
        "source": "INSTORE",
        **params,
    }


def error_code(response) -> int:
    return response.json()["errors"][0]["code"]


@contextlib.contextmanager
def clock(at: datetime.datetime):
    """Everything written inside happens at `at` (auto_now_add and the services' now())."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def local(tz_name: str, *args: int) -> datetime.datetime:
    import zoneinfo

    return datetime.datetime(*args, tzinfo=zoneinfo.ZoneInfo(tz_name))


def join(group: UserGroup, customer, *, is_primary: bool = False) -> UserGroupMembership:
    return UserGroupMembership.objects.create(
        group=group, customer=customer, is_primary=is_primary, joined_at=timezone.now()
    )
