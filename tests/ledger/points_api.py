"""Helpers shared by the points operation API tests (tests/ledger/test_points_api_*.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from loyalty_site.core import sms

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "contract"
CODE_PATTERN = re.compile(r"code is ([A-Z0-9]{6})")


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def url(path: str, **params: Any) -> str:
    query = {key: value for key, value in params.items() if value is not None}
    return f"{path}?{urlencode(query)}" if query else path


def sent_codes(to: str) -> list[str]:
    """Validation codes texted to `to`, oldest first."""
    return [
        match.group(1)
        for message in sms.outbox
        if message.to == to
        for match in [CODE_PATTERN.search(message.body)]
        if match
    ]


def last_code(to: str) -> str:
    codes = sent_codes(to)
    assert codes, f"no validation code was texted to {to}"
    return codes[-1]


def keys_of(value: Any) -> set[str]:
    return set(value) if isinstance(value, dict) else set()


def v2_codes(body: dict[str, Any]) -> list[int]:
    return [error["code"] for error in body.get("errors", [])]
