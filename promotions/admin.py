"""Admin for loyalty promotions: marketing managers create and edit promotions with the condition
builder (promotions.forms), pick award and expiry strategies, set restrictions in a table, and see
each promotion's usage (points given, customers, events). Writes go through the services, so the
earning engine's catalog follows every change. Earns, issues and events are read-only records.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from promotions import cart_admin  # noqa: F401 (registers the cart promotion admin)
from promotions.forms import (
    PromotionAdminForm,
    PromotionRestrictionForm,
    PromotionRestrictionFormSet,
)
from promotions.models import (
    AwardStrategy,
    ExpiryStrategy,
    Promotion,
    PromotionEarn,
    PromotionEvent,
    PromotionIssue,
    PromotionRestriction,
)
from promotions.selectors import promotion_status
from promotions.services import (
    promotion_create,
    promotion_issue_revoke,
    promotion_set_active,
    promotion_update,
    strategies_changed,
)


def _points(value: Decimal | None) -> str:
    """40, 12.5: points without the trailing zeros of the database's scale."""
    if not value:
        return "0"
    return format(Decimal(value).quantize(Decimal("0.001")).normalize(), "f")


class PromotionRestrictionInline(admin.TabularInline):
    model = PromotionRestriction
    form = PromotionRestrictionForm
    formset = PromotionRestrictionFormSet
    extra = 1
    fields = ("kpi", "value", "type", "period_type", "period_unit")
    verbose_name = "restriction"
    verbose_name_plural = (
        "Restrictions (value -1 keeps a restriction listed but off; PERIOD_BASED needs a period)"
    )


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    form = PromotionAdminForm
    inlines = [PromotionRestrictionInline]
    list_display = (
        "name",
        "identifier",
        "program",
        "event_name",
        "points_offer_type",
        "status",
        "starts_at",
        "ends_at",
        "points_given",
        "customers",
        "events",
    )
    list_filter = ("is_active", "points_offer_type", "source_type", "event_name", "program__org")
    list_select_related = ("program", "program__org")
    search_fields = ("name", "identifier", "=id")
    autocomplete_fields = ("program",)
    readonly_fields = ("usage_summary", "rules_summary", "status")
    actions = ["switch_on", "switch_off"]
    fieldsets = (
        (
            "Promotion",
            {
                "fields": (
                    "program",
                    ("name", "identifier"),
                    "description",
                    ("event_name", "source_type"),
                    ("points_offer_type", "allocate_points_on"),
                    ("starts_at", "ends_at"),
                    "is_active",
                )
            },
        ),
        (
            "Who and what qualifies (condition builder)",
            {
                "fields": (
                    "min_bill_amount",
                    ("skus", "categories", "brands"),
                    ("store_codes", "zone_codes"),
                    "tiers",
                    "sources",
                    "loyalty_types",
                    "custom_expression",
                ),
                "description": "Every condition filled in must hold. For line-item promotions "
                "the SKU / category / brand conditions pick the lines that earn.",
            },
        ),
        ("Points", {"fields": ("award_strategy", "expiry_strategy")}),
        (
            "Limits (empty: no limit)",
            {
                "fields": (
                    ("points_per_customer", "times_per_customer"),
                    ("total_points", "points_per_event"),
                )
            },
        ),
        (
            "Competing promotions and targets",
            {
                "fields": (
                    ("is_stackable", "is_exclusive", "is_always_apply"),
                    ("is_considered_for_ranking", "priority"),
                    "loyalty_earning_type",
                    ("target_group_ids_text", "target_rule_ids_text"),
                ),
                "classes": ("collapse",),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Promotion]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                points_total=Sum("customer_usage__points_awarded"),
                events_total=Sum("customer_usage__times_awarded"),
                customers_total=Count(
                    "customer_usage", filter=Q(customer_usage__times_awarded__gt=0)
                ),
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Promotion | None = None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("program")
        return fields

    def get_fieldsets(self, request: HttpRequest, obj: Promotion | None = None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return (
            ("Usage", {"fields": ("status", "usage_summary", "rules_summary")}),
            *fieldsets,
        )

    @admin.display(description="Status")
    def status(self, promotion: Promotion) -> str:
        return promotion_status(promotion)

    @admin.display(description="Points given", ordering="points_total")
    def points_given(self, promotion: Promotion) -> str:
        return _points(getattr(promotion, "points_total", None))

    @admin.display(description="Customers", ordering="customers_total")
    def customers(self, promotion: Promotion) -> int:
        return getattr(promotion, "customers_total", None) or 0

    @admin.display(description="Events", ordering="events_total")
    def events(self, promotion: Promotion) -> int:
        return getattr(promotion, "events_total", None) or 0

    @admin.display(description="Usage")
    def usage_summary(self, promotion: Promotion) -> str:
        live_issues = promotion.issues.filter(status=PromotionIssue.Status.ACTIVE).count()
        return format_html(
            "{} points given to {} customers over {} events; {} live issues / enrolments.",
            _points(getattr(promotion, "points_total", None)),
            getattr(promotion, "customers_total", None) or 0,
            getattr(promotion, "events_total", None) or 0,
            live_issues,
        )

    @admin.display(description="Rules")
    def rules_summary(self, promotion: Promotion) -> str:
        ruleset = getattr(promotion, "ruleset", None)
        if ruleset is None:
            return "-"
        return format_html_join(
            "",
            "<p><code>{}</code> &rarr; {}</p>",
            (
                (
                    rule.exp,
                    ", ".join(
                        f"{action.action_name} (award strategy {action.award_strategy or '-'})"
                        for action in rule.actions.all()
                    )
                    or "no action",
                )
                for rule in ruleset.rules.all()
            ),
        )

    def save_model(self, request: HttpRequest, obj: Promotion, form, change: bool) -> None:
        # The service writes the promotion with its restrictions in save_related.
        pass

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        restrictions = None
        for formset in formsets:
            if isinstance(formset, PromotionRestrictionFormSet):
                restrictions = formset.restriction_specs()
            # The service replaces the rows; the change message reads what the formset "saved".
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        spec = form.build_spec(restrictions)
        if change:
            saved = promotion_update(promotion=form.instance, spec=spec, actor=request.user)
        else:
            saved = promotion_create(
                program=form.cleaned_data["program"], spec=spec, actor=request.user
            )
        form.instance.pk = saved.pk
        form.instance._state.adding = False
        form.instance.refresh_from_db()

    @admin.action(description="Switch the selected promotions on", permissions=["change"])
    def switch_on(self, request: HttpRequest, queryset: QuerySet[Promotion]) -> None:
        for promotion in queryset:
            promotion_set_active(promotion=promotion, is_active=True, actor=request.user)
        messages.success(request, f"{queryset.count()} promotions switched on.")

    @admin.action(description="Switch the selected promotions off", permissions=["change"])
    def switch_off(self, request: HttpRequest, queryset: QuerySet[Promotion]) -> None:
        for promotion in queryset:
            promotion_set_active(promotion=promotion, is_active=False, actor=request.user)
        messages.success(request, f"{queryset.count()} promotions switched off.")


class StrategyAdmin(admin.ModelAdmin):
    list_select_related = ("program", "program__org")
    search_fields = ("name", "program__name", "=id")
    list_filter = ("kind", "program__org")
    autocomplete_fields = ("program",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return ("id", "program") if obj is not None else ("id",)

    def save_model(self, request: HttpRequest, obj: Any, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        strategies_changed(org=obj.program.org)


@admin.register(AwardStrategy)
class AwardStrategyAdmin(StrategyAdmin):
    list_display = (
        "id",
        "name",
        "program",
        "kind",
        "value",
        "per_amount",
        "rounding",
        "delay_days",
    )
    fields = ("id", "program", "name", "kind", "value", "per_amount", "rounding", "delay_days")


@admin.register(ExpiryStrategy)
class ExpiryStrategyAdmin(StrategyAdmin):
    list_display = ("id", "name", "program", "kind", "value")
    fields = ("id", "program", "name", "kind", "value")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PromotionIssue)
class PromotionIssueAdmin(ReadOnlyAdmin):
    list_display = ("promotion", "customer", "kind", "status", "issued_at", "expires_at")
    list_filter = ("kind", "status")
    list_select_related = ("promotion", "customer")
    search_fields = ("promotion__name", "=customer__id", "customer__mobile", "customer__email")
    actions = ["revoke"]

    @admin.action(description="Revoke the selected issues", permissions=["view"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PromotionIssue]) -> None:
        if not request.user.has_perm("promotions.change_promotion"):
            messages.error(request, "Revoking issues needs the change promotion permission.")
            return
        for issue in queryset.filter(status=PromotionIssue.Status.ACTIVE):
            promotion_issue_revoke(issue=issue, actor=request.user)
        messages.success(request, "Issues revoked.")


@admin.register(PromotionEarn)
class PromotionEarnAdmin(ReadOnlyAdmin):
    list_display = ("earned_at", "promotion", "customer", "points", "event_name", "transaction")
    list_filter = ("event_name", "category")
    list_select_related = ("promotion", "customer", "transaction")
    search_fields = ("promotion__name", "=customer__id", "customer__mobile", "source_key")
    date_hierarchy = "earned_at"


@admin.register(PromotionEvent)
class PromotionEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "event_name", "customer", "event_id", "source")
    list_filter = ("event_name", "source")
    list_select_related = ("customer",)
    search_fields = ("event_id", "event_name", "=customer__id", "customer__mobile")
