"""Error codes are unique within their module and every one is documented in docs/API.md."""

from collections import Counter
from pathlib import Path

from loyalty_site.core.errors_catalog import error_catalog

DOC = Path(__file__).resolve().parent.parent / "docs" / "API.md"


def test_codes_are_unique_within_each_module():
    # A code equal to the HTTP status (400, 404, 409) is the generic "invalid input" family code
    # the contract uses for plain validation failures; every specific code names one error.
    counts = Counter(
        (entry.module, entry.code)
        for entry in error_catalog()
        if entry.code != entry.http_status
    )

    duplicates = {key: n for key, n in counts.items() if n > 1}

    assert not duplicates, f"one code, several error classes: {duplicates}"


def test_every_code_is_documented():
    text = DOC.read_text()

    missing = [
        f"{entry.module}.{entry.name} ({entry.code})"
        for entry in error_catalog()
        if f"| {entry.code} | {entry.http_status} | `{entry.name}` |" not in text
    ]

    assert not missing, "run `python manage.py error_codes` and update docs/API.md: " + ", ".join(
        missing
    )


def test_catalog_sees_every_domain():
    modules = {entry.module for entry in error_catalog()}

    assert {"members.exceptions", "loyalty_site.api.scoping"} <= modules
