"""The catalogue of every domain error the project raises, for docs/API.md and its test."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

from django.apps import apps

from loyalty_site.core.exceptions import DomainError

# Modules that define domain errors; each app's `exceptions` module is found automatically.
EXTRA_MODULES = (
    "loyalty_site.core.exceptions",
    "loyalty_site.api.errors",
    "loyalty_site.api.scoping",
)


@dataclass(frozen=True)
class ErrorEntry:
    module: str
    name: str
    code: int
    http_status: int
    message: str


def _modules() -> list[str]:
    names = list(EXTRA_MODULES)
    for config in apps.get_app_configs():
        if config.name.startswith("django") or config.name in {
            "rest_framework",
            "django_filters",
            "drf_spectacular",
        }:
            continue
        candidate = f"{config.name}.exceptions"
        try:
            importlib.import_module(candidate)
        except ModuleNotFoundError:
            continue
        if candidate not in names:
            names.append(candidate)
    return names


def error_catalog() -> list[ErrorEntry]:
    """Every DomainError subclass defined in the project, sorted by module then code."""
    entries = []
    for module_name in _modules():
        module = importlib.import_module(module_name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module_name or not issubclass(cls, DomainError):
                continue
            entries.append(
                ErrorEntry(module_name, name, int(cls.code), int(cls.http_status), str(cls.message))
            )
    return sorted(entries, key=lambda e: (e.module, e.code, e.name))


def error_catalog_markdown() -> str:
    lines = [
        "| module | code | HTTP | error | default message |",
        "| --- | --- | --- | --- | --- |",
    ]
    for entry in error_catalog():
        lines.append(
            f"| `{entry.module}` | {entry.code} | {entry.http_status} | `{entry.name}` "
            f"| {entry.message} |"
        )
    return "\n".join(lines) + "\n"
