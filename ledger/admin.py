"""Admin for the points ledger: read-only accounts, events (with their entries), entries, lots and
redemptions, plus two staff pages on the points accounts admin:

- "Goodwill / manual adjustment" (`adjust/`, permission ledger.can_adjust_points): a form that
  credits goodwill points or debits a manual adjustment through the ledger services; linked from
  the points account and customer lists and from each customer's page.
- "Import points" (`import/`, permission ledger.can_import_points): a CSV upload that starts a
  `ledger.points_import` job and opens its progress page.

Ledger rows are never added, changed or deleted here: corrections are new events.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ledger.forms import (
    CREDIT,
    PointsAdjustmentForm,
    PointsImportUploadForm,
    error_text,
    new_idempotency_key,
)
from ledger.models import LedgerEntry, LedgerEvent, PointsAccount, PointsLot, PointsRedemption
from ledger.services import points_deduct, points_goodwill_credit
from ledger.services.imports import points_import_job_create
from loyalty_site.core.exceptions import DomainError
from members.selectors.customers import customer_identifier_q

ADJUST_PERMISSION = "ledger.can_adjust_points"
IMPORT_PERMISSION = "ledger.can_import_points"
ADJUSTMENT_KEY_PREFIX = "admin-adjustment:"
MAX_ID = 2**63 - 1


def owner_search_q(term: str, *, prefix: str = "") -> Q:
    """Exact match on the owner's identifiers: any customer identifier, or the user group's
    external id or id."""
    query = customer_identifier_q(term, prefix=f"{prefix}customer__") | Q(
        **{f"{prefix}user_group__external_id": term}
    )
    if term.isdigit() and int(term) <= MAX_ID:
        query |= Q(**{f"{prefix}user_group_id": int(term)})
    return query


def _number(term: str) -> int | None:
    return int(term) if term.isdigit() and int(term) <= MAX_ID else None


class ReadOnlyLedgerAdmin(admin.ModelAdmin):
    """Ledger rows are append-only: staff may look, never add, change or delete."""

    # Search terms match identifiers exactly (indexed lookups); see get_search_results.
    search_help_text = "Customer mobile, email, external id or id; group external id; event id."

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def search_q(self, term: str) -> Q:
        raise NotImplementedError

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(self.search_q(term)), False


def _owner(row: Any) -> str:
    owner = row.customer if row.customer_id else row.user_group
    return str(owner) if owner is not None else "-"


# Accounts ----------------------------------------------------------------------------------------
@admin.register(PointsAccount)
class PointsAccountAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "id",
        "owner",
        "org",
        "program",
        "category",
        "balance",
        "last_sequence",
        "allows_negative_balance",
        "updated_at",
    )
    list_filter = ("org", "program", "category", "allows_negative_balance")
    list_select_related = ("org", "program", "customer", "user_group")
    search_fields = ("=customer__mobile", "=customer__email", "=customer__external_id")
    show_full_result_count = False
    readonly_fields = ("entries_link",)

    @admin.display(description="Owner")
    def owner(self, account: PointsAccount) -> str:
        return _owner(account)

    @admin.display(description="Entries")
    def entries_link(self, account: PointsAccount) -> str:
        url = reverse("admin:ledger_ledgerentry_changelist") + f"?account__id__exact={account.pk}"
        return format_html('<a href="{}">Ledger entries of this account</a>', url)

    def search_q(self, term: str) -> Q:
        return owner_search_q(term)

    def get_urls(self):
        pages = [
            path(
                "adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="ledger_pointsaccount_adjust",
            ),
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="ledger_pointsaccount_import",
            ),
        ]
        return pages + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            **(extra_context or {}),
            "can_adjust_points": request.user.has_perm(ADJUST_PERMISSION),
            "can_import_points": request.user.has_perm(IMPORT_PERMISSION),
        }
        return super().changelist_view(request, extra_context)

    def _page(self, request: HttpRequest, template: str, title: str, form) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "opts": self.model._meta,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, template, context)

    def adjust_view(self, request: HttpRequest) -> HttpResponse:
        """Goodwill credit or manual debit for one customer. The form carries an idempotency key
        made when it was rendered, so submitting it twice posts once."""
        if not request.user.has_perm(ADJUST_PERMISSION):
            raise PermissionDenied
        if request.method == "POST":
            form = PointsAdjustmentForm(request.POST, admin_site=self.admin_site)
            if form.is_valid():
                event = self._post_adjustment(request, form)
                if event is not None:
                    return redirect(reverse("admin:ledger_ledgerevent_change", args=[event.pk]))
        else:
            initial: dict[str, Any] = {
                "idempotency_key": new_idempotency_key(),
                "direction": CREDIT,
            }
            customer_id = _number(request.GET.get("customer", ""))
            if customer_id is not None:
                initial["customer"] = customer_id
            form = PointsAdjustmentForm(initial=initial, admin_site=self.admin_site)
        return self._page(
            request, "admin/ledger/points_adjustment.html", "Goodwill / manual adjustment", form
        )

    def _post_adjustment(self, request: HttpRequest, form: PointsAdjustmentForm):
        data = form.cleaned_data
        arguments = {
            "customer": data["customer"],
            "program": data["program"],
            "points": data["points"],
            "actor": request.user,
            "reason": data["reason"],
            "idempotency_key": ADJUSTMENT_KEY_PREFIX + data["idempotency_key"],
        }
        try:
            if data["direction"] == CREDIT:
                event = points_goodwill_credit(**arguments)
            else:
                event = points_deduct(**arguments)
        except DomainError as exc:
            form.add_error(None, error_text(exc))
            return None
        if getattr(event, "is_replay", False):
            self.message_user(
                request,
                f"This form was already submitted: event #{event.pk} holds the adjustment; "
                "nothing was posted twice.",
                messages.WARNING,
            )
        else:
            self.message_user(
                request,
                f"{event.get_event_name_display()} of {data['points']} points posted for "
                f"{data['customer']} (event #{event.pk}).",
                messages.SUCCESS,
            )
        return event

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a points CSV; starts a points import job and opens its progress page."""
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        if request.method == "POST":
            form = PointsImportUploadForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    job = points_import_job_create(
                        org=form.cleaned_data["org"],
                        file_name=upload.name,
                        content=upload.read(),
                        actor=request.user,
                    )
                except DomainError as exc:
                    form.add_error("file", exc.message)
                else:
                    self.message_user(
                        request,
                        f"Import job #{job.pk} started for {job.params['rows']} row(s).",
                        messages.SUCCESS,
                    )
                    return redirect(reverse("admin:core_job_change", args=[job.pk]))
        else:
            form = PointsImportUploadForm()
        return self._page(request, "admin/ledger/points_import.html", "Import points", form)


