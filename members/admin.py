"""Django admin for the members domain: the staff UI for orgs, programs, customers and bills.

Forms (members/forms.py) validate cross-org links and group rules so errors show on the form.
Transactions are read-only here: bills come from tills through the API. Till credentials are set
through members.services.tills, which stores only hashes.
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from members.forms import (
    GROUP_INLINE_MEMBER_LIMIT,
    CustomerAdminForm,
    CustomerChildInlineFormSet,
    OrgAdminForm,
    OrgScopedModelForm,
    PartnerProgramEnrollmentInlineForm,
    PartnerProgramInlineForm,
    PartnerProgramInlineFormSet,
    ProgramAdminForm,
    ProgramEnrollmentInlineForm,
    TierInlineFormSet,
    TillAdminForm,
    UserGroupAdminForm,
    UserGroupMembershipForm,
    UserGroupMembershipInlineFormSet,
)
from members.models import (
    Concept,
    Customer,
    CustomerLabel,
    CustomerSourceProfile,
    ExchangeRate,
    Org,
    PartnerProgram,
    PartnerProgramEnrollment,
    Program,
    ProgramEnrollment,
    Store,
    Tier,
    Till,
    Transaction,
    TransactionLineItem,
    UserGroup,
    UserGroupMembership,
    Zone,
)
from members.selectors.customers import customer_identifier_q
from members.services.tills import till_oauth_credentials_generate, till_set_password


class OrgOwnedAdmin(admin.ModelAdmin):
    """Rows stay in the org they were created in: moving them would orphan their links."""

    form = OrgScopedModelForm

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and "org" not in fields:
            fields.append("org")
        return fields


# Orgs and their entities ------------------------------------------------------------------------
class ExchangeRateInline(admin.TabularInline):
    model = ExchangeRate
    fields = ("currency", "rate_to_base")
    extra = 0


class ChildOrgInline(admin.TabularInline):
    model = Org
    fk_name = "parent"
    fields = ("name", "time_zone", "base_currency", "is_active")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    verbose_name = "connected child org"
    verbose_name_plural = "Connected child orgs"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Org)
class OrgAdmin(admin.ModelAdmin):
    form = OrgAdminForm
    list_display = ("name", "parent", "time_zone", "base_currency", "is_active", "created_at")
    list_filter = ("is_active", "base_currency", ("parent", admin.EmptyFieldListFilter))
    list_select_related = ("parent",)
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "parent", "is_active")}),
        ("Locale", {"fields": ("time_zone", "base_currency", "week_start_day")}),
        ("Contacts", {"fields": ("contact_emails",)}),
    )
    inlines = (ExchangeRateInline,)

    def get_inlines(self, request, obj):
        # Only a top-level org can have children (connected orgs are one level deep).
        if obj is not None and obj.parent_id is None:
            return (ExchangeRateInline, ChildOrgInline)
        return (ExchangeRateInline,)


@admin.register(Zone)
class ZoneAdmin(OrgOwnedAdmin):
    list_display = ("code", "name", "org")
    list_filter = ("org",)
    list_select_related = ("org",)
    search_fields = ("code", "name")
    autocomplete_fields = ("org",)
    fields = ("org", "code", "name")


@admin.register(Concept)
class ConceptAdmin(OrgOwnedAdmin):
    list_display = ("code", "name", "org")
    list_filter = ("org",)
    list_select_related = ("org",)
    search_fields = ("code", "name")
    autocomplete_fields = ("org",)
    fields = ("org", "code", "name")


@admin.register(Store)
class StoreAdmin(OrgOwnedAdmin):
    list_display = ("code", "name", "org", "zone", "concept", "currency", "is_active")
    list_filter = ("org", "is_active", "currency")
    list_select_related = ("org", "zone", "concept")
    search_fields = ("code", "name", "external_id")
    autocomplete_fields = ("org", "zone", "concept")
    fields = ("org", "code", "name", "external_id", "currency", "zone", "concept", "is_active")


@admin.register(Till)
class TillAdmin(OrgOwnedAdmin):
    form = TillAdminForm
    list_display = ("code", "name", "org", "store", "is_active", "has_api_password", "has_oauth")
    list_filter = ("org", "is_active")
    list_select_related = ("org", "store")
    search_fields = ("code", "name", "store__code", "=oauth_key")
    autocomplete_fields = ("org", "store")
    readonly_fields = ("oauth_key", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("org", "store", "code", "name", "is_active")}),
        (
            "API credentials",
            {
                "fields": ("api_password", "api_password_confirmation", "oauth_key"),
                "description": (
                    'Only hashes are stored. Use the action "Generate OAuth key and secret" '
                    "on the till list for a new OAuth pair; the secret is shown once."
                ),
            },
        ),
        ("History", {"fields": ("created_at", "updated_at")}),
    )
    actions = ("generate_oauth_credentials",)

    @admin.display(boolean=True, description="API password")
    def has_api_password(self, till: Till) -> bool:
        return bool(till.password_hash)

    @admin.display(boolean=True, description="OAuth")
    def has_oauth(self, till: Till) -> bool:
        return bool(till.oauth_key and till.oauth_secret_hash)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        password = form.cleaned_data.get("api_password")
        if password:
            till_set_password(till=obj, password=password)

    @admin.action(description="Generate OAuth key and secret", permissions=["change"])
    def generate_oauth_credentials(self, request: HttpRequest, queryset: QuerySet[Till]) -> None:
        for till in queryset.order_by("code"):
            with transaction.atomic():
                key, secret = till_oauth_credentials_generate(till=till)
            self.message_user(
                request,
                format_html(
                    "Till {}: OAuth key <code>{}</code>, secret <code>{}</code>. Copy the secret "
                    "now: only its hash is stored and it will not be shown again.",
                    till.code,
                    key,
                    secret,
                ),
                messages.WARNING,
            )


# Programs ----------------------------------------------------------------------------------------
class TierInline(admin.TabularInline):
    model = Tier
    formset = TierInlineFormSet
    fields = ("number", "name", "description", "upgrade_threshold")
    extra = 0


class PartnerProgramInline(admin.TabularInline):
    model = PartnerProgram
    form = PartnerProgramInlineForm
    formset = PartnerProgramInlineFormSet
    fk_name = "program"
    fields = ("name", "kind", "description", "membership_duration_days", "is_active")
    extra = 0
    show_change_link = True


@admin.register(Program)
class ProgramAdmin(OrgOwnedAdmin):
    form = ProgramAdminForm
    list_display = ("name", "org", "is_default", "expiry_policy", "expiry_value", "is_active")
    list_filter = ("org", "is_default", "is_active", "expiry_policy")
    list_select_related = ("org",)
    search_fields = ("name", "org__name")
    autocomplete_fields = ("org",)
    fieldsets = (
        (None, {"fields": ("org", "name", "description", "is_default", "is_active")}),
        ("Points", {"fields": ("points_to_currency_ratio", "points_decimal_places")}),
        ("Expiry", {"fields": ("expiry_policy", "expiry_value")}),
    )
    inlines = (TierInline, PartnerProgramInline)


@admin.register(PartnerProgram)
class PartnerProgramAdmin(OrgOwnedAdmin):
    list_display = ("name", "kind", "org", "program", "membership_duration_days", "is_active")
    list_filter = ("org", "kind", "is_active")
    list_select_related = ("org", "program")
    search_fields = ("name", "program__name")
    autocomplete_fields = ("org", "program")
    fields = (
        "org",
        "program",
        "name",
        "kind",
        "description",
        "membership_duration_days",
        "is_active",
    )


@admin.register(CustomerLabel)
class CustomerLabelAdmin(OrgOwnedAdmin):
    list_display = ("name", "org")
    list_filter = ("org",)
    list_select_related = ("org",)
    search_fields = ("name",)
    autocomplete_fields = ("org",)
    fields = ("org", "name")


# Customers ---------------------------------------------------------------------------------------
def _customer_org_id(request: HttpRequest) -> int | None:
    """The org of the customer whose change page this request is for, if any."""
    match = request.resolver_match
    object_id = match.kwargs.get("object_id") if match else None
    if not object_id or not str(object_id).isdigit():
        return None
    return Customer.objects.filter(pk=object_id).values_list("org_id", flat=True).first()


class ProgramEnrollmentInline(admin.TabularInline):
    model = ProgramEnrollment
    form = ProgramEnrollmentInlineForm
    formset = CustomerChildInlineFormSet
    fields = ("program", "tier", "enrolled_at", "tier_expires_at", "is_active")
    extra = 0

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        org_id = _customer_org_id(request)
        if db_field.name == "program":
            programs = Program.objects.select_related("org")
            kwargs["queryset"] = programs.filter(org_id=org_id) if org_id else programs
        elif db_field.name == "tier":
            tiers = Tier.objects.select_related("program")
            kwargs["queryset"] = tiers.filter(program__org_id=org_id) if org_id else tiers
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class PartnerProgramEnrollmentInline(admin.TabularInline):
    model = PartnerProgramEnrollment
    form = PartnerProgramEnrollmentInlineForm
    formset = CustomerChildInlineFormSet
    fields = ("partner_program", "enrolled_at", "expires_at")
    autocomplete_fields = ("partner_program",)
    extra = 0


class CustomerSourceProfileInline(admin.TabularInline):
    model = CustomerSourceProfile
    fields = ("source", "account_id")
    extra = 0


class CustomerGroupMembershipInline(admin.TabularInline):
    """Read-only here: group rules (capacity, one primary) are kept on the group's page."""

    model = UserGroupMembership
    fields = ("group", "is_primary", "permissions", "is_active", "joined_at", "left_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    verbose_name_plural = "Group memberships (edit them on the group)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(OrgOwnedAdmin):
    form = CustomerAdminForm
    list_display = (
        "id",
        "full_name",
        "mobile",
        "email",
        "external_id",
        "org",
        "loyalty_type",
        "registration_source",
        "registered_at",
    )
    list_display_links = ("id", "full_name")
    list_filter = ("org", "registration_source", "loyalty_type", "fraud_status")
    list_select_related = ("org",)
    # Identifiers match exactly (indexed); get_search_results adds mobile normalisation and id.
    search_fields = ("=mobile", "=email", "=external_id", "=id", "^first_name", "^last_name")
    search_help_text = "Mobile (with country code), email, external id, customer id or name."
    autocomplete_fields = ("org", "labels", "registered_store")
    readonly_fields = (
        "lifetime_purchases",
        "registered_till",
        "updated_by_till",
        "merged_into",
        "created_at",
        "updated_at",
        "member_care",
    )
    fieldsets = (
        (None, {"fields": ("org", "first_name", "last_name", "labels")}),
        ("Identifiers", {"fields": ("mobile", "email", "external_id")}),
        (
            "Loyalty",
            {
                "fields": (
                    "loyalty_type",
                    "status_label",
                    "fraud_status",
                    "lifetime_purchases",
                    "merged_into",
                )
            },
        ),
        (
            "Registration",
            {
                "fields": (
                    "registration_source",
                    "registered_at",
                    "registered_store",
                    "registered_till",
                    "updated_by_till",
                )
            },
        ),
        ("Custom data", {"classes": ("collapse",), "fields": ("extended_fields", "custom_fields")}),
        ("History", {"fields": ("created_at", "updated_at")}),
        ("Member care: everything about this customer", {"fields": ("member_care",)}),
    )
    inlines = (
        ProgramEnrollmentInline,
        PartnerProgramEnrollmentInline,
        CustomerSourceProfileInline,
        CustomerGroupMembershipInline,
    )
    show_full_result_count = False
    list_per_page = 50

    @admin.display(description="Name", ordering="first_name")
    def full_name(self, customer: Customer) -> str:
        return customer.full_name or "-"

    @admin.display(description="Open")
    def member_care(self, customer: Customer) -> str:
        """Links to the customer's rows in every domain's admin (those this user may see)."""
        if not customer.pk:
            return "-"
        by_customer = f"?customer__id__exact={customer.pk}"
        # The ledger's search matches identifiers exactly; an id alone could also be a group's.
        identifier = customer.mobile or customer.email or customer.external_id or str(customer.pk)
        pages = (
            ("members_transaction", "Transactions", by_customer),
            ("ledger_pointsaccount", "Points accounts and balances", by_customer),
            ("ledger_ledgerentry", "Points ledger", f"?q={quote(identifier)}"),
            ("coupons_coupon", "Coupons", by_customer),
            ("coupons_couponredemption", "Coupon redemptions (reverse one here)", by_customer),
        )
        links = []
        for name, label, query in pages:
            try:
                url = reverse(f"admin:{name}_changelist")
            except NoReverseMatch:  # that domain's admin is not installed
                continue
            links.append((url + query, label))
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        query = customer_identifier_q(term)
        first, _, last = term.partition(" ")
        if last:
            query |= Q(first_name__iexact=first, last_name__istartswith=last.strip())
        else:
            query |= Q(first_name__istartswith=term) | Q(last_name__istartswith=term)
        return queryset.filter(query), False


# User groups -------------------------------------------------------------------------------------
def _member_count_refresh(group_ids: set[int]) -> None:
    """Recount active members after admin edits; the group rows are locked in pk order."""
    for group in UserGroup.objects.select_for_update().filter(pk__in=group_ids).order_by("pk"):
        active = group.memberships.filter(is_active=True).count()
        if active != group.member_count:
            UserGroup.objects.filter(pk=group.pk).update(member_count=active)


def _groups_lock(group_ids: set[int | None]) -> None:
    # Lock before writing memberships so API joins and leaves of these groups wait for us.
    ids = sorted(group_id for group_id in group_ids if group_id)
    if ids:
        list(UserGroup.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))


