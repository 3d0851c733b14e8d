"""The contract's three paging styles (CONTRACT.md §9 item 2).

- page-number offset: `offset` is a 0-based page number, `limit` the page size (ledger);
  answers `{pageNumber, pageSize, totalEntries, pageCount}`.
- start-index offset: `offset` is the index of the first row, `limit` the page size
  (promotionData); answers the same four fields, pageNumber derived from the offset.
- page/size: `page` 0-based and `size` (cart and rewards APIs); answers `pagingDto`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet

from loyalty_site.api.errors import InvalidParameterError

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    page_number: int
    page_size: int
    total: int

    @property
    def page_count(self) -> int:
        return math.ceil(self.total / self.page_size) if self.page_size else 0

    def page_details(self) -> dict[str, int]:
        return {
            "pageNumber": self.page_number,
            "pageSize": self.page_size,
            "totalEntries": self.total,
            "pageCount": self.page_count,
        }

    def paging_dto(self) -> dict[str, Any]:
        return {
            "last": self.page_number >= self.page_count - 1,
            "totalElements": self.total,
            "totalPages": self.page_count,
            "numberOfElements": len(self.items),
            "first": self.page_number == 0,
            "size": self.page_size,
            "number": self.page_number,
        }


def parse_int_param(
    params: Any,
    name: str,
    *,
    default: int,
    minimum: int = 0,
    maximum: int | None = None,
    code: int = 400,
) -> int:
    """Read an integer query parameter, raising a clear 400 (with `code`) when it is bad."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError as exc:
        raise InvalidParameterError(f"{name} must be an integer", code=code) from exc
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidParameterError(f"{name} must be {bound}", code=code)
    return value


def _count(rows: QuerySet | Sequence[Any]) -> int:
    return rows.count() if isinstance(rows, QuerySet) else len(rows)


def paginate_by_page_number(
    rows: QuerySet | Sequence[T], *, page_number: int, page_size: int
) -> Page[T]:
    total = _count(rows)
    start = page_number * page_size
    return Page(list(rows[start : start + page_size]), page_number, page_size, total)


def paginate_by_start_index(
    rows: QuerySet | Sequence[T], *, start_index: int, page_size: int
) -> Page[T]:
    total = _count(rows)
    items = list(rows[start_index : start_index + page_size]) if page_size else []
    page_number = start_index // page_size if page_size else 0
    return Page(items, page_number, page_size, total)


def paginate_by_page_and_size(rows: QuerySet | Sequence[T], *, page: int, size: int) -> Page[T]:
    return paginate_by_page_number(rows, page_number=page, page_size=size)
