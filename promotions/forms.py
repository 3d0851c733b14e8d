"""Admin forms for loyalty promotions: the promotion with its condition builder (the common rule
conditions as fields; the form writes the rule's `exp` and `expJSON`), and its restrictions.

Everything the service would refuse is checked here (promotion_spec_check), so a mistake shows on
the form and never after a "saved" message. Promotions whose ruleset came from the API in a shape
the builder cannot show (several rules or actions) keep their ruleset; the form edits the rest.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from loyalty_site.core.exceptions import DomainError
from members.models import LoyaltyType, RegistrationSource
from promotions.models import (
    AwardStrategy,
    ExpiryStrategy,
    PeriodType,
    PeriodUnit,
    Promotion,
    PromotionRestriction,
    PromotionSourceType,
    RestrictionFamily,
    RestrictionType,
)
from promotions.rules import (
    RuleSyntaxError,
    parse_exp,
    rule_compile,
    to_exp,
    to_exp_json_text,
)
from promotions.rules.builder import Conditions, conditions_from_tree, conditions_to_tree
from promotions.services import (
    ActionSpec,
    FilterSpec,
    PromotionSpec,
    RestrictionSpec,
    RulesetSpec,
    RuleSpec,
    promotion_spec_check,
    promotion_spec_of,
)
from promotions.services.definitions import restrictions_check
from promotions.services.kpis import EXPIRY_RESTRICTIONS, KPIS

AWARD_ACTION = "AWARD_POINTS_ACTION"
PROGRAM_DEFAULT_EXPIRY = "PROGRAM_DEFAULT"
# Field names of the form -> Promotion field that DomainError.field (the API's name) points at.
API_FIELDS = {
    "name": "name",
    "identifier": "identifier",
    "startDate": "starts_at",
    "endDate": "ends_at",
    "eventName": "event_name",
    "promotionSourceType": "source_type",
}
RESTRICTION_CHOICES = [
    (f"{family}:{name}", f"{family.title()}: {name}")
    for family, names in KPIS.items()
    for name in names
] + [(f"{RestrictionFamily.EXPIRY}:{name}", f"Expiry: {name}") for name in EXPIRY_RESTRICTIONS]


def _words(text: str) -> list[str]:
    return [part.strip() for part in (text or "").replace("\n", ",").split(",") if part.strip()]


def _ids(text: str, field: str) -> list[int]:
    values = []
    for part in _words(text):
        if not part.isdigit():
            raise ValidationError({field: f"{part!r} is not a number"})
        values.append(int(part))
    return values


def builder_view(promotion: Promotion | None) -> tuple[bool, Conditions | None, Any, Any]:
    """(editable by the builder, its conditions or None for a custom expression, award strategy,
    expiry strategy) of a saved promotion's ruleset."""
    ruleset = getattr(promotion, "ruleset", None) if promotion and promotion.pk else None
    if ruleset is None:
        return True, Conditions(), None, None
    rules = list(ruleset.rules.all())
    if len(rules) != 1:
        return False, None, None, None
    actions = list(rules[0].actions.all())
    if len(actions) > 1 or any(a.case != "true" or a.action_name != AWARD_ACTION for a in actions):
        return False, None, None, None
    try:
        tree = parse_exp(rules[0].exp)
    except RuleSyntaxError:
        return False, None, None, None
    action = actions[0] if actions else None
    return (
        True,
        conditions_from_tree(tree),
        action.award_strategy if action else None,
        action.expiry_strategy if action else None,
    )