class UserGroupMembershipInline(admin.TabularInline):
    model = UserGroupMembership
    form = UserGroupMembershipForm
    formset = UserGroupMembershipInlineFormSet
    fields = ("customer", "is_primary", "permissions", "is_active", "joined_at", "left_at")
    autocomplete_fields = ("customer",)
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer")


@admin.register(UserGroup)
class UserGroupAdmin(OrgOwnedAdmin):
    form = UserGroupAdminForm
    list_display = (
        "id",
        "external_id",
        "name",
        "org",
        "status",
        "member_count",
        "max_size",
        "created_at",
    )
    list_display_links = ("id", "external_id")
    list_filter = ("org", "status")
    list_select_related = ("org",)
    search_fields = ("=id", "external_id", "name")
    autocomplete_fields = ("org",)
    readonly_fields = ("member_count", "members_link", "created_by_till", "created_at")
    fields = (
        "org",
        "external_id",
        "name",
        "max_size",
        "status",
        "member_count",
        "members_link",
        "extended_fields",
        "created_by_till",
        "created_at",
    )
    inlines = (UserGroupMembershipInline,)

    @admin.display(description="Members")
    def members_link(self, group: UserGroup) -> str:
        if not group.pk:
            return "-"
        url = reverse("admin:members_usergroupmembership_changelist")
        return format_html('<a href="{}?group__id__exact={}">All memberships</a>', url, group.pk)

    def get_inlines(self, request, obj):
        if obj is not None and obj.member_count > GROUP_INLINE_MEMBER_LIMIT:
            return ()
        return self.inlines

    def save_model(self, request, obj, form, change) -> None:
        _groups_lock({obj.pk})
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        _member_count_refresh({form.instance.pk})