# Events and entries ------------------------------------------------------------------------------
class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ("account", "program", "category", "entry_type", "points", "closing_balance")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerEntry]:
        return super().get_queryset(request).select_related("account__program")

    @admin.display(description="Program")
    def program(self, entry: LedgerEntry) -> str:
        return entry.account.program.name

    @admin.display(description="Category")
    def category(self, entry: LedgerEntry) -> str:
        return entry.account.get_category_display()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerEvent)
class LedgerEventAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "id",
        "event_name",
        "owner",
        "org",
        "net_points",
        "created_at",
        "occurred_at",
        "till",
        "created_by_user",
    )
    list_display_links = ("id", "event_name")
    list_filter = (
        "org",
        "event_name",
        "entries__account__program",
        "entries__account__category",
        "entries__entry_type",
        "created_at",
    )
    list_select_related = ("org", "customer", "user_group", "till", "created_by_user")
    search_fields = ("=id", "=customer__mobile", "=customer__email", "=customer__external_id")
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = (LedgerEntryInline,)
    fieldsets = (
        (None, {"fields": ("event_name", "org", "customer", "user_group", "triggered_by")}),
        ("Points", {"fields": ("net_points", "source_program")}),
        (
            "Where and why",
            {
                "fields": (
                    "created_at",
                    "occurred_at",
                    "source",
                    "till",
                    "store",
                    "created_by_user",
                    "transaction",
                    "reason",
                    "notes",
                    "promotion_id",
                    "promotion_identifier",
                    "promotion_name",
                    "related_event",
                    "corrects",
                    "idempotency_key",
                    "details",
                )
            },
        ),
    )

    @admin.display(description="Owner")
    def owner(self, event: LedgerEvent) -> str:
        return _owner(event)

    def search_q(self, term: str) -> Q:
        query = owner_search_q(term)
        if _number(term) is not None:
            query |= Q(pk=int(term))
        return query


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "id",
        "event_link",
        "event_name",
        "owner",
        "program",
        "category",
        "entry_type",
        "points",
        "closing_balance",
        "sequence",
        "created_at",
    )
    list_filter = (
        "account__org",
        "account__program",
        "account__category",
        "entry_type",
        "event__event_name",
        "created_at",
    )
    list_select_related = (
        "event",
        "account__program",
        "account__customer",
        "account__user_group",
    )
    search_fields = (
        "=event__id",
        "=account__customer__mobile",
        "=account__customer__email",
        "=account__customer__external_id",
    )
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="Event", ordering="event")
    def event_link(self, entry: LedgerEntry) -> str:
        url = reverse("admin:ledger_ledgerevent_change", args=[entry.event_id])
        return format_html('<a href="{}">#{}</a>', url, entry.event_id)

    @admin.display(description="Event name")
    def event_name(self, entry: LedgerEntry) -> str:
        return entry.event.event_name

    @admin.display(description="Owner")
    def owner(self, entry: LedgerEntry) -> str:
        return _owner(entry.account)

    @admin.display(description="Program")
    def program(self, entry: LedgerEntry) -> str:
        return entry.account.program.name

    @admin.display(description="Category")
    def category(self, entry: LedgerEntry) -> str:
        return entry.account.category

    def search_q(self, term: str) -> Q:
        query = owner_search_q(term, prefix="account__")
        if _number(term) is not None:
            query |= Q(event_id=int(term))
        return query