class PromotionAdminForm(forms.ModelForm):
    target_group_ids_text = forms.CharField(
        label="Target group ids", required=False, help_text="Comma separated."
    )
    target_rule_ids_text = forms.CharField(
        label="Target rule ids", required=False, help_text="Comma separated."
    )
    min_bill_amount = forms.DecimalField(
        label="Minimum bill amount", required=False, min_value=0, decimal_places=3
    )
    skus = forms.CharField(label="SKUs in the bill", required=False, help_text="Comma separated.")
    categories = forms.CharField(label="Categories in the bill", required=False)
    brands = forms.CharField(label="Brands in the bill", required=False)
    store_codes = forms.CharField(label="Store codes", required=False)
    zone_codes = forms.CharField(label="Zone codes", required=False)
    tiers = forms.CharField(label="Customer tiers", required=False, help_text="Tier names.")
    sources = forms.MultipleChoiceField(
        label="Event sources",
        choices=RegistrationSource.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The bill's (or event's) source; none ticked: any source.",
    )
    custom_expression = forms.CharField(
        label="Custom rule (advanced)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Replaces the conditions above when filled, e.g. "
        'bill.amount >= 500 && hasLabel("VIP"). docs/API.md lists the names and functions.',
    )
    award_strategy = forms.ModelChoiceField(
        queryset=AwardStrategy.objects.select_related("program"),
        required=False,
        help_text="How many points a qualifying event (or line) gives.",
    )
    expiry_strategy = forms.ModelChoiceField(
        queryset=ExpiryStrategy.objects.select_related("program"),
        required=False,
        help_text="Empty: the program's expiry policy.",
    )
    loyalty_types = forms.MultipleChoiceField(
        choices=LoyaltyType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every customer.",
    )

    class Meta:
        model = Promotion
        fields = [
            "program",
            "name",
            "identifier",
            "description",
            "event_name",
            "source_type",
            "points_offer_type",
            "allocate_points_on",
            "starts_at",
            "ends_at",
            "is_active",
            "points_per_customer",
            "times_per_customer",
            "total_points",
            "points_per_event",
            "is_stackable",
            "is_exclusive",
            "is_considered_for_ranking",
            "is_always_apply",
            "priority",
            "loyalty_earning_type",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._initial("source_type", PromotionSourceType.PROMOTION_API)
        self._initial("event_name", "TransactionAdd")
        if "event_name" in self.fields:
            self.fields[
                "event_name"
            ].help_text = (
                "TransactionAdd, CustomerRegistration, TARGETCOMPLETED or a custom event name."
            )
        editable, conditions, award, expiry = builder_view(self.instance)
        self.ruleset_editable = editable
        instance = self.instance
        if instance.pk:
            self._initial(
                "target_group_ids_text", ", ".join(map(str, instance.target_group_ids or []))
            )
            self._initial(
                "target_rule_ids_text", ", ".join(map(str, instance.target_rule_ids or []))
            )
            self._initial_filters(instance)
        if not editable:
            for name in self.builder_fields():
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = (
                        "This promotion's ruleset has several rules or actions (it came from "
                        "the API): it is kept as it is."
                    )
            return
        self._initial("award_strategy", award)
        self._initial("expiry_strategy", expiry)
        if conditions is None:
            rule = instance.ruleset.rules.first()
            self._initial("custom_expression", rule.exp if rule else "")
            return
        for name in ("skus", "categories", "brands", "store_codes", "zone_codes", "tiers"):
            self._initial(name, ", ".join(getattr(conditions, name)))
        self._initial("min_bill_amount", conditions.min_bill_amount)
        self._initial("sources", conditions.sources)

    def _initial(self, name: str, value: Any) -> None:
        # View-only users get a form without fields.
        if name in self.fields:
            self.fields[name].initial = value

    @staticmethod
    def builder_fields() -> list[str]:
        return [
            "min_bill_amount",
            "skus",
            "categories",
            "brands",
            "store_codes",
            "zone_codes",
            "tiers",
            "sources",
            "custom_expression",
            "award_strategy",
            "expiry_strategy",
            "loyalty_types",
        ]

    def _initial_filters(self, instance: Promotion) -> None:
        ruleset = getattr(instance, "ruleset", None)
        if ruleset is None:
            return
        for item in ruleset.filters.all():
            if item.name == "LoyaltyType" and item.is_include:
                self._initial(
                    "loyalty_types",
                    [str(v).lower() for v in item.property_to_values.get("loyaltyType", [])],
                )

    # The rule -------------------------------------------------------------------------------
    def _conditions(self) -> Conditions:
        data = self.cleaned_data
        return Conditions(
            min_bill_amount=data.get("min_bill_amount"),
            skus=_words(data.get("skus", "")),
            categories=_words(data.get("categories", "")),
            brands=_words(data.get("brands", "")),
            store_codes=_words(data.get("store_codes", "")),
            zone_codes=_words(data.get("zone_codes", "")),
            tiers=_words(data.get("tiers", "")),
            sources=list(data.get("sources") or []),
        )

    def rule_tree(self):
        custom = (self.cleaned_data.get("custom_expression") or "").strip()
        if custom:
            try:
                return rule_compile(exp=custom, exp_json=None).tree
            except RuleSyntaxError as exc:
                raise ValidationError({"custom_expression": str(exc)}) from exc
        line_level = self.cleaned_data.get("allocate_points_on") == "LINEITEM"
        return conditions_to_tree(self._conditions(), line_level=line_level)

    def _ruleset(self, program, starts_at, ends_at) -> RulesetSpec:
        data = self.cleaned_data
        tree = self.rule_tree()
        award = data.get("award_strategy")
        expiry = data.get("expiry_strategy")
        for field, strategy in (("award_strategy", award), ("expiry_strategy", expiry)):
            if strategy is not None and strategy.program_id != program.pk:
                raise ValidationError({field: "Pick a strategy of the promotion's program."})
        actions = []
        if award is not None:
            actions.append(
                ActionSpec(
                    action_name=AWARD_ACTION,
                    properties={
                        "AwardStrategy": str(award.pk),
                        "ExpiryStrategy": str(expiry.pk) if expiry else PROGRAM_DEFAULT_EXPIRY,
                        "DelayStrategy": "AS_DEFINED_IN_ALLOCATION_STRATEGY",
                        "ProRateOnSourceValue": "EVENT_DEFAULT_VALUE",
                    },
                )
            )
        filters = []
        if data.get("loyalty_types"):
            filters.append(
                FilterSpec(
                    name="LoyaltyType", property_to_values={"loyaltyType": data["loyalty_types"]}
                )
            )
        return RulesetSpec(
            name=f"{data.get('identifier') or 'promotion'}-ruleset"[:255],
            context_id=program.pk,
            org_id=program.org_id,
            context_type="program",
            starts_at=starts_at,
            ends_at=ends_at,
            rules=[
                RuleSpec(
                    exp=to_exp(tree),
                    exp_json=to_exp_json_text(tree),
                    actions=actions,
                    name="Rule 1",
                )
            ],
            filters=filters,
            type="USER_CREATED",
            description="Written by the admin condition builder",
        )

    def build_spec(self, restrictions: list[RestrictionSpec] | None = None) -> PromotionSpec:
        """The promotion as the form describes it (restrictions from the inline)."""
        data = self.cleaned_data
        instance = self.instance
        program = data.get("program") or instance.program
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        base = promotion_spec_of(instance) if instance.pk else None
        if self.ruleset_editable:
            rulesets = [self._ruleset(program, starts_at, ends_at)]
        else:
            rulesets = list(base.rulesets)
        return PromotionSpec(
            name=data.get("name") or "",
            identifier=data.get("identifier") or "",
            starts_at=starts_at,
            ends_at=ends_at,
            event_name=data.get("event_name") or "",
            source_type=data.get("source_type"),
            rulesets=rulesets,
            allocate_points_on=data.get("allocate_points_on") or "BILL",
            points_offer_type=data.get("points_offer_type") or "GENERIC",
            promotion_type=base.promotion_type if base else "",
            add_type=base.add_type if base else "SIMPLE",
            description=data.get("description") or "",
            is_active=bool(data.get("is_active")),
            points_per_customer=data.get("points_per_customer"),
            times_per_customer=data.get("times_per_customer"),
            total_points=data.get("total_points"),
            points_per_event=data.get("points_per_event"),
            loyalty_earning_type=data.get("loyalty_earning_type") or "",
            is_stackable=bool(data.get("is_stackable")),
            is_exclusive=bool(data.get("is_exclusive")),
            is_considered_for_ranking=bool(data.get("is_considered_for_ranking")),
            is_always_apply=bool(data.get("is_always_apply")),
            priority=data.get("priority") or 0,
            target_group_ids=self._target_group_ids,
            target_rule_ids=self._target_rule_ids,
            restrictions=(
                restrictions if restrictions is not None else (base.restrictions if base else [])
            ),
            metadata=base.metadata if base else {},
            allocation_actions=base.allocation_actions if base else [],
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._target_group_ids = _ids(
            data.get("target_group_ids_text", ""), "target_group_ids_text"
        )
        self._target_rule_ids = _ids(data.get("target_rule_ids_text", ""), "target_rule_ids_text")
        if self.errors:
            return data
        program = data.get("program") or getattr(self.instance, "program", None)
        if program is None:
            return data
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError({"ends_at": "The end must be after the start."})
        try:
            promotion_spec_check(
                program=program, spec=self.build_spec(), exclude_pk=self.instance.pk
            )
        except DomainError as exc:
            field = API_FIELDS.get(exc.field or "")
            message = f"{exc.message} (code {exc.code})"
            if field in self.fields:
                raise ValidationError({field: message}) from exc
            raise ValidationError(message) from exc
        return data

    def _post_clean(self) -> None:
        # The service writes the promotion; the model's own checks ran in clean() already.
        pass


class PromotionRestrictionForm(forms.ModelForm):
    kpi = forms.ChoiceField(label="Restriction", choices=RESTRICTION_CHOICES)

    class Meta:
        model = PromotionRestriction
        fields = ["kpi", "value", "type", "period_type", "period_unit"]
        widgets = {
            "type": forms.Select(choices=[("", "---------"), *RestrictionType.choices]),
            "period_type": forms.Select(choices=[("", "---------"), *PeriodType.choices]),
            "period_unit": forms.Select(choices=[("", "---------"), *PeriodUnit.choices]),
        }
        help_texts = {"type": "Expiry restrictions: leave empty (PROMOTION)."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kpi"].initial = f"{self.instance.family}:{self.instance.name}"

    def spec(self) -> RestrictionSpec:
        family, name = self.cleaned_data["kpi"].split(":", 1)
        return RestrictionSpec(
            family=family,
            name=name,
            value=self.cleaned_data.get("value"),
            type=self.cleaned_data.get("type") or "",
            period_type=self.cleaned_data.get("period_type") or "",
            period_unit=self.cleaned_data.get("period_unit") or "",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kpi") and data.get("value") is not None:
            try:
                restrictions_check([self.spec()])
            except DomainError as exc:
                raise ValidationError(exc.message) from exc
        return data

    def _post_clean(self) -> None:
        # The service writes the row; the model's own checks ran in clean() already.
        pass


class PromotionRestrictionFormSet(forms.BaseInlineFormSet):
    def live_forms(self) -> list[PromotionRestrictionForm]:
        return [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def restriction_specs(self) -> list[RestrictionSpec]:
        return [form.spec() for form in self.live_forms()]

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        try:
            restrictions_check(self.restriction_specs())
        except DomainError as exc:
            raise ValidationError(exc.message) from exc