@admin.register(UserGroupMembership)
class UserGroupMembershipAdmin(admin.ModelAdmin):
    form = UserGroupMembershipForm
    list_display = ("id", "group", "customer", "is_primary", "is_active", "joined_at", "left_at")
    list_filter = ("is_active", "is_primary", ("group__org", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("group", "customer")
    search_fields = (
        "=group__external_id",
        "=customer__mobile",
        "=customer__email",
        "=customer__external_id",
    )
    search_help_text = "Group external id, or the customer's mobile, email, external id or id."
    autocomplete_fields = ("group", "customer")
    fields = ("group", "customer", "is_primary", "permissions", "is_active", "joined_at", "left_at")
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return ("group", "customer") if obj is not None else ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        query = customer_identifier_q(term, prefix="customer__") | Q(group__external_id=term)
        return queryset.filter(query), False

    def save_model(self, request, obj, form, change) -> None:
        _groups_lock({obj.group_id})
        super().save_model(request, obj, form, change)
        _member_count_refresh({obj.group_id})

    def delete_model(self, request, obj) -> None:
        _groups_lock({obj.group_id})
        super().delete_model(request, obj)
        _member_count_refresh({obj.group_id})

    def delete_queryset(self, request, queryset) -> None:
        group_ids = set(queryset.values_list("group_id", flat=True))
        _groups_lock(group_ids)
        super().delete_queryset(request, queryset)
        _member_count_refresh(group_ids)


# Transactions (read-only) ------------------------------------------------------------------------
class TransactionLineItemInline(admin.TabularInline):
    model = TransactionLineItem
    fk_name = "transaction"
    fields = (
        "serial",
        "type",
        "sku",
        "description",
        "qty",
        "rate",
        "value",
        "discount",
        "amount",
        "category",
        "brand",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    """Bills are written only by tills through the API; the admin shows them."""

    list_display = (
        "number",
        "type",
        "org",
        "store",
        "customer",
        "bill_amount",
        "currency_code",
        "billed_at",
    )
    list_filter = ("org", "type", "store")
    list_select_related = ("org", "store", "customer")
    search_fields = ("=number", "=customer__mobile", "=customer__email", "=customer__external_id")
    search_help_text = "Bill number, or the customer's mobile, email, external id or id."
    date_hierarchy = "billed_at"
    inlines = (TransactionLineItemInline,)
    show_full_result_count = False
    list_per_page = 50

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        query = customer_identifier_q(term, prefix="customer__") | Q(number=term)
        return queryset.filter(query), False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
