"""Admin forms of the coupons domain.

The offer form is one page grouped like the seed's sections (codes, expiry, issual and
reminders, redemption). Structured settings (product scope, redemption places and windows,
excluded offers) get plain widgets here and are stored in the contract's shapes. `clean()` runs
the same checks as the service (coupons.services.series.coupon_series_check), so every error
shows on the form; the admin then saves through the service.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from coupons.exceptions import CodeCapacityExceededError, CouponSeriesInvalidError
from coupons.models import (
    CodeType,
    CouponAudience,
    CouponAudienceMember,
    CouponExpiryReminder,
    CouponSeries,
    CouponUpload,
    ProductType,
    RedemptionEntityType,
    ReminderChannel,
)
from coupons.services.bulk import (
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    BulkIssueSource,
    BulkSource,
)
from coupons.services.codes import coupon_code_capacity_check
from coupons.services.messages import template_validate
from coupons.services.series import SERIES_FIELDS, coupon_series_check
from coupons.services.uploads import MAX_COLUMN, is_header_row
from members.models import Concept, CustomerLabel, Store, Till, Zone

DAYS_OF_WEEK = [
    (1, "Sunday"),
    (2, "Monday"),
    (3, "Tuesday"),
    (4, "Wednesday"),
    (5, "Thursday"),
    (6, "Friday"),
    (7, "Saturday"),
]
PRODUCT_FIELDS = {
    ProductType.SKU: "product_skus",
    ProductType.CATEGORY: "product_categories",
    ProductType.BRAND: "product_brands",
}
PLACE_FIELDS = {
    RedemptionEntityType.STORE: "redeem_store_ids",
    RedemptionEntityType.ZONE: "redeem_zone_ids",
    RedemptionEntityType.CONCEPT: "redeem_concept_ids",
    RedemptionEntityType.TILL: "redeem_till_ids",
}
# Model settings the form edits through its own fields (the rest map one to one).
STRUCTURED = {
    "product_info",
    "redemption_org_entities",
    "redemption_range",
    "past_issual_series_ids",
}
GENERATE_CODES_MAX = 10_000_000


class IdListField(forms.CharField):
    """Comma-separated positive ids."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Ids, comma separated.")
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[int]:
        text = super().to_python(value) or ""
        ids: list[int] = []
        for part in text.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or int(part) < 1:
                raise ValidationError(f"{part!r} is not an id")
            if int(part) not in ids:
                ids.append(int(part))
        return ids

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(str(item) for item in value)
        return value or ""