# Lots and redemptions ----------------------------------------------------------------------------
@admin.register(PointsLot)
class PointsLotAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "id",
        "owner",
        "program",
        "category",
        "original_points",
        "remaining_points",
        "expires_at",
        "matures_at",
        "created_at",
    )
    list_filter = (
        "account__org",
        "account__program",
        "account__category",
        "expires_at",
        "created_at",
    )
    list_select_related = ("account__program", "account__customer", "account__user_group")
    search_fields = ("=source_entry__event__id", "=account__customer__mobile")
    show_full_result_count = False

    @admin.display(description="Owner")
    def owner(self, lot: PointsLot) -> str:
        return _owner(lot.account)

    @admin.display(description="Program")
    def program(self, lot: PointsLot) -> str:
        return lot.account.program.name

    @admin.display(description="Category")
    def category(self, lot: PointsLot) -> str:
        return lot.account.category

    def search_q(self, term: str) -> Q:
        query = owner_search_q(term, prefix="account__")
        if _number(term) is not None:
            query |= Q(source_entry__event_id=int(term))
        return query


@admin.register(PointsRedemption)
class PointsRedemptionAdmin(ReadOnlyLedgerAdmin):
    list_display = (
        "code",
        "owner",
        "org",
        "points",
        "reversed_points",
        "is_group_redemption",
        "transaction_number",
        "redeemed_at",
        "event_link",
    )
    list_filter = ("org", "is_group_redemption", "redeemed_at")
    list_select_related = ("org", "customer", "user_group")
    search_fields = ("=code", "=event__id", "=customer__mobile", "=transaction_number")
    date_hierarchy = "redeemed_at"
    show_full_result_count = False

    @admin.display(description="Owner")
    def owner(self, redemption: PointsRedemption) -> str:
        return _owner(redemption)

    @admin.display(description="Event")
    def event_link(self, redemption: PointsRedemption) -> str:
        url = reverse("admin:ledger_ledgerevent_change", args=[redemption.event_id])
        return format_html('<a href="{}">#{}</a>', url, redemption.event_id)

    def search_q(self, term: str) -> Q:
        query = owner_search_q(term) | Q(code=term) | Q(transaction_number=term)
        if _number(term) is not None:
            query |= Q(event_id=int(term))
        return query
