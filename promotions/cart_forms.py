"""Admin forms for cart promotions: the promotion (condition, action and restrictions as the
contract's JSON objects, checked by the same rules as the API), and the promo code tools."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms

from loyalty_site.core.exceptions import DomainError
from promotions.models import CartPromotion, CartPromotionSettings
from promotions.services.cart.definitions import cart_promotion_rules_check
from promotions.services.cart.specs import CartPromotionSpec, cart_promotion_spec_from_body

JSON_WIDGET = forms.Textarea(attrs={"rows": 6, "cols": 90, "style": "font-family: monospace"})

# Body keys of the API -> form fields, so that an error names the field it is about.
FIELD_OF_KEY = {
    "name": "name",
    "type": "type",
    "messageLabel": "message_label",
    "active": "is_active",
    "startDate": "starts_at",
    "endDate": "ends_at",
    "priority": "priority",
    "campaignId": "campaign_id",
    "mode": "mode",
    "maxIssuancePerCustomer": "max_issuance_per_customer",
    "condition": "condition",
    "action": "action",
    "promotionRestrictions": "restrictions",
}


def _epoch_ms(moment: datetime.datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


class CartPromotionAdminForm(forms.ModelForm):
    condition = forms.JSONField(
        widget=JSON_WIDGET,
        help_text='e.g. {"type": "CART", "cartCondition": {"kpi": "SUBTOTAL", "operator": '
        '"GREATER_THAN", "value": 100}} or {"type": "PRODUCT", "productCondition": {"kpi": '
        '"QUANTITY", "value": 3, "criteriaList": [{"entity": "SKU", "values": ["TEE"]}]}}. '
        "Types: CART, PRODUCT, COMBO_PRODUCT, TENDER (docs/API.md).",
    )
    action = forms.JSONField(
        widget=JSON_WIDGET,
        help_text='e.g. {"type": "CART_BASED", "cartBasedAction": {"type": "PERCENTAGE", '
        '"value": 10}} or {"type": "FIXED_PRICE", "productBasedAction": {"value": 50}}. Types: '
        "CART_BASED, PRODUCT_BASED, FIXED_PRICE, FREE_PRODUCT, PER_UNIT, TENDER.",
    )
    restrictions = forms.JSONField(
        required=False,
        widget=JSON_WIDGET,
        label="Restrictions",
        help_text='Per level and KPI, e.g. {"Code": [{"kpi": "REDEMPTION", "limit": 1000}], '
        '"Customer": [{"kpi": "REDEMPTION", "limit": 1, "frequency": "DAYS"}]}. Levels: Code '
        "(each code), Customer, Promotion, Cart; KPIs: REDEMPTION, TRANSACTION, DISCOUNT.",
    )

    class Meta:
        model = CartPromotion
        fields = (
            "org",
            "name",
            "type",
            "mode",
            "message_label",
            "is_active",
            "starts_at",
            "ends_at",
            "priority",
            "is_stackable",
            "campaign_id",
            "is_loyalty_only",
            "customer_activation_required",
            "max_issuance_per_customer",
            "condition",
            "action",
            "restrictions",
        )

    spec: CartPromotionSpec | None = None

    def _body(self, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": data.get("name"),
            "type": data.get("type"),
            "messageLabel": data.get("message_label"),
            "active": bool(data.get("is_active")),
            "startDate": _epoch_ms(data.get("starts_at")),
            "endDate": _epoch_ms(data.get("ends_at")),
            "priority": data.get("priority"),
            "isStackable": bool(data.get("is_stackable")),
            "campaignId": data.get("campaign_id"),
            "mode": data.get("mode"),
            "isLoyaltyOnly": bool(data.get("is_loyalty_only")),
            "customerActivationRequired": bool(data.get("customer_activation_required")),
            "maxIssuancePerCustomer": data.get("max_issuance_per_customer"),
            "condition": data.get("condition"),
            "action": data.get("action"),
            "promotionRestrictions": data.get("restrictions") or {},
        }

    def _add_domain_error(self, exc: DomainError) -> None:
        key = (exc.field or "").split(".")[0].split("[")[0]
        field = FIELD_OF_KEY.get(key, exc.field)
        self.add_error(field if field in self.fields else None, exc.message)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            self.spec = cart_promotion_spec_from_body(self._body(data))
            cart_promotion_rules_check(
                org=data["org"], spec=self.spec, promotion_id=self.instance.pk
            )
        except DomainError as exc:
            self._add_domain_error(exc)
        return data


class CartPromotionSettingsForm(forms.ModelForm):
    class Meta:
        model = CartPromotionSettings
        fields = (
            "org",
            "condition_based_ranking_strategy",
            "reward_strategy",
            "promotion_ranking_strategy",
            "single_promotion_per_line_item",
            "max_combined_discount_percent",
            "is_active",
        )


class PromoCodesGenerateForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=1_000_000)
    length = forms.IntegerField(
        min_value=4, max_value=20, initial=8, help_text="Random characters per code."
    )
    prefix = forms.CharField(required=False, max_length=20)
    is_alphanumeric = forms.BooleanField(
        required=False,
        initial=True,
        label="Letters and digits",
        help_text="Unticked: digits only. Look-alike characters (0/O, 1/I/L) are never used.",
    )


class PromoCodesUploadForm(forms.Form):
    file = forms.FileField(
        help_text="CSV, one code per row in the first column (a header row is skipped)."
    )


class PromoCodeAddForm(forms.Form):
    code = forms.CharField(max_length=64, help_text="A given code, e.g. HOLIMAN100.")
