"""Admin forms of the members domain.

They validate everything the database would refuse (cross-org links, one default program, group
capacity) so that a mistake shows as a form error, never as a 500 after a "saved" message.
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib.auth.password_validation import MinimumLengthValidator
from django.core.exceptions import ValidationError
from django.utils import timezone

from loyalty_site.core.exceptions import DomainError
from members.models import (
    Customer,
    Org,
    PartnerProgram,
    PartnerProgramEnrollment,
    Program,
    ProgramEnrollment,
    Till,
    UserGroup,
    UserGroupMembership,
)
from members.services.identifiers import normalize_email, normalize_mobile

TILL_PASSWORD_MIN_LENGTH = 8
# Larger groups are edited on the membership changelist: an inline form per member would not load.
GROUP_INLINE_MEMBER_LIMIT = 100
OTHER_ORG_MESSAGE = "Pick one of the customer's org's own entries."


class OrgScopedModelForm(forms.ModelForm):
    """Form of a row that belongs to an org.

    The admin shows `org` read-only once a row exists, and Django then skips every unique
    constraint that names `org` (code per org, name per org...). Keeping `org` in the checks turns
    a duplicate into a form error instead of an IntegrityError.
    """

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        if getattr(self.instance, "org_id", None):
            exclude.discard("org")
        return exclude


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class OrgAdminForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=_time_zone_choices, initial="UTC")

    class Meta:
        model = Org
        fields = [
            "name",
            "time_zone",
            "base_currency",
            "week_start_day",
            "parent",
            "contact_emails",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "parent" in self.fields:
            # Connected orgs are one level deep: only top-level orgs can be parents.
            parents = Org.objects.filter(parent__isnull=True)
            if self.instance.pk:
                parents = parents.exclude(pk=self.instance.pk)
            self.fields["parent"].queryset = parents

    def clean(self):
        cleaned = super().clean()
        parent = cleaned.get("parent")
        if parent is not None and self.instance.pk and self.instance.children.exists():
            self.add_error("parent", "This org has child orgs, so it cannot become a child org.")
        return cleaned


class TillAdminForm(OrgScopedModelForm):
    """Till form with a write-only API password; the admin stores it through the till service."""

    api_password = forms.CharField(
        label="API password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "Write-only. Tills send the MD5 of this password with HTTP Basic auth. Leave empty to "
            "keep the current password."
        ),
    )
    api_password_confirmation = forms.CharField(
        label="API password (again)",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = Till
        fields = ["org", "store", "code", "name", "is_active"]

    def clean_api_password(self) -> str:
        password = self.cleaned_data.get("api_password", "")
        if password:
            MinimumLengthValidator(TILL_PASSWORD_MIN_LENGTH).validate(password)
        return password

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("api_password")
        confirmation = cleaned.get("api_password_confirmation", "")
        if password and password != confirmation:
            self.add_error("api_password_confirmation", "The two passwords do not match.")
        if not self.instance.pk and not password and "api_password" not in self.errors:
            self.add_error("api_password", "Set an API password for the new till.")
        return cleaned


class ProgramAdminForm(OrgScopedModelForm):
    class Meta:
        model = Program
        fields = [
            "org",
            "name",
            "description",
            "is_default",
            "points_to_currency_ratio",
            "points_decimal_places",
            "expiry_policy",
            "expiry_value",
            "is_active",
        ]

    def clean(self):
        cleaned = super().clean()
        org = cleaned.get("org") or (self.instance.org if self.instance.org_id else None)
        if cleaned.get("is_default") and org is not None:
            others = Program.objects.filter(org=org, is_default=True).exclude(pk=self.instance.pk)
            current = others.first()
            if current is not None:
                self.add_error(
                    "is_default",
                    f"{current.name} is already the org's default program; unset it first.",
                )
        return cleaned


class TierInlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        tiers = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            number = form.cleaned_data.get("number")
            threshold = form.cleaned_data.get("upgrade_threshold")
            if number is not None and threshold is not None:
                tiers.append((number, threshold))
        tiers.sort()
        for (_, lower), (number, higher) in zip(tiers, tiers[1:], strict=False):
            if higher < lower:
                raise ValidationError(
                    f"Tier {number} needs an upgrade threshold of at least {lower}, the threshold "
                    "of the tier below it."
                )


class PartnerProgramInlineForm(OrgScopedModelForm):
    """A partner program edited under its program: it takes the program's org (see formset)."""

    class Meta:
        model = PartnerProgram
        fields = ["name", "kind", "description", "membership_duration_days", "is_active"]


