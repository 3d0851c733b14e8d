"""Customer registration and update services, and the customer details selector."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.exceptions import (
    CustomerAlreadyExistsError,
    IdentifierTakenError,
    InvalidEmailError,
    InvalidMobileError,
    InvalidProgramError,
    InvalidRegistrationSourceError,
    LoyaltyDowngradeError,
    NoIdentifierError,
    RegistrationDateError,
)
from members.models import (
    Customer,
    CustomerSourceProfile,
    LoyaltyType,
    ProgramEnrollment,
    UserGroupMembership,
)
from members.selectors.customers import customer_details_get
from members.services import customers as customer_services
from members.services.customers import (
    EnrollmentRequest,
    customer_register,
    customer_update,
)
from tests.members.factories import (
    CustomerFactory,
    ProgramFactory,
    TierFactory,
    UserGroupFactory,
)

PIPELINE = "tests.members.test_customer_services.award_signup_points"


def award_signup_points(*, customer, actor, context):
    return [{"type": "points", "awardedPoints": 50, "customerId": customer.pk}]


def fail_registration(*, customer, actor, context):
    raise InvalidProgramError("pipeline refused the customer")


def _counts():
    return (
        Customer.objects.count(),
        CustomerSourceProfile.objects.count(),
        ProgramEnrollment.objects.count(),
    )


# Register ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_register_creates_customer_with_profile_and_default_enrollments(org, till, program):
    # given an inactive program next to the active default one
    ProgramFactory(org=org, name="Retired", is_active=False)

    # when
    result = customer_register(
        org=org,
        actor=till,
        source="instore",
        mobile="+91 98045-42631",
        email=" Mark@Example.COM ",
        first_name="Mark",
        last_name="Twain",
        extended_fields={"city": "Bangalore"},
        custom_fields={"employee": "true"},
    )

    # then
    customer = result.customer
    assert result.created is True
    assert result.warnings == []
    assert customer.mobile == "919804542631"
    assert customer.email == "mark@example.com"
    assert customer.registration_source == "INSTORE"
    assert customer.registered_till == till
    assert customer.registered_store == till.store
    assert customer.extended_fields == {"city": "Bangalore"}
    assert list(customer.source_profiles.values_list("source", "account_id")) == [("INSTORE", "")]
    enrollment = customer.enrollments.get()
    assert enrollment.program == program
    assert enrollment.tier.number == 1


@pytest.mark.django_db
def test_register_with_explicit_enrollment_uses_requested_tier(org, till, program):
    result = customer_register(
        org=org,
        actor=till,
        source="INSTORE",
        external_id="EXT-1",
        enrollments=[EnrollmentRequest(program_id=program.pk, tier_number=2)],
    )

    assert result.customer.enrollments.get().tier.name == "Gold"


@pytest.mark.django_db
def test_register_accepts_contract_style_enrollment_dicts(org, till, program):
    result = customer_register(
        org=org,
        actor=till,
        source="INSTORE",
        external_id="EXT-1",
        enrollments=[{"programId": program.pk, "tierNumber": 3}],
    )

    assert result.customer.enrollments.get().tier.name == "Platinum"


@pytest.mark.django_db
def test_non_loyalty_customer_is_not_enrolled_by_default(org, till, program):
    result = customer_register(
        org=org,
        actor=till,
        source="INSTORE",
        mobile="919800000001",
        loyalty_type=LoyaltyType.NON_LOYALTY,
    )

    assert not result.customer.enrollments.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("program_kind", ["other_org", "inactive", "missing", "bad_tier"], ids=str)
def test_register_with_invalid_program_writes_nothing(org, till, program, other_org, program_kind):
    # given
    if program_kind == "other_org":
        request = EnrollmentRequest(program_id=ProgramFactory(org=other_org).pk)
    elif program_kind == "inactive":
        request = EnrollmentRequest(program_id=ProgramFactory(org=org, is_active=False).pk)
    elif program_kind == "missing":
        request = EnrollmentRequest(program_id=999999)
    else:
        request = EnrollmentRequest(program_id=program.pk, tier_number=9)
    before = _counts()

    # when / then
    with pytest.raises(InvalidProgramError) as error:
        customer_register(
            org=org, actor=till, source="INSTORE", mobile="919800000001", enrollments=[request]
        )
    assert error.value.code == 1213
    assert _counts() == before


@pytest.mark.django_db
def test_register_without_identifier_fails(org, till):
    with pytest.raises(NoIdentifierError) as error:
        customer_register(org=org, actor=till, source="INSTORE", mobile="", email=None)

    assert error.value.code == 1015
    assert Customer.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "error_class", "code"),
    [
        ({"mobile": "12345"}, InvalidMobileError, 1001),
        ({"mobile": "919800000001", "email": "not-an-email"}, InvalidEmailError, 1002),
    ],
)
def test_register_with_bad_identifier_writes_nothing(org, till, fields, error_class, code):
    with pytest.raises(error_class) as error:
        customer_register(org=org, actor=till, source="INSTORE", **fields)

    assert error.value.code == code
    assert _counts() == (0, 0, 0)


@pytest.mark.django_db
def test_register_with_unknown_source_fails(org, till):
    with pytest.raises(InvalidRegistrationSourceError) as error:
        customer_register(org=org, actor=till, source="MYSPACE", mobile="919800000001")

    assert error.value.code == 3217
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_register_in_the_future_fails(org, till):
    with pytest.raises(RegistrationDateError):
        customer_register(
            org=org,
            actor=till,
            source="INSTORE",
            mobile="919800000001",
            registered_at=timezone.now() + datetime.timedelta(days=2),
        )

    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_register_same_identifier_same_source_is_8006(org, till):
    # given
    customer_register(org=org, actor=till, source="INSTORE", mobile="919800000001")
    before = _counts()

    # when / then
    with pytest.raises(CustomerAlreadyExistsError) as error:
        customer_register(
            org=org, actor=till, source="INSTORE", mobile="919800000001", first_name="Again"
        )
    assert error.value.code == 8006
    assert _counts() == before


@pytest.mark.django_db
def test_register_same_identifier_other_source_combines(org, till):
    # given
    first = customer_register(org=org, actor=till, source="INSTORE", mobile="919800000001")

    # when
    second = customer_register(
        org=org,
        actor=till,
        source="MOBILE_APP",
        account_id="app-1",
        mobile="919800000001",
        email="new@example.com",
        first_name="Ignored",
    )

    # then: no new customer, a second profile, the empty email filled in, names untouched
    assert second.created is False
    assert second.customer.pk == first.customer.pk
    assert second.warnings == [
        {"status": False, "code": 8050, "message": "Same Customer found in other sources,Combining"}
    ]
    assert Customer.objects.count() == 1
    customer = Customer.objects.get()
    assert customer.email == "new@example.com"
    assert customer.first_name == ""
    assert set(customer.source_profiles.values_list("source", "account_id")) == {
        ("INSTORE", ""),
        ("MOBILE_APP", "app-1"),
    }


@pytest.mark.django_db
def test_register_combine_keeps_a_different_existing_identifier_with_warning(org, till):
    customer_register(
        org=org, actor=till, source="INSTORE", mobile="919800000001", email="old@example.com"
    )

    result = customer_register(
        org=org, actor=till, source="WEBSITE", mobile="919800000001", email="other@example.com"
    )

    assert [item["code"] for item in result.warnings] == [8050, 91006]
    assert Customer.objects.get().email == "old@example.com"


@pytest.mark.django_db
def test_register_other_account_of_multi_account_source_combines(org, till):
    customer_register(org=org, actor=till, source="WECHAT", account_id="a", mobile="919800000001")

    result = customer_register(
        org=org, actor=till, source="WECHAT", account_id="b", mobile="919800000001"
    )

    assert result.created is False
    assert CustomerSourceProfile.objects.count() == 2


@pytest.mark.django_db
def test_register_identifiers_of_two_customers_is_taken(org, till):
    # given
    CustomerFactory(org=org, mobile="919800000001", email=None, external_id=None)
    CustomerFactory(org=org, mobile=None, email="b@example.com", external_id=None)
    before = _counts()

    # when / then
    with pytest.raises(IdentifierTakenError) as error:
        customer_register(
            org=org, actor=till, source="WEBSITE", mobile="919800000001", email="b@example.com"
        )
    assert error.value.field == "email"
    assert _counts() == before


@pytest.mark.django_db
def test_register_identifiers_are_unique_per_org_only(org, till, other_org, other_till):
    customer_register(org=org, actor=till, source="INSTORE", mobile="919800000001")

    result = customer_register(
        org=other_org, actor=other_till, source="INSTORE", mobile="919800000001"
    )

    assert result.created is True
    assert Customer.objects.count() == 2


@pytest.mark.django_db
def test_register_race_lost_on_insert_maps_to_8006(org, till, monkeypatch):
    """The unique constraint is the backstop when the pre-check did not see the winner."""
    # given a customer the pre-check will miss once (as if it committed in between)
    winner = customer_register(org=org, actor=till, source="INSTORE", mobile="919800000001")
    real_holding = customer_services._customers_holding
    calls = {"count": 0}

    def miss_first_time(**kwargs):
        calls["count"] += 1
        return [] if calls["count"] == 1 else real_holding(**kwargs)

    monkeypatch.setattr(customer_services, "_customers_holding", miss_first_time)

    # when / then
    with pytest.raises(CustomerAlreadyExistsError):
        customer_register(org=org, actor=till, source="INSTORE", mobile="919800000001")
    assert list(Customer.objects.values_list("pk", flat=True)) == [winner.customer.pk]


@pytest.mark.django_db
def test_register_race_lost_on_other_source_combines(org, till, monkeypatch):
    winner = customer_register(org=org, actor=till, source="INSTORE", mobile="919800000001")
    real_holding = customer_services._customers_holding
    calls = {"count": 0}

    def miss_first_time(**kwargs):
        calls["count"] += 1
        return [] if calls["count"] == 1 else real_holding(**kwargs)

    monkeypatch.setattr(customer_services, "_customers_holding", miss_first_time)

    result = customer_register(org=org, actor=till, source="WEBSITE", mobile="919800000001")

    assert result.created is False
    assert result.customer.pk == winner.customer.pk
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_register_runs_registration_pipeline(org, till, settings):
    # given
    settings.CUSTOMER_REGISTRATION_PIPELINE = [PIPELINE]

    # when
    result = customer_register(org=org, actor=till, source="INSTORE", mobile="919800000001")

    # then
    assert result.side_effects == [
        {"type": "points", "awardedPoints": 50, "customerId": result.customer.pk}
    ]


@pytest.mark.django_db
def test_pipeline_failure_rolls_registration_back(org, till, program, settings):
    settings.CUSTOMER_REGISTRATION_PIPELINE = [
        "tests.members.test_customer_services.fail_registration"
    ]

    with pytest.raises(InvalidProgramError):
        customer_register(org=org, actor=till, source="INSTORE", mobile="919800000001")

    assert _counts() == (0, 0, 0)


@pytest.mark.django_db
def test_combining_does_not_run_the_registration_pipeline(org, till, settings):
    customer_register(org=org, actor=till, source="INSTORE", mobile="919800000001")
    settings.CUSTOMER_REGISTRATION_PIPELINE = [PIPELINE]

    result = customer_register(org=org, actor=till, source="WEBSITE", mobile="919800000001")

    assert result.side_effects == []


# Update --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_update_changes_profile_and_merges_fields(org, till, other_till):
    # given
    customer = CustomerFactory(
        org=org, extended_fields={"city": "Pune", "gender": "Male"}, custom_fields={"a": "1"}
    )

    # when
    result = customer_update(
        customer=customer,
        actor=till,
        first_name="Rita",
        last_name="James",
        extended_fields={"city": "Bangalore"},
        custom_fields={"b": "2"},
        status_label="Suspended",
    )

    # then
    customer.refresh_from_db()
    assert result.warnings == []
    assert (customer.first_name, customer.last_name) == ("Rita", "James")
    assert customer.extended_fields == {"city": "Bangalore", "gender": "Male"}
    assert customer.custom_fields == {"a": "1", "b": "2"}
    assert customer.status_label == "Suspended"
    assert customer.updated_by_till == till


@pytest.mark.django_db
def test_update_loyalty_to_non_loyalty_is_1046(org, till):
    customer = CustomerFactory(org=org, first_name="Tom")

    with pytest.raises(LoyaltyDowngradeError) as error:
        customer_update(
            customer=customer, actor=till, first_name="Changed", loyalty_type="non_loyalty"
        )

    assert error.value.code == 1046
    customer.refresh_from_db()
    assert customer.loyalty_type == LoyaltyType.LOYALTY
    assert customer.first_name == "Tom"


@pytest.mark.django_db
def test_update_non_loyalty_to_loyalty_enrolls_in_active_programs(org, till, program):
    customer = CustomerFactory(org=org, loyalty_type=LoyaltyType.NON_LOYALTY)

    customer_update(customer=customer, actor=till, loyalty_type="loyalty")

    customer.refresh_from_db()
    assert customer.loyalty_type == LoyaltyType.LOYALTY
    assert customer.enrollments.get().tier.number == 1


@pytest.mark.django_db
def test_update_ignores_enrollment_of_a_program_already_joined(org, till, program):
    customer = customer_register(org=org, actor=till, source="INSTORE", mobile="919800000001")

    customer_update(
        customer=customer.customer,
        actor=till,
        enrollments=[{"programId": program.pk, "tierNumber": 234}],
    )

    assert customer.customer.enrollments.get().tier.number == 1


@pytest.mark.django_db
def test_update_fills_empty_identifier_and_ignores_changes(org, till):
    # given
    customer = CustomerFactory(org=org, mobile="919800000001", email=None, external_id=None)

    # when
    result = customer_update(
        customer=customer, actor=till, mobile="919800000002", email="tom@example.com"
    )

    # then
    customer.refresh_from_db()
    assert customer.mobile == "919800000001"
    assert customer.email == "tom@example.com"
    assert [item["code"] for item in result.warnings] == [91006]


@pytest.mark.django_db
def test_update_filling_an_identifier_of_another_customer_is_taken(org, till):
    # given
    CustomerFactory(org=org, email="taken@example.com")
    customer = CustomerFactory(org=org, email=None, first_name="Tom")

    # when / then
    with pytest.raises(IdentifierTakenError):
        customer_update(
            customer=customer, actor=till, email="taken@example.com", first_name="Changed"
        )
    customer.refresh_from_db()
    assert customer.email is None
    assert customer.first_name == "Tom"


# Selector ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_customer_details_query_count_does_not_grow_with_enrollments(org, till, program):
    # given one customer in one program, one in three programs with a group and labels
    small = customer_register(org=org, actor=till, source="INSTORE", mobile="919800000001")
    for index in range(2):
        extra = ProgramFactory(org=org, name=f"Extra {index}")
        for number in (1, 2):
            TierFactory(program=extra, number=number, name=f"T{number}")
    big = customer_register(org=org, actor=till, source="INSTORE", mobile="919800000002")
    customer_register(org=org, actor=till, source="WEBSITE", mobile="919800000002")
    group = UserGroupFactory(org=org)
    UserGroupMembership.objects.create(
        group=group, customer=big.customer, is_primary=True, joined_at=timezone.now()
    )

    # when
    with CaptureQueriesContext(connection) as small_queries:
        loaded = customer_details_get(org_ids=[org.pk], customer=small.customer)
        [e.program.tiers.all() for e in loaded.enrollments.all()]
    with CaptureQueriesContext(connection) as big_queries:
        loaded = customer_details_get(org_ids=[org.pk], customer=big.customer)
        tiers = [list(e.program.tiers.all()) for e in loaded.enrollments.all()]
        profiles = list(loaded.source_profiles.all())
        memberships = loaded.active_group_memberships

    # then
    assert len(big_queries) == len(small_queries)
    assert len(tiers) == 3
    assert len(profiles) == 2
    assert memberships[0].group == group
