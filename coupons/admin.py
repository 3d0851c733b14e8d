"""Django admin for offers (coupon series), their coupons and audiences.

The offer page is one form grouped like the seed's sections. Saving goes through the series
services (coupons.services.series), which also normalise the settings (third-party delivery
clears issual settings, with a warning). "Generate codes now" starts a job with progress; so do
the offer's "Upload" page (a CSV of codes or customers) and its "Bulk issue" page (an audience
or a segment): each opens the job's progress page, whose error report is "Download issues".
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from coupons.admin_inlines import CouponRedemptionInline, CouponReminderDeliveryInline
from coupons.forms import (
    CouponAudienceMemberForm,
    CouponBulkIssueForm,
    CouponExpiryReminderForm,
    CouponRevokeForm,
    CouponSeriesAdminForm,
    CouponUploadForm,
)
from coupons.models import (
    CodeType,
    Coupon,
    CouponAudience,
    CouponAudienceMember,
    CouponExpiryReminder,
    CouponRedemption,
    CouponRevocation,
    CouponSeries,
    CouponUpload,
)
from coupons.selectors import series_redeemed_total, with_redemption_totals
from coupons.services.bulk import coupon_bulk_issue_start
from coupons.services.codes import (
    ALPHANUMERIC_ALPHABET,
    NUMERIC_ALPHABET,
    code_shape_for,
    coupon_codes_generate_start,
    randomized_capacity_note,
)
from coupons.services.redemption import coupon_redemption_reverse
from coupons.services.revoke import (
    coupons_revoke_all,
    coupons_revoke_for_customers,
    customers_from_identifiers,
)
from coupons.services.series import coupon_series_create, coupon_series_update
from coupons.services.uploads import coupon_upload_start
from loyalty_site.core.exceptions import DomainError

RECENT_UPLOADS = 5


class CouponExpiryReminderInline(admin.TabularInline):
    model = CouponExpiryReminder
    form = CouponExpiryReminderForm
    extra = 0
    verbose_name = "expiry reminder"
    verbose_name_plural = "Send expiry reminders (days before expiry, channel, local time)"


class CouponAudienceInline(admin.TabularInline):
    model = CouponAudience
    fields = ("name", "member_count")
    readonly_fields = ("member_count",)
    extra = 0
    show_change_link = True
    verbose_name_plural = "Issue to specific customers only: audiences"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CouponAudience]:
        return super().get_queryset(request).annotate(customer_count=Count("members"))

    @admin.display(description="customers")
    def member_count(self, audience: CouponAudience) -> int:
        return getattr(audience, "customer_count", 0)


@admin.register(CouponSeries)
class CouponSeriesAdmin(admin.ModelAdmin):
    form = CouponSeriesAdminForm
    inlines = [CouponExpiryReminderInline, CouponAudienceInline]
    list_display = (
        "description",
        "org",
        "code_type",
        "delivery_method",
        "discount_type",
        "discount_value",
        "valid_till",
        "num_issued",
        "max_issuals",
        "num_codes",
    )
    list_filter = ("code_type", "delivery_method", "discount_type", "expiry_strategy", "org")
    list_select_related = ("org",)
    search_fields = ("description", "discount_code", "series_code", "=id")
    autocomplete_fields = ("org",)
    readonly_fields = (
        "series_code",
        "code_capacity",
        "random_fixed_part",
        "num_issued",
        "redeemed",
        "num_codes",
        "num_uploaded_total",
        "num_uploaded_non_issued",
        "latest_issued_at",
        "issual_limit_notified_at",
    )
    fieldsets = (
        (
            "Offer",
            {
                "fields": (
                    "org",
                    "description",
                    "discount_code",
                    "info",
                    "terms_and_conditions",
                    "custom_properties",
                    "tag",
                    "priority",
                )
            },
        ),
        (
            "Discount",
            {
                "fields": (
                    ("discount_type", "discount_value", "discount_upto"),
                    ("discount_on", "currency"),
                    ("product_skus", "product_categories", "product_brands"),
                    "is_valid_with_discounted_item",
                )
            },
        ),
        (
            "How coupons reach customers and how codes are made",
            {
                "fields": (
                    "delivery_method",
                    "code_type",
                    ("is_alphanumeric", "code_length", "short_code_length"),
                    ("is_prefix_enabled", "code_prefix", "prefix_overrides_org"),
                    ("is_suffix_enabled", "code_suffix", "suffix_overrides_org"),
                    "generic_code",
                    ("sample_code", "random_fixed_part"),
                    "code_capacity",
                    "generate_codes",
                ),
                "description": "Third-party delivery has no issual or reminder settings and no "
                "recipient restriction.",
            },
        ),
        (
            "When a coupon expires",
            {"fields": ("valid_till", ("expiry_strategy", "expiry_value"))},
        ),
        (
            "Issual and reminders",
            {
                "fields": (
                    "past_issual_series",
                    ("allows_multiple_per_customer", "max_per_customer"),
                    "min_days_between_issuals",
                    "resends_existing_coupon",
                    ("max_issuals", "issual_limit_notify_remaining"),
                    "is_audience_restricted",
                    ("sends_sms", "is_resend_enabled", "allows_unicode_sms"),
                    "sms_template",
                    "short_sms_template",
                    ("issue_to_loyalty", "is_referral_existing_users_allowed"),
                    "max_referrals_per_referee",
                ),
                "description": "SMS tags: {{coupon_code}}, {{valid_till}}, {{first_name}}, "
                "{{last_name}}, {{fullname}}, {{offer_name}}, {{discount_value}}, "
                "{{valid_days_from_create}} (also {{voucher}}, {{voucher_code}}, "
                "{{cust_name}}). Reminders and audiences are below the form.",
            },
        ),
        (
            "Redemption",
            {
                "fields": (
                    "any_user",
                    ("redemption_valid_after_days", "redemption_valid_from"),
                    ("is_multiple_use_allowed", "same_user_multiple_redeem"),
                    ("max_redemptions_per_user", "redemption_per_coupon_max_limit"),
                    ("redeem_store_ids", "redeem_zone_ids", "redeem_concept_ids"),
                    ("redeem_till_ids", "redeem_places_file"),
                    ("min_bill_amount", "max_bill_amount"),
                    "redeem_days_of_week",
                    "redeem_days_of_month",
                    "redeem_hours",
                    "min_days_between_redemptions",
                    "max_redemptions",
                    (
                        "target_registered_from",
                        "target_registered_until",
                        "target_max_transactions",
                    ),
                ),
                "classes": ("collapse",),
                "description": "Rules applied when a coupon is redeemed.",
            },
        ),
        (
            "Counters",
            {
                "fields": (
                    "series_code",
                    ("num_issued", "redeemed", "latest_issued_at"),
                    ("num_codes", "num_uploaded_total", "num_uploaded_non_issued"),
                    "issual_limit_notified_at",
                ),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[CouponSeries]:
        return with_redemption_totals(super().get_queryset(request))

    @admin.display(description="redeemed")
    def redeemed(self, series: CouponSeries) -> int:
        return series_redeemed_total(series)

    def get_readonly_fields(self, request: HttpRequest, obj: CouponSeries | None = None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.extend(["org", "issue_tools"])
        return fields

    def get_fieldsets(self, request: HttpRequest, obj: CouponSeries | None = None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return (*fieldsets, ("Upload and bulk issue", {"fields": ("issue_tools",)}))

    @admin.display(description="Upload and issue")
    def issue_tools(self, series: CouponSeries) -> str:
        links = format_html(
            '<p><a class="button" href="{}">Upload</a> <a class="button" href="{}">Bulk '
            'issue</a> <a class="button" href="{}">Revoke coupons</a></p>',
            reverse("admin:coupons_couponseries_upload", args=[series.pk]),
            reverse("admin:coupons_couponseries_bulk_issue", args=[series.pk]),
            reverse("admin:coupons_couponseries_revoke", args=[series.pk]),
        )
        uploads = list(
            CouponUpload.objects.filter(series=series).select_related("job")[:RECENT_UPLOADS]
        )
        if not uploads:
            return links
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a>: {} ({} / {} rows, {} failed)</li>',
            (
                (
                    reverse("admin:core_job_change", args=[upload.job_id]),
                    upload.file_name,
                    upload.job.get_status_display(),
                    upload.job.processed,
                    upload.job.total,
                    upload.job.failed,
                )
                for upload in uploads
            ),
        )
        return format_html("{}<p>Recent uploads:</p><ul>{}</ul>", links, rows)

    def get_urls(self):
        pages = [
            path(
                "<path:object_id>/upload/",
                self.admin_site.admin_view(self.upload_view),
                name="coupons_couponseries_upload",
            ),
            path(
                "<path:object_id>/bulk-issue/",
                self.admin_site.admin_view(self.bulk_issue_view),
                name="coupons_couponseries_bulk_issue",
            ),
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="coupons_couponseries_revoke",
            ),
        ]
        return pages + super().get_urls()

    def _series_for_tool(self, request: HttpRequest, object_id: str) -> CouponSeries:
        series = self.get_object(request, object_id)
        if series is None:
            raise Http404("No such offer")
        if not self.has_change_permission(request, series):
            raise PermissionDenied
        return series

    def _tool_page(self, request: HttpRequest, series: CouponSeries, title: str, form, template):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "opts": self.model._meta,
            "original": series,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, template, context)

    def _job_started(self, request: HttpRequest, job_id: int, text: str) -> HttpResponse:
        self.message_user(request, text, messages.SUCCESS)
        return redirect(reverse("admin:core_job_change", args=[job_id]))

    def upload_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Upload a CSV for the offer; starts the upload job and opens its progress page."""
        series = self._series_for_tool(request, object_id)
        if request.method == "POST":
            form = CouponUploadForm(request.POST, request.FILES, series=series)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    upload = coupon_upload_start(
                        series=series,
                        file=data["file"],
                        file_name=data["file"].name,
                        customer_identifier=data["customer_identifier"],
                        identifier_column=data["identifier_column"],
                        code_column=data.get("code_column"),
                        started_by=request.user,
                    )
                except DomainError as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                else:
                    return self._job_started(
                        request,
                        upload.job_id,
                        f"Upload of {upload.file_name} started (job #{upload.job_id}). Rows "
                        "that fail are listed in the job's error report (Download issues).",
                    )
        else:
            form = CouponUploadForm(series=series)
        return self._tool_page(
            request,
            series,
            f"Upload for {series.description}",
            form,
            "admin/coupons/couponseries/upload.html",
        )

    def bulk_issue_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Issue the offer to an audience or a segment; starts the bulk job and opens it."""
        series = self._series_for_tool(request, object_id)
        if request.method == "POST":
            form = CouponBulkIssueForm(request.POST, series=series)
            if form.is_valid():
                try:
                    job = coupon_bulk_issue_start(
                        series=series,
                        source=form.bulk_source(),
                        chunk_size=form.cleaned_data["chunk_size"],
                        started_by=request.user,
                    )
                except DomainError as exc:
                    form.add_error(None, exc.message)
                else:
                    return self._job_started(
                        request,
                        job.pk,
                        f"Bulk issue of {series.description} started (job #{job.pk}).",
                    )
        else:
            form = CouponBulkIssueForm(series=series)
        return self._tool_page(
            request,
            series,
            f"Bulk issue of {series.description}",
            form,
            "admin/coupons/couponseries/bulk_issue.html",
        )

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Revoke the offer's unredeemed coupons: all, only unissued, or a CSV of customers."""
        series = self._series_for_tool(request, object_id)
        if request.method == "POST":
            form = CouponRevokeForm(request.POST, request.FILES)
            if form.is_valid():
                result = self._revoke(request, series, form)
                revocation = result.revocation
                text = f"{revocation.revoked_count:,} coupon(s) of {series.description} revoked."
                if revocation.mode == CouponRevocation.Mode.CUSTOMERS:
                    text += (
                        f" Customers found: {revocation.customers_count:,}; identifiers that "
                        f"matched nobody: {revocation.failed_count:,}."
                    )
                self.message_user(request, text, messages.SUCCESS)
                return redirect(reverse("admin:coupons_couponseries_change", args=[series.pk]))
        else:
            form = CouponRevokeForm()
        return self._tool_page(
            request,
            series,
            f"Revoke coupons of {series.description}",
            form,
            "admin/coupons/couponseries/revoke.html",
        )

    @staticmethod
    def _revoke(request: HttpRequest, series: CouponSeries, form: CouponRevokeForm):
        data = form.cleaned_data
        mode = data["mode"]
        if mode == CouponRevokeForm.Mode.CUSTOMERS:
            customers, unknown = customers_from_identifiers(
                org_id=series.org_id,
                identifier=data["customer_identifier"],
                values=data["identifiers"],
            )
            return coupons_revoke_for_customers(
                series=series, customers=customers, user=request.user, unknown_identifiers=unknown
            )
        return coupons_revoke_all(
            series=series,
            only_unissued=mode == CouponRevokeForm.Mode.UNISSUED,
            user=request.user,
        )

    @admin.display(description="capacity")
    def code_capacity(self, series: CouponSeries | None) -> str:
        shape = code_shape_for(series) if series and series.pk else None
        if shape is not None:
            lines = [f"{shape.describe()}; {series.num_codes:,} created so far."]
            if series.code_type == CodeType.RANDOMIZED_COMMON:
                lines.append(
                    randomized_capacity_note(
                        sample_length=len(series.random_code_sample),
                        is_alphanumeric=series.is_alphanumeric,
                    )
                )
            return format_html_join("", "<p>{}</p>", ((line,) for line in lines))
        return format_html(
            "<p>Alphanumeric codes use {} characters ({}: no 0/O or 1/I/L), numeric codes {}; "
            "a code of N random characters has size^N possible values, half of which may be "
            "generated.</p><p>{}</p>",
            len(ALPHANUMERIC_ALPHABET),
            ALPHANUMERIC_ALPHABET,
            len(NUMERIC_ALPHABET),
            randomized_capacity_note(),
        )

    def save_model(self, request: HttpRequest, obj: CouponSeries, form, change: bool) -> None:
        values = form.series_values()
        if change:
            result = coupon_series_update(series=obj, actor=None, values=values)
        else:
            result = coupon_series_create(
                org=form.cleaned_data["org"],
                actor=None,
                values={name: value for name, value in values.items() if name != "org"},
                random_code_sample=form.cleaned_data.get("sample_code") or None,
            )
        # The inlines were built around `obj`: make it the saved series.
        obj.pk = result.series.pk
        obj._state.adding = False
        obj.refresh_from_db()
        for warning in result.warnings:
            messages.warning(request, warning)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        count = form.cleaned_data.get("generate_codes")
        if count:
            job = coupon_codes_generate_start(
                series=form.instance, count=count, started_by=request.user
            )
            messages.info(
                request,
                format_html(
                    'Generating {} codes: <a href="{}">job #{}</a> shows the progress.',
                    f"{count:,}",
                    reverse("admin:core_job_change", args=[job.pk]),
                    job.pk,
                ),
            )


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    """Coupons are read here; issual, upload and revocation go through their services."""

    list_display = ("code", "series", "customer", "issued_at", "valid_till", "source", "org")
    list_filter = ("source", "is_common", ("customer", admin.EmptyFieldListFilter), "org")
    list_select_related = ("series", "customer", "org")
    search_fields = ("=code", "=customer__mobile", "=customer__email", "=customer__external_id")
    search_help_text = "Exact code, or the customer's mobile, email or external id."
    autocomplete_fields = ("customer", "series")
    readonly_fields = [field.name for field in Coupon._meta.fields]
    inlines = (CouponRedemptionInline, CouponReminderDeliveryInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CouponAudienceMemberInline(admin.TabularInline):
    model = CouponAudienceMember
    form = CouponAudienceMemberForm
    autocomplete_fields = ("customer",)
    extra = 1


@admin.register(CouponAudience)
class CouponAudienceAdmin(admin.ModelAdmin):
    list_display = ("name", "series", "created_at")
    list_select_related = ("series",)
    search_fields = ("name", "series__description")
    list_filter = ("series__org",)
    autocomplete_fields = ("series",)
    inlines = [CouponAudienceMemberInline]


@admin.register(CouponRevocation)
class CouponRevocationAdmin(admin.ModelAdmin):
    """The revoke audit: who revoked how many coupons of which offer, when and how."""

    list_display = (
        "created_at",
        "series",
        "mode",
        "revoked_count",
        "customers_count",
        "failed_count",
        "revoked_by_user",
        "revoked_by_till",
    )
    list_filter = ("mode", "org")
    list_select_related = ("series", "revoked_by_user", "revoked_by_till")
    search_fields = ("series__description", "=series__id")
    readonly_fields = [field.name for field in CouponRevocation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(admin.ModelAdmin):
    """Coupon redemptions for member care: find a customer's or a bill's redemptions and reverse
    one (the coupon becomes usable again; a revoked coupon is never reinstated)."""

    list_display = (
        "redeemed_at",
        "coupon",
        "series",
        "customer",
        "transaction_number",
        "store",
        "bill_amount",
        "coupon_value",
        "is_reversed",
        "last_status_change_on",
    )
    list_filter = ("is_active", "org", "redeemed_at")
    list_select_related = ("coupon", "series", "customer", "store")
    search_fields = (
        "=coupon__code",
        "=customer__mobile",
        "=customer__email",
        "=transaction_number",
    )
    search_help_text = "Exact coupon code, customer mobile or email, or bill number."
    readonly_fields = [field.name for field in CouponRedemption._meta.fields]
    actions = ("reverse_selected",)
    show_full_result_count = False

    @admin.display(boolean=True, description="reversed")
    def is_reversed(self, redemption: CouponRedemption) -> bool:
        return not redemption.is_active

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(
        description="Reverse selected redemptions (reinstate the coupons)", permissions=["change"]
    )
    def reverse_selected(self, request: HttpRequest, queryset: QuerySet[CouponRedemption]) -> None:
        reversed_count, problems = 0, []
        for redemption in queryset.order_by("pk"):
            try:
                coupon_redemption_reverse(
                    org_ids=[redemption.org_id], redemption_id=redemption.pk, actor=None
                )
                reversed_count += 1
            except DomainError as exc:
                problems.append(f"{redemption.coupon}: {exc.message}")
        if reversed_count:
            self.message_user(
                request, f"{reversed_count} redemption(s) reversed.", messages.SUCCESS
            )
        for problem in problems:
            self.message_user(request, problem, messages.WARNING)
