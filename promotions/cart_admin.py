"""Admin for cart promotions (promotion engine): marketing managers configure promotions
(condition, action and restrictions as the contract's JSON, checked like the API), add, generate
and upload their promo codes, and set the org's ranking; member care sees each code's limits and
the bills that redeemed it. Writes go through promotions.services.cart, so the engine's catalog
follows every change. Registered by importing this module from promotions.admin.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from loyalty_site.core.exceptions import DomainError
from promotions.cart_forms import (
    CartPromotionAdminForm,
    CartPromotionSettingsForm,
    PromoCodeAddForm,
    PromoCodesGenerateForm,
    PromoCodesUploadForm,
)
from promotions.cart_selectors import (
    cart_evaluation_status,
    cart_promotion_status,
    code_restrictions_status,
)
from promotions.models import (
    CartEvaluation,
    CartEvaluationPromotion,
    CartPromotion,
    CartPromotionSettings,
    CartPromotionType,
    PromoCode,
    PromoCodeLink,
)
from promotions.services.cart import (
    cart_catalog_changed,
    cart_promotion_create,
    cart_promotion_set_active,
    cart_promotion_update,
    promo_code_add,
    promo_codes_generate_start,
    promo_codes_upload_start,
)


def _amount(value: Decimal | None) -> str:
    if not value:
        return "0"
    return format(Decimal(value).normalize(), "f")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


CODE_TOOL_TEMPLATE = "admin/promotions/cartpromotion/code_tool.html"


@admin.register(CartPromotion)
class CartPromotionAdmin(admin.ModelAdmin):
    form = CartPromotionAdminForm
    list_display = (
        "name",
        "type",
        "mode",
        "status",
        "priority",
        "is_stackable",
        "starts_at",
        "ends_at",
        "code_count",
        "org",
    )
    list_filter = ("type", "mode", "is_active", "is_stackable", "org")
    list_select_related = ("org",)
    search_fields = ("name", "=public_id", "message_label")
    autocomplete_fields = ("org",)
    readonly_fields = ("public_id", "code_tools", "created_at", "updated_at")
    actions = ("activate", "deactivate")
    fieldsets = (
        (None, {"fields": ("org", "public_id", "name", "type", "mode", "message_label")}),
        ("When", {"fields": ("is_active", "starts_at", "ends_at")}),
        (
            "Ranking and who gets it",
            {
                "fields": (
                    "priority",
                    "is_stackable",
                    "campaign_id",
                    "is_loyalty_only",
                    "customer_activation_required",
                    "max_issuance_per_customer",
                )
            },
        ),
        ("Condition, action and limits", {"fields": ("condition", "action", "restrictions")}),
        ("Promo codes", {"fields": ("code_tools",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[CartPromotion]:
        return super().get_queryset(request).annotate(codes_total=Count("codes"))

    @admin.display(description="status")
    def status(self, promotion: CartPromotion) -> str:
        return cart_promotion_status(promotion)

    @admin.display(description="codes", ordering="codes_total")
    def code_count(self, promotion: CartPromotion) -> int:
        return getattr(promotion, "codes_total", 0)

    @admin.display(description="promo codes")
    def code_tools(self, promotion: CartPromotion) -> str:
        if not promotion.pk or promotion.type != CartPromotionType.CODE:
            return "Codes belong to CODE promotions (save the promotion first)."
        codes_url = (
            reverse("admin:promotions_promocode_changelist")
            + f"?promotion__id__exact={promotion.pk}"
        )
        return format_html(
            '{} code(s): <a href="{}">list</a> · <a href="{}">add a code</a> · '
            '<a href="{}">generate codes</a> · <a href="{}">upload a CSV</a>',
            promotion.codes.count(),
            codes_url,
            reverse("admin:promotions_cartpromotion_code_add", args=[promotion.pk]),
            reverse("admin:promotions_cartpromotion_codes_generate", args=[promotion.pk]),
            reverse("admin:promotions_cartpromotion_codes_upload", args=[promotion.pk]),
        )

    def save_model(self, request: HttpRequest, obj: CartPromotion, form, change: bool) -> None:
        if change:
            saved = cart_promotion_update(promotion=obj, spec=form.spec, actor=None)
        else:
            saved = cart_promotion_create(org=form.cleaned_data["org"], spec=form.spec, actor=None)
        obj.pk = saved.pk
        obj.public_id = saved.public_id

    @admin.action(description="Activate the selected promotions", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[CartPromotion]) -> None:
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate the selected promotions", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[CartPromotion]) -> None:
        self._set_active(request, queryset, False)

    def _set_active(self, request: HttpRequest, queryset, is_active: bool) -> None:
        done = 0
        for promotion in queryset.order_by("pk"):
            try:
                cart_promotion_set_active(promotion=promotion, is_active=is_active, actor=None)
                done += 1
            except DomainError as exc:
                messages.error(request, f"{promotion.name}: {exc.message}")
        if done:
            messages.success(
                request, f"{done} promotion(s) {'activated' if is_active else 'deactivated'}."
            )

    # Code tools -------------------------------------------------------------------------------
    def get_urls(self):
        tool = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/codes/add/",
                tool(self.code_add_view),
                name="promotions_cartpromotion_code_add",
            ),
            path(
                "<path:object_id>/codes/generate/",
                tool(self.codes_generate_view),
                name="promotions_cartpromotion_codes_generate",
            ),
            path(
                "<path:object_id>/codes/upload/",
                tool(self.codes_upload_view),
                name="promotions_cartpromotion_codes_upload",
            ),
        ] + super().get_urls()

    def _promotion_for_tool(self, request: HttpRequest, object_id: str) -> CartPromotion:
        promotion = self.get_object(request, object_id)
        if promotion is None:
            raise Http404("No such promotion")
        if not self.has_change_permission(request, promotion):
            raise PermissionDenied
        return promotion

    def _tool(self, request, promotion, title: str, form, intro: str, button: str):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "intro": intro,
            "button": button,
            "opts": self.model._meta,
            "original": promotion,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, CODE_TOOL_TEMPLATE, context)

    def _job_started(self, request: HttpRequest, job_id: int, text: str) -> HttpResponse:
        self.message_user(request, text, messages.SUCCESS)
        return redirect(reverse("admin:core_job_change", args=[job_id]))

    def code_add_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        promotion = self._promotion_for_tool(request, object_id)
        form = PromoCodeAddForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                code = promo_code_add(promotion=promotion, code=form.cleaned_data["code"])
            except DomainError as exc:
                form.add_error("code", exc.message)
            else:
                self.message_user(request, f"Code {code.code} added.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:promotions_cartpromotion_change", args=[promotion.pk])
                )
        return self._tool(
            request,
            promotion,
            f"Add a code to {promotion.name}",
            form,
            "A given code, such as an influencer's HOLIMAN100; its limits are the promotion's "
            "Code restrictions.",
            "Add",
        )

    def codes_generate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        promotion = self._promotion_for_tool(request, object_id)
        form = PromoCodesGenerateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                job = promo_codes_generate_start(
                    promotion=promotion,
                    count=data["count"],
                    length=data["length"],
                    prefix=data["prefix"],
                    is_alphanumeric=data["is_alphanumeric"],
                    started_by=request.user,
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                return self._job_started(request, job.pk, f"Generating {data['count']:,} codes.")
        return self._tool(
            request,
            promotion,
            f"Generate codes for {promotion.name}",
            form,
            "Codes are drawn with the coupons' generator and are unique in the org; more can be "
            "generated at any time.",
            "Generate",
        )

    def codes_upload_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        promotion = self._promotion_for_tool(request, object_id)
        form = PromoCodesUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = promo_codes_upload_start(
                    promotion=promotion, file=upload, file_name=upload.name, started_by=request.user
                )
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                return self._job_started(request, job.pk, f"Uploading codes from {upload.name}.")
        return self._tool(
            request,
            promotion,
            f"Upload codes for {promotion.name}",
            form,
            "Each row's code is added on its own; a malformed, repeated or existing code is "
            "listed with its row number in the job's error report.",
            "Upload",
        )


@admin.register(CartPromotionSettings)
class CartPromotionSettingsAdmin(admin.ModelAdmin):
    form = CartPromotionSettingsForm
    list_display = (
        "org",
        "condition_based_ranking_strategy",
        "promotion_ranking_strategy",
        "reward_strategy",
        "single_promotion_per_line_item",
        "max_combined_discount_percent",
        "is_active",
    )
    list_select_related = ("org",)
    search_fields = ("org__name",)
    list_filter = ("promotion_ranking_strategy", "is_active")
    autocomplete_fields = ("org",)

    def save_model(self, request: HttpRequest, obj: CartPromotionSettings, form, change: bool):
        super().save_model(request, obj, form, change)
        cart_catalog_changed(obj.org_id)


class PromoCodeLinkInline(admin.TabularInline):
    model = PromoCodeLink
    fields = ("customer", "mode", "is_active", "created_at", "linked_by_till")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Linked customers"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CodeRedemptionInline(admin.TabularInline):
    """The bills that redeemed the code (member care's view of a code)."""

    model = CartEvaluationPromotion
    fk_name = "code"
    fields = ("used_at", "state", "customer", "transaction_link", "redemptions", "discount")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "redemption"
    verbose_name_plural = "Redemptions (bills that used the code)"

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .filter(state__in=["USED", "RETURNED"])
            .select_related("customer", "transaction", "transaction__store")
            .order_by("-used_at")
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="transaction")
    def transaction_link(self, row: CartEvaluationPromotion) -> str:
        transaction = row.transaction
        if transaction is None:
            return "-"
        return format_html(
            '<a href="{}">{} at {} ({})</a>',
            reverse("admin:members_transaction_change", args=[transaction.pk]),
            transaction.number,
            transaction.store.code,
            transaction.bill_amount,
        )