class PartnerProgramInlineFormSet(forms.BaseInlineFormSet):
    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if self.instance.org_id:
            form.instance.org_id = self.instance.org_id
        return form


def _domain_error_to_validation(error: DomainError) -> ValidationError:
    return ValidationError(error.message)


class CustomerAdminForm(OrgScopedModelForm):
    class Meta:
        model = Customer
        fields = [
            "org",
            "mobile",
            "email",
            "external_id",
            "first_name",
            "last_name",
            "loyalty_type",
            "registration_source",
            "registered_at",
            "registered_store",
            "status_label",
            "fraud_status",
            "labels",
            "extended_fields",
            "custom_fields",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "registered_at" in self.fields and not self.instance.pk:
            self.fields["registered_at"].initial = timezone.now

    def clean_mobile(self) -> str | None:
        value = self.cleaned_data.get("mobile")
        if not value:
            return None
        try:
            return normalize_mobile(value)
        except DomainError as error:
            raise _domain_error_to_validation(error)

    def clean_email(self) -> str | None:
        value = self.cleaned_data.get("email")
        if not value:
            return None
        try:
            return normalize_email(value)
        except DomainError as error:
            raise _domain_error_to_validation(error)

    def clean_external_id(self) -> str | None:
        value = (self.cleaned_data.get("external_id") or "").strip()
        return value or None

    def clean(self):
        cleaned = super().clean()
        org = cleaned.get("org") or (self.instance.org if self.instance.org_id else None)
        if org is None:
            return cleaned
        for name in ("mobile", "email", "external_id"):
            value = cleaned.get(name)
            holders = Customer.objects.filter(org=org, **{name: value}).exclude(pk=self.instance.pk)
            if value and holders.exists():
                label = Customer._meta.get_field(name).verbose_name
                self.add_error(name, f"Another customer of {org} has this {label}.")
        store = cleaned.get("registered_store")
        if store is not None and store.org_id != org.pk:
            self.add_error("registered_store", "The store belongs to another org.")
        labels = cleaned.get("labels")
        if labels is not None:
            foreign = [label.name for label in labels if label.org_id != org.pk]
            if foreign:
                self.add_error("labels", f"Labels of another org: {', '.join(foreign)}.")
        return cleaned


class _CustomerChildForm(forms.ModelForm):
    """An inline row under a customer: what it links to must be of the customer's org."""

    def _customer_org_id(self) -> int | None:
        customer = getattr(self, "parent_customer", None)
        return customer.org_id if customer is not None else None


class ProgramEnrollmentInlineForm(_CustomerChildForm):
    class Meta:
        model = ProgramEnrollment
        fields = ["program", "tier", "enrolled_at", "tier_expires_at", "is_active"]

    def clean(self):
        cleaned = super().clean()
        program = cleaned.get("program")
        org_id = self._customer_org_id()
        if program is not None and org_id and program.org_id != org_id:
            self.add_error("program", OTHER_ORG_MESSAGE)
        return cleaned


class PartnerProgramEnrollmentInlineForm(_CustomerChildForm):
    class Meta:
        model = PartnerProgramEnrollment
        fields = ["partner_program", "enrolled_at", "expires_at"]

    def clean(self):
        cleaned = super().clean()
        partner_program = cleaned.get("partner_program")
        org_id = self._customer_org_id()
        if partner_program is not None and org_id and partner_program.org_id != org_id:
            self.add_error("partner_program", OTHER_ORG_MESSAGE)
        return cleaned


class CustomerChildInlineFormSet(forms.BaseInlineFormSet):
    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.parent_customer = self.instance
        return form


class UserGroupAdminForm(OrgScopedModelForm):
    class Meta:
        model = UserGroup
        fields = ["org", "external_id", "name", "max_size", "status", "extended_fields"]

    def clean_max_size(self) -> int:
        max_size = self.cleaned_data["max_size"]
        if max_size > UserGroup.DEFAULT_MAX_SIZE:
            raise ValidationError(f"A group holds at most {UserGroup.DEFAULT_MAX_SIZE} members.")
        # Smaller groups are checked with their membership inline, which may deactivate members.
        if self.instance.pk and self.instance.member_count > GROUP_INLINE_MEMBER_LIMIT:
            active = self.instance.memberships.filter(is_active=True).count()
            if max_size < active:
                raise ValidationError(f"The group has {active} active members.")
        return max_size


def _clean_membership_permissions(value) -> list[str]:
    if value in (None, ""):
        return []
    allowed = set(UserGroupMembership.Permission.values)
    if not isinstance(value, list) or any(item not in allowed for item in value):
        raise ValidationError(
            f"Use a list of permission codes: {', '.join(sorted(allowed))}, e.g. "
            '["block_points_redemption"].'
        )
    return list(dict.fromkeys(value))


class UserGroupMembershipForm(forms.ModelForm):
    """One membership; the group-level rules (capacity, one primary) are checked per group."""

    class Meta:
        model = UserGroupMembership
        fields = [
            "group",
            "customer",
            "is_primary",
            "permissions",
            "is_active",
            "joined_at",
            "left_at",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "joined_at" in self.fields and not self.instance.pk:
            self.fields["joined_at"].initial = timezone.now

    def clean_permissions(self) -> list[str]:
        return _clean_membership_permissions(self.cleaned_data.get("permissions"))

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("is_active", True) and not cleaned.get("left_at"):
            cleaned["left_at"] = timezone.now()
        group = cleaned.get("group") or getattr(self.instance, "group", None)
        customer = cleaned.get("customer") or getattr(self.instance, "customer", None)
        if group is None or customer is None:
            return cleaned
        if customer.org_id != group.org_id:
            self.add_error("customer", "The customer belongs to another org than the group.")
            return cleaned
        if (
            not self.instance.pk
            and cleaned.get("is_active", True)
            and group.status != UserGroup.Status.ACTIVE
        ):
            self.add_error("customer", f"The group is {group.get_status_display()}: no one joins.")
        if cleaned.get("is_active", True):
            elsewhere = (
                UserGroupMembership.objects.filter(customer=customer, is_active=True)
                .exclude(pk=self.instance.pk)
                .exclude(group=group)
                .first()
            )
            if elsewhere is not None:
                self.add_error(
                    "customer", f"The customer is already a member of group {elsewhere.group_id}."
                )
        if not self._is_in_formset():
            memberships = {
                row.pk: (row.customer_id, row.is_primary, row.is_active)
                for row in group.memberships.exclude(pk=self.instance.pk)
            }
            memberships[self.instance.pk or "new"] = (
                customer.pk,
                cleaned.get("is_primary", False),
                cleaned.get("is_active", True),
            )
            errors = membership_rules_errors(group=group, rows=list(memberships.values()))
            for error in errors:
                self.add_error(None, error)
        return cleaned

    def _is_in_formset(self) -> bool:
        return getattr(self, "in_group_formset", False)


def membership_rules_errors(*, group: UserGroup, rows: list[tuple[int, bool, bool]]) -> list[str]:
    """Group-level rules for the final (customer_id, is_primary, is_active) rows of a group."""
    errors = []
    active = [row for row in rows if row[2]]
    customers = [customer_id for customer_id, _, _ in active]
    if len(customers) != len(set(customers)):
        errors.append("A customer can be an active member only once.")
    primaries = [row for row in active if row[1]]
    if len(primaries) > 1:
        errors.append("A group has at most one active primary member.")
    if len(active) > group.max_size:
        errors.append(
            f"The group holds at most {group.max_size} members; {len(active)} would be active."
        )
    return errors


class UserGroupMembershipInlineFormSet(forms.BaseInlineFormSet):
    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.in_group_formset = True
        return form

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rows = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if form.cleaned_data.get("DELETE"):
                continue
            customer = form.cleaned_data.get("customer")
            if customer is None:
                continue
            rows.append(
                (
                    customer.pk,
                    form.cleaned_data.get("is_primary", False),
                    form.cleaned_data.get("is_active", True),
                )
            )
        errors = membership_rules_errors(group=self.instance, rows=rows)
        if errors:
            raise ValidationError(errors)
