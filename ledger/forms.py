"""Staff forms of the ledger admin: the goodwill / manual adjustment form and the points import
upload. They validate what they can (org of the program, redeemable points, the file's header)
so errors show on the form; the admin views then call one service each."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.admin.sites import AdminSite
from django.contrib.admin.widgets import AutocompleteSelect

from ledger.models import POINTS_DECIMAL_PLACES, POINTS_MAX_DIGITS, PointsAccount
from ledger.selectors import points_redemption_check
from ledger.services.imports import MAX_FILE_BYTES
from members.models import Customer, Org, Program

CREDIT = "CREDIT"
DEBIT = "DEBIT"
DIRECTIONS = [
    (CREDIT, "Credit: goodwill points (AllocateGoodwillPoints)"),
    (DEBIT, "Debit: manual points adjustment (ManualPointsAdjustment)"),
]


def new_idempotency_key() -> str:
    """A fresh key for each rendering of the form: a double submit of one rendering posts once."""
    return uuid.uuid4().hex


def error_text(error: Any) -> str:
    return f"{error.code}: {error.message}"


class PointsAdjustmentForm(forms.Form):
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.select_related("org"),
        help_text="Search by mobile, email, external id, customer id or name.",
    )
    program = forms.ModelChoiceField(
        queryset=Program.objects.filter(is_active=True)
        .select_related("org")
        .order_by("org", "name")
    )
    points = forms.DecimalField(
        min_value=Decimal("0.001"),
        max_digits=POINTS_MAX_DIGITS,
        decimal_places=POINTS_DECIMAL_PLACES,
    )
    direction = forms.ChoiceField(choices=DIRECTIONS, initial=CREDIT, widget=forms.RadioSelect)
    reason = forms.CharField(max_length=255, help_text="Required; shown in the customer's ledger.")
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, admin_site: AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The customer picker searches through the Customer admin (its search fields).
        customer = self.fields["customer"]
        customer.widget = AutocompleteSelect(PointsAccount._meta.get_field("customer"), admin_site)
        customer.widget.choices = customer.choices

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        customer: Customer | None = cleaned.get("customer")
        program: Program | None = cleaned.get("program")
        points = cleaned.get("points")
        if customer is None or program is None:
            return cleaned
        if program.org_id != customer.org_id:
            self.add_error("program", "The program belongs to another org than the customer.")
            return cleaned
        if customer.merged_into_id:
            self.add_error("customer", "8069: The customer has been merged into another one.")
            return cleaned
        if cleaned.get("direction") == DEBIT and points is not None:
            # Every rule a debit would break, at once (803 more than available, 1218 ...).
            for error in points_redemption_check(customer=customer, program=program, points=points):
                self.add_error(None, error_text(error))
        return cleaned


class PointsImportUploadForm(forms.Form):
    org = forms.ModelChoiceField(queryset=Org.objects.filter(is_active=True).order_by("name"))
    file = forms.FileField(
        help_text=(
            "CSV, UTF-8, with a header row: identifier_type (mobile, email or external_id), "
            "identifier_value, program_id, action (CREDIT, REDEEM, EXPIRE or DEBIT), points, "
            "reference (unique per row: a row already posted is skipped), and optionally "
            "expiry_date (YYYY-MM-DD, CREDIT rows only)."
        )
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_FILE_BYTES // 1048576} MB.")
        return upload