@admin.register(PromoCode)
class PromoCodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "promotion", "source", "is_active", "redeemed", "created_at")
    list_filter = ("source", "is_active", "promotion__org", "promotion")
    list_select_related = ("promotion",)
    search_fields = ("=code", "promotion__name")
    autocomplete_fields = ("promotion",)
    fields = (
        "code",
        "promotion",
        "source",
        "is_active",
        "created_at",
        "job",
        "row_number",
        "status",
    )
    readonly_fields = fields
    inlines = [CodeRedemptionInline, PromoCodeLinkInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PromoCode]:
        return (
            super()
            .get_queryset(request)
            .annotate(redeemed_total=Count("redemptions", filter=Q(redemptions__state="USED")))
        )

    @admin.display(description="redeemed", ordering="redeemed_total")
    def redeemed(self, code: PromoCode) -> int:
        return getattr(code, "redeemed_total", 0)

    @admin.display(description="limits now")
    def status(self, code: PromoCode) -> str:
        statuses = code_restrictions_status(code)
        if not statuses:
            return "No code or promotion limits."
        return format_html_join(
            "",
            "<div>{} {}: {} left of {} ({} held by pending carts)</div>",
            (
                (
                    item.level,
                    item.kpi.lower(),
                    _amount(item.remaining),
                    _amount(item.max_limit),
                    _amount(item.held),
                )
                for item in statuses
            ),
        )


class EvaluationAppliedInline(admin.TabularInline):
    model = CartEvaluationPromotion
    fields = ("promotion", "code", "state", "redemptions", "discount", "transaction", "used_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CartEvaluation)
class CartEvaluationAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "customer", "current_status", "amount", "discount", "created_at")
    list_filter = ("status", "org")
    list_select_related = ("customer",)
    search_fields = ("=public_id", "=customer__mobile", "=customer__email")
    fields = (
        "public_id",
        "org",
        "customer",
        "till",
        "current_status",
        "amount",
        "discount",
        "promo_codes",
        "expires_at",
        "transaction",
        "closed_at",
        "created_at",
    )
    readonly_fields = fields
    inlines = [EvaluationAppliedInline]

    @admin.display(description="status")
    def current_status(self, evaluation: CartEvaluation) -> str:
        return cart_evaluation_status(evaluation)