class CouponSeriesAdminForm(forms.ModelForm):
    sample_code = forms.CharField(
        label="Sample code",
        required=False,
        max_length=10,
        help_text="Randomized common codes only: 5-10 letters or digits. Codes get its length "
        "and charset, the first half fixed (unique in the org), the rest random. It cannot be "
        "changed later.",
    )
    product_skus = IdListField(label="SKU ids")
    product_categories = IdListField(label="Category ids")
    product_brands = IdListField(label="Brand ids")
    redeem_store_ids = IdListField(label="Stores", help_text="Store ids; empty: any store.")
    redeem_zone_ids = IdListField(label="Zones", help_text="Zone ids.")
    redeem_concept_ids = IdListField(label="Concepts", help_text="Concept ids.")
    redeem_till_ids = IdListField(label="Tills", help_text="Till ids.")
    redeem_places_file = forms.FileField(
        label="Or upload the places (CSV)",
        required=False,
        help_text="Rows of `type,id or code`, type TILL, STORE, ZONE or CONCEPT (a header row is "
        "skipped), e.g. `STORE,delhi-01`. Added to the places above.",
    )
    redeem_days_of_month = forms.TypedMultipleChoiceField(
        label="Days of the month",
        choices=[(day, str(day)) for day in range(1, 32)],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any day.",
    )
    redeem_days_of_week = forms.TypedMultipleChoiceField(
        label="Days of the week",
        choices=DAYS_OF_WEEK,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any day.",
    )
    redeem_hours = forms.TypedMultipleChoiceField(
        label="Hours of the day",
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any hour.",
    )
    past_issual_series = forms.ModelMultipleChoiceField(
        label="Restrict based on past coupon issuals",
        queryset=CouponSeries.objects.none(),
        required=False,
        help_text="Customers who received coupons of these offers in the past 6 months are "
        "skipped; coupons of these offers are also never redeemed on the same bill as this "
        "offer's (mutually exclusive offers).",
    )
    generate_codes = forms.IntegerField(
        label="Generate codes now",
        required=False,
        min_value=1,
        max_value=GENERATE_CODES_MAX,
        help_text="Automatic or randomized codes: how many unissued codes to create after "
        "saving (a job with progress). Coupons are also generated one by one on issual.",
    )

    class Meta:
        model = CouponSeries
        fields = [
            field.name
            for field in CouponSeries._meta.fields
            if field.editable and field.name not in {*STRUCTURED, "id", "created_by_till"}
        ]
        widgets = {
            "info": forms.Textarea(attrs={"rows": 2}),
            "terms_and_conditions": forms.Textarea(attrs={"rows": 3}),
            "sms_template": forms.Textarea(attrs={"rows": 3}),
            "short_sms_template": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        series = self.instance
        if series.pk:
            self.fields["past_issual_series"].queryset = CouponSeries.objects.filter(
                org_id=series.org_id
            ).exclude(pk=series.pk)
            self.fields["past_issual_series"].initial = list(series.past_issual_series_ids)
            self.fields["sample_code"].disabled = True
            self.fields["sample_code"].initial = series.random_code_sample
            for entry in series.product_info:
                name = PRODUCT_FIELDS.get(entry.get("productType"))
                if name:
                    self.fields[name].initial = entry.get("productIds", [])
            for kind, name in PLACE_FIELDS.items():
                self.fields[name].initial = [
                    item["orgEntityId"]
                    for item in series.redemption_org_entities
                    if item.get("redemptionOrgEntityType") == kind
                ]
            window = series.redemption_range or {}
            self.fields["redeem_days_of_month"].initial = window.get("dom", [])
            self.fields["redeem_days_of_week"].initial = window.get("dow", [])
            self.fields["redeem_hours"].initial = window.get("hours", [])
        else:
            self.fields["past_issual_series"].queryset = CouponSeries.objects.select_related("org")

    def _org(self):
        if self.instance.pk:
            return self.instance.org
        return self.cleaned_data.get("org")

    def series_values(self) -> dict[str, Any]:
        """The model settings of the submitted form, as the series services take them."""
        data = self.cleaned_data
        values = {name: value for name, value in data.items() if name in SERIES_FIELDS}
        values["product_info"] = [
            {"productType": kind, "productIds": data[name]}
            for kind, name in PRODUCT_FIELDS.items()
            if data.get(name)
        ]
        places = {
            (kind, entity_id)
            for kind, name in PLACE_FIELDS.items()
            for entity_id in data.get(name) or []
        }
        places.update(getattr(self, "uploaded_places", ()))
        values["redemption_org_entities"] = [
            {"redemptionOrgEntityType": kind, "orgEntityId": entity_id}
            for kind, entity_id in sorted(places)
        ]
        values["redemption_range"] = {
            "dom": sorted(data.get("redeem_days_of_month") or []),
            "dow": sorted(data.get("redeem_days_of_week") or []),
            "hours": sorted(data.get("redeem_hours") or []),
        }
        values["past_issual_series_ids"] = sorted(
            series.pk for series in data.get("past_issual_series") or []
        )
        return values

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        org = self._org()
        if org is None:
            return data
        foreign = [s for s in data.get("past_issual_series") or [] if s.org_id != org.pk]
        if foreign:
            self.add_error("past_issual_series", "Pick offers of the same org.")
            return data
        if data.get("redeem_places_file"):
            try:
                self.uploaded_places = redemption_places_from_csv(
                    org=org, content=data["redeem_places_file"].read()
                )
            except ValueError as exc:
                self.add_error("redeem_places_file", str(exc))
                return data
        values = self.series_values()
        try:
            self.warnings = coupon_series_check(
                org=org,
                values=values,
                series=self.instance if self.instance.pk else None,
                random_code_sample=None if self.instance.pk else data.get("sample_code"),
            )
        except CouponSeriesInvalidError as exc:
            self._add_domain_error(exc)
            return data
        count = data.get("generate_codes")
        if count:
            self._check_capacity(org, values, count)
        return data

    def _check_capacity(self, org, values: dict[str, Any], count: int) -> None:
        if self.instance.pk:
            candidate = CouponSeries.objects.get(pk=self.instance.pk)
        else:
            candidate = CouponSeries(org=org)
            sample = (self.cleaned_data.get("sample_code") or "").strip().upper()
            candidate.random_code_sample = sample
            candidate.random_fixed_part = sample[: len(sample) // 2]
        for name, value in values.items():
            setattr(candidate, name, value)
        if candidate.code_type == CodeType.RANDOMIZED_COMMON and not self.instance.pk:
            candidate.is_alphanumeric = not candidate.random_code_sample.isdigit()
        try:
            coupon_code_capacity_check(series=candidate, additional=count)
        except (CodeCapacityExceededError, CouponSeriesInvalidError) as exc:
            self.add_error("generate_codes", exc.message)

    def _add_domain_error(self, exc: CouponSeriesInvalidError) -> None:
        name = exc.field
        if name in {"product_info"}:
            name = "product_skus"
        elif name == "redemption_org_entities":
            name = "redeem_store_ids"
        elif name == "redemption_range":
            name = "redeem_hours"
        elif name == "past_issual_series_ids":
            name = "past_issual_series"
        elif name == "random_code_sample":
            name = "sample_code"
        if name in self.fields and not self.fields[name].disabled:
            self.add_error(name, exc.message)
        else:
            self.add_error(None, exc.message)


PLACE_MODELS = {
    RedemptionEntityType.TILL: Till,
    RedemptionEntityType.STORE: Store,
    RedemptionEntityType.ZONE: Zone,
    RedemptionEntityType.CONCEPT: Concept,
}
MAX_PLACE_ROWS = 20_000


def redemption_places_from_csv(*, org, content: bytes) -> set[tuple[str, int]]:
    """(type, id) of each row of a places CSV (`type,id or code`) among the org's own tills,
    stores, zones and concepts. Raises ValueError naming every row that matches nothing."""
    wanted: list[tuple[int, str, str]] = []
    for number, row in enumerate(_csv_rows(content), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or (number == 1 and cells[0].lower() in {"type", "entity", "kind"}):
            continue
        if len(cells) < 2 or cells[0].upper() not in PLACE_MODELS or not cells[1]:
            raise ValueError(f"Row {number}: expected TILL, STORE, ZONE or CONCEPT and an id")
        wanted.append((number, cells[0].upper(), cells[1]))
        if len(wanted) > MAX_PLACE_ROWS:
            raise ValueError(f"At most {MAX_PLACE_ROWS:,} places per file")
    found: set[tuple[str, int]] = set()
    unknown: list[str] = []
    for kind, model in PLACE_MODELS.items():
        values = [value for _, row_kind, value in wanted if row_kind == kind]
        if not values:
            continue
        ids = [int(value) for value in values if value.isdigit() and len(value) < 19]
        rows = (
            model.objects.filter(org=org)
            .filter(Q(pk__in=ids) | Q(code__in=values))
            .values_list("pk", "code")
        )
        by_key = {}
        for pk, code in rows:
            by_key[str(pk)] = pk
            by_key[code] = pk
        for number, row_kind, value in wanted:
            if row_kind != kind:
                continue
            if value in by_key:
                found.add((kind, by_key[value]))
            else:
                unknown.append(f"row {number} ({kind} {value})")
    if unknown:
        raise ValueError("Not a place of this org: " + ", ".join(unknown[:20]))
    if not found:
        raise ValueError("The file has no places.")
    return found


class CouponExpiryReminderForm(forms.ModelForm):
    class Meta:
        model = CouponExpiryReminder
        fields = ["days_before_expiry", "channel", "send_at", "message"]
        widgets = {"message": forms.Textarea(attrs={"rows": 2, "cols": 50})}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        series = self.instance.series if self.instance.series_id else None
        message = data.get("message") or ""
        allows_unicode = data.get("channel") == ReminderChannel.EMAIL or bool(
            series and series.allows_unicode_sms
        )
        try:
            template_validate(template=message, field="message", allows_unicode=allows_unicode)
        except CouponSeriesInvalidError as exc:
            self.add_error("message", exc.message)
        return data


class CouponAudienceMemberForm(forms.ModelForm):
    class Meta:
        model = CouponAudienceMember
        fields = ["customer"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        customer = data.get("customer")
        audience = self.instance.audience if self.instance.audience_id else None
        if customer and audience and customer.org_id != audience.series.org_id:
            self.add_error("customer", "Pick a customer of the offer's org.")
        return data


class CouponUploadForm(forms.Form):
    """The offer's "Upload" page: a CSV of codes, codes with customers, or customers."""

    file = forms.FileField(
        help_text="CSV (UTF-8). An optional header row is skipped. Codes only: one column. "
        "Codes with customers: customer identifier, coupon code. Customers: one identifier "
        "per row (a customer listed twice is issued twice, under the offer's rules)."
    )
    customer_identifier = forms.ChoiceField(
        label="Customers are identified by", choices=CouponUpload.CustomerIdentifier.choices
    )
    identifier_column = forms.IntegerField(
        label="Customer identifier column",
        min_value=0,
        max_value=MAX_COLUMN,
        initial=0,
        help_text="0 is the first column.",
    )
    code_column = forms.IntegerField(
        label="Coupon code column",
        min_value=0,
        max_value=MAX_COLUMN,
        required=False,
        help_text="Codes with customers only; empty: the other column.",
    )

    def __init__(self, *args: Any, series: CouponSeries, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.series = series
        if series.code_type != CodeType.UPLOADED:
            self.fields["customer_identifier"].choices = [
                choice
                for choice in CouponUpload.CustomerIdentifier.choices
                if choice[0] != CouponUpload.CustomerIdentifier.NOT_TAGGED
            ]
            del self.fields["code_column"]


class CouponBulkIssueForm(forms.Form):
    """The offer's "Bulk issue" page: who gets one coupon each."""

    source = forms.ChoiceField(label="Issue to", choices=BulkSource.choices)
    audience = forms.ModelChoiceField(queryset=CouponAudience.objects.none(), required=False)
    label = forms.ModelChoiceField(queryset=CustomerLabel.objects.none(), required=False)
    registered_from = forms.DateField(
        required=False, widget=AdminDateWidget, help_text="Local date, included."
    )
    registered_until = forms.DateField(
        required=False, widget=AdminDateWidget, help_text="Local date, included."
    )
    chunk_size = forms.IntegerField(
        min_value=1,
        max_value=MAX_CHUNK_SIZE,
        initial=DEFAULT_CHUNK_SIZE,
        help_text="Customers per chunk; workers share the chunks.",
    )

    def __init__(self, *args: Any, series: CouponSeries, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.series = series
        self.fields["audience"].queryset = CouponAudience.objects.filter(
            series__org_id=series.org_id
        ).select_related("series")
        self.fields["label"].queryset = CustomerLabel.objects.filter(org_id=series.org_id)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        source = data.get("source")
        if source == BulkSource.AUDIENCE and not data.get("audience"):
            self.add_error("audience", "Choose the audience list.")
        if source == BulkSource.LABEL and not data.get("label"):
            self.add_error("label", "Choose the label.")
        if source == BulkSource.REGISTERED:
            start, end = data.get("registered_from"), data.get("registered_until")
            if not start or not end:
                self.add_error("registered_from", "Give both registration dates.")
            elif start > end:
                self.add_error("registered_until", "The last date is before the first one.")
        return data

    def bulk_source(self) -> BulkIssueSource:
        data = self.cleaned_data
        source = data["source"]
        return BulkIssueSource(
            kind=source,
            audience_id=data["audience"].pk if source == BulkSource.AUDIENCE else None,
            label_id=data["label"].pk if source == BulkSource.LABEL else None,
            registered_from=data.get("registered_from")
            if source == BulkSource.REGISTERED
            else None,
            registered_until=(
                data.get("registered_until") if source == BulkSource.REGISTERED else None
            ),
        )


REVOKE_CONFIRMATION = (
    "I understand that revoking coupons will make them unredeemable. Expired coupons cannot be "
    "redeemed or reversed."
)
MAX_REVOKE_CSV_BYTES = 20 * 1024 * 1024


class CouponRevokeForm(forms.Form):
    """The offer's "Revoke coupons" page (seed 001 "Revoke Coupon")."""

    class Mode(models.TextChoices):
        ALL_UNREDEEMED = "ALL_UNREDEEMED", "All unredeemed coupons (issued and unissued)"
        UNISSUED = "UNISSUED", "Only unissued coupons"
        CUSTOMERS = "CUSTOMERS", "For specific customers (upload a CSV)"

    mode = forms.ChoiceField(
        label="Revoke", choices=Mode.choices, widget=forms.RadioSelect, initial=Mode.ALL_UNREDEEMED
    )
    customers_file = forms.FileField(
        label="Customers CSV",
        required=False,
        help_text="For specific customers: one customer identifier per row (first column; an "
        "optional header row is skipped). All their unredeemed coupons of this offer are revoked.",
    )
    customer_identifier = forms.ChoiceField(
        label="Customers are identified by",
        required=False,
        choices=[
            choice
            for choice in CouponUpload.CustomerIdentifier.choices
            if choice[0] != CouponUpload.CustomerIdentifier.NOT_TAGGED
        ],
    )
    confirm = forms.BooleanField(label=REVOKE_CONFIRMATION, required=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("mode") == self.Mode.CUSTOMERS:
            upload = data.get("customers_file")
            if upload is None:
                self.add_error("customers_file", "Upload the CSV of customers to revoke for.")
            elif upload.size > MAX_REVOKE_CSV_BYTES:
                self.add_error("customers_file", "The file is larger than 20 MB.")
            else:
                try:
                    data["identifiers"] = _first_column_values(upload)
                except ValueError as exc:
                    self.add_error("customers_file", str(exc))
            if not data.get("customer_identifier"):
                self.add_error("customer_identifier", "Choose how the customers are identified.")
        return data


def _csv_rows(content: bytes) -> list[list[str]]:
    """The rows of an uploaded CSV. Raises ValueError when it is not UTF-8 text."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError("The file is not UTF-8 text (save it as CSV UTF-8).") from exc
    return list(csv.reader(io.StringIO(text)))


def _first_column_values(upload) -> list[str]:
    values = []
    for number, row in enumerate(_csv_rows(upload.read())):
        value = row[0].strip() if row else ""
        if not value or (number == 0 and is_header_row(row)):
            continue
        values.append(value)
    if not values:
        raise ValueError("The file has no customer identifiers.")
    return values
