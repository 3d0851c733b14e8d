"""Serializer fields shared by every API family: JSON numbers as the samples print them and the
v1.1 `{"field": [{name, value}]}` lists."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def json_number(value: Decimal | int | float | None) -> int | float | None:
    """A whole amount as an int (`230`), otherwise a float (`24000.5`), as the samples print."""
    if value is None:
        return None
    number = Decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)


@extend_schema_field(OpenApiTypes.NUMBER)
class JsonNumberField(serializers.Field):
    def to_representation(self, value: Any) -> int | float | None:
        return json_number(value)


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "field": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "value": {}},
                },
            }
        },
    }
)
class NameValueListField(serializers.Field):
    """v1.1 `{"field": [{name, value}]}` (a single object for `field` is accepted too) as a dict.

    `max_name_length` truncates names (None keeps them whole)."""

    default_error_messages = {"invalid": 'Use {"field": [{"name": ..., "value": ...}]}.'}

    def __init__(self, *, max_name_length: int | None = None, **kwargs: Any) -> None:
        self.max_name_length = max_name_length
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if data in (None, "", []):
            return {}
        if not isinstance(data, dict):
            self.fail("invalid")
        items = data.get("field", [])
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            self.fail("invalid")
        result: dict[str, Any] = {}
        for item in items:
            if not isinstance(item, dict) or not str(item.get("name", "")).strip():
                self.fail("invalid")
            value = item.get("value")
            if value is not None and not isinstance(value, (str, int, float, bool)):
                self.fail("invalid")
            name = str(item["name"]).strip()
            result[name[: self.max_name_length] if self.max_name_length else name] = value
        return result

    def to_representation(self, value: dict[str, Any]) -> dict[str, Any]:
        return {"field": [{"name": name, "value": item} for name, item in value.items()]}
