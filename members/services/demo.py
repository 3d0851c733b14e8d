"""A deterministic demo data set for local runs and reviews (`manage.py seed_demo`).

Every name, number and credential derives from fixed seeds, so two runs describe the same data and
the second run creates nothing. Rows are found by their natural keys (org name, store code, till
code, customer external id, bill number) and only missing ones are created; customers and their
children go in with bulk_create in batches. Last, the ledger: the back-fill job opens the accounts
of customers that have none, and each bill earns its points (idempotency key per bill).

The demo credentials are public by design (they are printed), so they are hashed with a light
PBKDF2 work factor: the full one costs ~0.3 s per hash and the demo has dozens of them.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import (
    BasePasswordHasher,
    PBKDF2PasswordHasher,
    check_password,
    get_hasher,
    make_password,
)
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import F

from coupons.services.demo import DEMO_HOLDERS as DEMO_COUPON_HOLDERS
from coupons.services.demo import DemoCoupon, coupons_demo_examples, coupons_demo_seed
from ledger.jobs import BACKFILL_KIND
from ledger.services import points_allocate
from ledger.services.accounts import ledger_backfill_customers_pending
from loyalty_site.api.authentication import md5_hex, till_check_secret
from loyalty_site.core.jobs import job_create, job_run
from loyalty_site.core.models import Job
from members.models import (
    Concept,
    Customer,
    CustomerLabel,
    CustomerSourceProfile,
    ExchangeRate,
    Org,
    PartnerProgram,
    PointsExpiryPolicy,
    Program,
    ProgramEnrollment,
    RegistrationSource,
    Store,
    Tier,
    Till,
    Transaction,
    TransactionLineItem,
    TransactionType,
    UserGroup,
    UserGroupMembership,
    Zone,
)
from members.services.tills import (
    till_oauth_credentials_set,
    till_oauth_secret_matches,
    till_set_password,
)

DEMO_SEED = "loyalty-demo-2025"
# Fixed salt for the demo OAuth credentials: they must come out the same on every run.
DEMO_CREDENTIAL_SALT = b"loyalty-demo-till-credentials-v1"
DEMO_HASH_ITERATIONS = 20_000
DEFAULT_CUSTOMERS_PER_ORG = 1000
BATCH_SIZE = 500
TRANSACTIONS_PER_ORG = 50
# A bill earns 1 point per this much of its amount, rounded down, in the org's default program.
BILL_AMOUNT_PER_POINT = 10
# Transactions pick their customer among the first demo customers, so some have several bills.
TRANSACTION_CUSTOMER_POOL = 200
REGISTRATION_START = datetime(2025, 1, 1, tzinfo=UTC)
BILLING_START = datetime(2026, 1, 1, tzinfo=UTC)
ADMIN_URL = "http://127.0.0.1:8000/admin/"
API_DOCS_URL = "http://127.0.0.1:8000/api/docs/"

MARKETING_MANAGER = "Marketing manager"
MEMBER_CARE_AGENT = "Member care agent"
SUPERUSER_ROLE = "superuser"


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    name: str
    short_name: str
    time_zone: str
    currency: str
    parent_slug: str | None
    mobile_base: int
    exchange_rates: dict[str, str]
    zones: tuple[tuple[str, str], tuple[str, str]]
    cities: tuple[str, str, str, str]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    tier_thresholds: tuple[int, int, int]
    point_value: str
    products: tuple[tuple[str, str, str, str], ...]  # sku, description, category, price
    group_name: str


# Space-separated to keep the lists short; split once at import.
INDIAN_FIRST = tuple(
    "Aarav Vivaan Aditya Diya Ananya Ishaan Saanvi Kabir Meera Rohan Priya Arjun Kavya Nikhil "
    "Tara Vikram".split()
)
INDIAN_LAST = tuple("Sharma Patel Iyer Reddy Nair Gupta Singh Mehta Rao Das Kapoor Joshi".split())
BRITISH_FIRST = tuple(
    "Oliver Amelia George Isla Harry Ava Jack Mia Noah Emily Leo Grace Arthur Freya Oscar "
    "Lily".split()
)
BRITISH_LAST = tuple(
    "Smith Jones Taylor Brown Williams Wilson Davies Evans Thomas Roberts Walker Wright".split()
)

ORG_SPECS: tuple[OrgSpec, ...] = (
    OrgSpec(
        slug="acme",
        name="Acme Retail",
        short_name="Acme",
        time_zone="Asia/Kolkata",
        currency="INR",
        parent_slug=None,
        mobile_base=919800000000,
        exchange_rates={"USD": "83.25", "EUR": "90.10", "GBP": "105.40"},
        zones=(("north", "North India"), ("south", "South India")),
        cities=("Delhi", "Jaipur", "Bengaluru", "Chennai"),
        first_names=INDIAN_FIRST,
        last_names=INDIAN_LAST,
        tier_thresholds=(0, 25000, 100000),
        point_value="0.25",
        products=(
            ("ACM-TSHIRT", "Cotton T-shirt", "Apparel", "799"),
            ("ACM-JEANS", "Slim fit jeans", "Apparel", "2499"),
            ("ACM-SNEAKER", "Running sneakers", "Footwear", "3999"),
            ("ACM-BOTTLE", "Steel water bottle", "Home", "499"),
            ("ACM-HEADSET", "Wireless headset", "Electronics", "5999"),
        ),
        group_name="Sharma family",
    ),
    OrgSpec(
        slug="acmex",
        name="Acme Express",
        short_name="Acme Express",
        time_zone="Asia/Kolkata",
        currency="INR",
        parent_slug="acme",
        mobile_base=918800000000,
        exchange_rates={"USD": "83.25"},
        zones=(("west", "West India"), ("east", "East India")),
        cities=("Mumbai", "Pune", "Kolkata", "Bhubaneswar"),
        first_names=INDIAN_FIRST,
        last_names=INDIAN_LAST,
        tier_thresholds=(0, 10000, 50000),
        point_value="0.25",
        products=(
            ("ACX-COFFEE", "Filter coffee", "Food", "120"),
            ("ACX-SANDWICH", "Paneer sandwich", "Food", "180"),
            ("ACX-JUICE", "Fresh juice", "Drinks", "150"),
            ("ACX-SNACKS", "Snack box", "Food", "250"),
        ),
        group_name="Patel family",
    ),
    OrgSpec(
        slug="globex",
        name="Globex Stores",
        short_name="Globex",
        time_zone="Europe/London",
        currency="GBP",
        parent_slug=None,
        mobile_base=447700000000,
        exchange_rates={"USD": "0.79", "EUR": "0.85", "INR": "0.0095"},
        zones=(("north", "The North"), ("south", "London and the South East")),
        cities=("Manchester", "Leeds", "London", "Brighton"),
        first_names=BRITISH_FIRST,
        last_names=BRITISH_LAST,
        tier_thresholds=(0, 250, 1000),
        point_value="0.01",
        products=(
            ("GLX-KETTLE", "Electric kettle", "Kitchen", "24.99"),
            ("GLX-TOASTER", "Two-slice toaster", "Kitchen", "29.99"),
            ("GLX-MUG", "Stoneware mug", "Kitchen", "6.50"),
            ("GLX-TOWEL", "Bath towel", "Home", "12.00"),
            ("GLX-LAMP", "Desk lamp", "Home", "35.00"),
        ),
        group_name="Smith household",
    ),
)

CONCEPTS = (("flagship", "Flagship"), ("express", "Express"))
LABELS = ("VIP", "Newsletter", "Staff")
TIER_NAMES = {
    "Rewards": ("Silver", "Gold", "Platinum"),
    "Club": ("Member", "Insider", "Elite"),
}
SOURCE_WEIGHTS = (
    (RegistrationSource.INSTORE, 70),
    (RegistrationSource.ECOMMERCE, 15),
    (RegistrationSource.MOBILE_APP, 10),
    (RegistrationSource.WEBSITE, 5),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


LOGINS = (
    DemoLogin("admin", "admin", SUPERUSER_ROLE),
    DemoLogin("marketing", "marketing", MARKETING_MANAGER),
    DemoLogin("care", "care", MEMBER_CARE_AGENT),
)


@dataclass(frozen=True)
class DemoTill:
    code: str
    password: str
    md5_password: str
    oauth_key: str
    oauth_secret: str
    store: str


@dataclass
class DemoOrg:
    id: int
    name: str
    parent_id: int | None
    programs: list[Program] = field(default_factory=list)
    tills: list[DemoTill] = field(default_factory=list)
    coupons: list[DemoCoupon] = field(default_factory=list)


@dataclass
class DemoSeedResult:
    logins: list[DemoLogin]
    orgs: list[DemoOrg]
    created: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "logins": [
                {"username": login.username, "password": login.password, "role": login.role}
                for login in self.logins
            ],
            "orgs": [
                {
                    "id": org.id,
                    "name": org.name,
                    "parentId": org.parent_id,
                    "programs": [
                        {"id": program.pk, "name": program.name, "isDefault": program.is_default}
                        for program in org.programs
                    ],
                    "tills": [
                        {
                            "code": till.code,
                            "password": till.password,
                            "md5Password": till.md5_password,
                            "oauthKey": till.oauth_key,
                            "oauthSecret": till.oauth_secret,
                            "store": till.store,
                        }
                        for till in org.tills
                    ],
                    "coupons": [
                        {"offer": coupon.offer, "code": coupon.code, "mobile": coupon.mobile}
                        for coupon in org.coupons
                    ],
                }
                for org in self.orgs
            ],
            "adminUrl": ADMIN_URL,
            "apiDocsUrl": API_DOCS_URL,
        }


class _DemoPasswordHasher(PBKDF2PasswordHasher):
    iterations = DEMO_HASH_ITERATIONS


def _demo_hasher() -> str | BasePasswordHasher:
    # Only lighten PBKDF2; any other configured default (MD5 in tests, argon2) is used as is.
    if get_hasher("default").algorithm == PBKDF2PasswordHasher.algorithm:
        return _DemoPasswordHasher()
    return "default"


def _derive(purpose: str, value: str, length: int) -> str:
    digest = hmac.new(DEMO_CREDENTIAL_SALT, f"{purpose}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:length]


def demo_till_credentials(*, code: str, store_code: str) -> DemoTill:
    """The fixed demo password and OAuth key/secret of the demo till `code`."""
    password = f"demo-{code}"
    return DemoTill(
        code=code,
        password=password,
        md5_password=md5_hex(password),
        oauth_key=f"demo-{_derive('oauth-key', code, 24)}",
        oauth_secret=_derive("oauth-secret", code, 40),
        store=store_code,
    )


class _Counter(defaultdict):
    def __init__(self) -> None:
        super().__init__(int)

    def record(self, name: str, created: bool) -> None:
        if created:
            self[name] += 1


@transaction.atomic
def demo_seed(*, customers_per_org: int = DEFAULT_CUSTOMERS_PER_ORG) -> DemoSeedResult:
    """Create whatever part of the demo data set is missing and describe all of it."""
    if customers_per_org < 0:
        raise ValueError("customers_per_org cannot be negative")
    counter = _Counter()
    hasher = _demo_hasher()
    orgs_by_slug: dict[str, Org] = {}
    demo_orgs = []
    seeded: list[tuple[OrgSpec, Org]] = []
    for spec in ORG_SPECS:
        parent = orgs_by_slug.get(spec.parent_slug) if spec.parent_slug else None
        org = _seed_org(spec=spec, parent=parent, counter=counter)
        orgs_by_slug[spec.slug] = org
        programs = _seed_programs(spec=spec, org=org, counter=counter)
        stores = _seed_stores(spec=spec, org=org, counter=counter)
        tills = _seed_tills(stores=stores, hasher=hasher, counter=counter)
        _seed_customers(
            spec=spec,
            org=org,
            programs=programs,
            stores=stores,
            count=customers_per_org,
            counter=counter,
        )
        _seed_user_group(spec=spec, org=org, till=tills[0][0], counter=counter)
        _seed_transactions(
            spec=spec,
            org=org,
            stores=stores,
            customers_per_org=customers_per_org,
            counter=counter,
        )
        seeded.append((spec, org))
        demo_orgs.append(
            DemoOrg(
                id=org.pk,
                name=org.name,
                parent_id=org.parent_id,
                programs=list(Program.objects.filter(org=org).order_by("id")),
                tills=[credentials for _, credentials in tills],
            )
        )
    _seed_logins(hasher=hasher, counter=counter)
    for spec, org in seeded:
        _seed_ledger(org=org, counter=counter)
        _seed_bill_points(spec=spec, org=org, counter=counter)
        _seed_coupons(org=org, counter=counter)
    for demo_org, (_spec, org) in zip(demo_orgs, seeded, strict=True):
        demo_org.coupons = coupons_demo_examples(org=org)
    return DemoSeedResult(logins=list(LOGINS), orgs=demo_orgs, created=dict(counter))


def _seed_org(*, spec: OrgSpec, parent: Org | None, counter: _Counter) -> Org:
    org, created = Org.objects.get_or_create(
        name=spec.name,
        defaults={
            "time_zone": spec.time_zone,
            "base_currency": spec.currency,
            "parent": parent,
            "contact_emails": f"loyalty@{spec.slug}.example.com",
        },
    )
    counter.record("orgs", created)
    for currency, rate in spec.exchange_rates.items():
        _, created = ExchangeRate.objects.get_or_create(
            org=org, currency=currency, defaults={"rate_to_base": Decimal(rate)}
        )
        counter.record("exchange rates", created)
    return org


def _seed_programs(*, spec: OrgSpec, org: Org, counter: _Counter) -> list[Program]:
    has_default = Program.objects.filter(org=org, is_default=True).exists()
    programs = []
    for kind, is_default, multiplier, policy, expiry in (
        ("Rewards", True, 1, PointsExpiryPolicy.MONTH_ENDS, 12),
        ("Club", False, 2, PointsExpiryPolicy.DAYS, 365),
    ):
        program, created = Program.objects.get_or_create(
            org=org,
            name=f"{spec.short_name} {kind}",
            defaults={
                # An org that already has another default keeps it.
                "is_default": is_default and not has_default,
                "description": f"The {spec.short_name} {kind.lower()} program (demo).",
                "points_to_currency_ratio": Decimal(spec.point_value),
                "expiry_policy": policy,
                "expiry_value": expiry,
            },
        )
        counter.record("programs", created)
        for number, (name, threshold) in enumerate(
            zip(TIER_NAMES[kind], spec.tier_thresholds, strict=True), start=1
        ):
            _, created = Tier.objects.get_or_create(
                program=program,
                number=number,
                defaults={"name": name, "upgrade_threshold": Decimal(threshold * multiplier)},
            )
            counter.record("tiers", created)
        programs.append(program)
    _, created = PartnerProgram.objects.get_or_create(
        org=org,
        name=f"{spec.short_name} Air Miles",
        defaults={
            "program": programs[0],
            "kind": PartnerProgram.Kind.EXTERNAL,
            "description": "Airline partner: members earn miles on their purchases (demo).",
            "membership_duration_days": 365,
        },
    )
    counter.record("partner programs", created)
    return programs


def _seed_stores(*, spec: OrgSpec, org: Org, counter: _Counter) -> list[Store]:
    zones = []
    for code, name in spec.zones:
        zone, created = Zone.objects.get_or_create(org=org, code=code, defaults={"name": name})
        counter.record("zones", created)
        zones.append(zone)
    concepts = []
    for code, name in CONCEPTS:
        concept, created = Concept.objects.get_or_create(
            org=org, code=code, defaults={"name": name}
        )
        counter.record("concepts", created)
        concepts.append(concept)
    stores = []
    for index, city in enumerate(spec.cities):
        store, created = Store.objects.get_or_create(
            org=org,
            code=f"{spec.slug}-{city.lower()}",
            defaults={
                "name": f"{spec.short_name} {city}",
                "external_id": f"{spec.slug.upper()}-ST{index + 1:03d}",
                "currency": spec.currency,
                "zone": zones[index // 2],
                "concept": concepts[index % 2],
            },
        )
        counter.record("stores", created)
        stores.append(store)
    return stores


def _seed_tills(
    *, stores: Sequence[Store], hasher: str | BasePasswordHasher, counter: _Counter
) -> list[tuple[Till, DemoTill]]:
    tills = []
    for store in stores:
        for number in (1, 2):
            code = f"{store.code}.till{number}"
            credentials = demo_till_credentials(code=code, store_code=store.code)
            till, created = Till.objects.get_or_create(
                code=code,
                defaults={
                    "org_id": store.org_id,
                    "store": store,
                    "name": f"{store.name} #{number}",
                },
            )
            counter.record("tills", created)
            # Reset only credentials that no longer match, so a second run writes nothing.
            if not till_check_secret(till=till, secret=credentials.md5_password):
                till_set_password(till=till, password=credentials.password, hasher=hasher)
            if not till_oauth_secret_matches(
                till=till, key=credentials.oauth_key, secret=credentials.oauth_secret
            ):
                till_oauth_credentials_set(
                    till=till,
                    key=credentials.oauth_key,
                    secret=credentials.oauth_secret,
                    hasher=hasher,
                )
            tills.append((till, credentials))
    return tills


def _demo_customer(spec: OrgSpec, index: int, stores: Sequence[Store]) -> Customer:
    """Customer number `index` of the org; the same on every run, whatever the count asked."""
    rng = random.Random(f"{DEMO_SEED}:{spec.slug}:customer:{index}")  # noqa: S311 - demo data
    first = rng.choice(spec.first_names)
    last = rng.choice(spec.last_names)
    sources, weights = zip(*SOURCE_WEIGHTS, strict=True)
    store = rng.choice(stores)
    return Customer(
        org_id=store.org_id,
        mobile=str(spec.mobile_base + index),
        email=f"{first}.{last}.{index}@{spec.slug}.example.com".lower(),
        external_id=f"{spec.slug.upper()}-{index:06d}",
        first_name=first,
        last_name=last,
        registration_source=rng.choices(sources, weights)[0],
        registered_at=REGISTRATION_START + timedelta(minutes=rng.randrange(365 * 24 * 60)),
        registered_store=store,
    )


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _seed_customers(
    *,
    spec: OrgSpec,
    org: Org,
    programs: Sequence[Program],
    stores: Sequence[Store],
    count: int,
    counter: _Counter,
) -> None:
    first_tiers = {
        tier.program_id: tier for tier in Tier.objects.filter(program__in=programs, number=1)
    }
    labels = {}
    for name in LABELS:
        label, created = CustomerLabel.objects.get_or_create(org=org, name=name)
        counter.record("labels", created)
        labels[name] = label
    label_links = Customer.labels.through
    for indexes in _batches(range(1, count + 1), BATCH_SIZE):
        candidates = [_demo_customer(spec, index, stores) for index in indexes]
        candidates = _without_taken_identifiers(org=org, candidates=candidates)
        if not candidates:
            continue
        Customer.objects.bulk_create(candidates)
        ids = dict(
            Customer.objects.filter(
                org=org, external_id__in=[customer.external_id for customer in candidates]
            ).values_list("external_id", "id")
        )
        enrollments, profiles, links = [], [], []
        for customer in candidates:
            customer_id = ids[customer.external_id]
            index = int(customer.external_id.rsplit("-", 1)[1])
            profiles.append(
                CustomerSourceProfile(customer_id=customer_id, source=customer.registration_source)
            )
            for program in programs:
                enrollments.append(
                    ProgramEnrollment(
                        customer_id=customer_id,
                        program=program,
                        tier=first_tiers.get(program.pk),
                        enrolled_at=customer.registered_at,
                    )
                )
            if index % 50 == 0:
                links.append(label_links(customer_id=customer_id, customerlabel=labels["VIP"]))
            if index % 10 == 0:
                links.append(
                    label_links(customer_id=customer_id, customerlabel=labels["Newsletter"])
                )
        CustomerSourceProfile.objects.bulk_create(profiles)
        ProgramEnrollment.objects.bulk_create(enrollments)
        label_links.objects.bulk_create(links)
        counter["customers"] += len(candidates)
        counter["enrollments"] += len(enrollments)


def _without_taken_identifiers(*, org: Org, candidates: list[Customer]) -> list[Customer]:
    """Drop demo customers that exist already, or whose identifiers another customer holds."""
    taken: dict[str, set[str]] = {}
    for name in ("external_id", "mobile", "email"):
        values = [getattr(customer, name) for customer in candidates]
        taken[name] = set(
            Customer.objects.filter(org=org, **{f"{name}__in": values}).values_list(name, flat=True)
        )
    return [
        customer
        for customer in candidates
        if not any(getattr(customer, name) in values for name, values in taken.items())
    ]


def _seed_user_group(*, spec: OrgSpec, org: Org, till: Till, counter: _Counter) -> None:
    members = list(
        Customer.objects.filter(
            org=org, external_id__in=[f"{spec.slug.upper()}-{index:06d}" for index in (1, 2, 3)]
        ).order_by("external_id")
    )
    if not members:
        return
    group, created = UserGroup.objects.get_or_create(
        org=org,
        external_id=f"{spec.slug.upper()}-FAMILY-1",
        defaults={"name": spec.group_name, "max_size": 6, "created_by_till": till},
    )
    counter.record("user groups", created)
    busy = set(
        UserGroupMembership.objects.filter(customer__in=members, is_active=True).values_list(
            "customer_id", flat=True
        )
    )
    has_primary = group.memberships.filter(is_active=True, is_primary=True).exists()
    for position, customer in enumerate(members):
        if customer.pk in busy:
            continue
        is_primary = position == 0 and not has_primary
        UserGroupMembership.objects.create(
            group=group,
            customer=customer,
            is_primary=is_primary,
            joined_at=customer.registered_at + timedelta(days=1),
        )
        counter["group memberships"] += 1
    active = group.memberships.filter(is_active=True).count()
    if group.member_count != active:
        UserGroup.objects.filter(pk=group.pk).update(member_count=active)


def _seed_transactions(
    *, spec: OrgSpec, org: Org, stores: Sequence[Store], customers_per_org: int, counter: _Counter
) -> None:
    pool = min(customers_per_org, TRANSACTION_CUSTOMER_POOL)
    if pool == 0:
        return
    numbers = _bill_numbers(spec)
    existing = set(
        Transaction.objects.filter(org=org, number__in=numbers).values_list("number", flat=True)
    )
    customers = dict(
        Customer.objects.filter(
            org=org,
            external_id__in=[f"{spec.slug.upper()}-{index:06d}" for index in range(1, pool + 1)],
        ).values_list("external_id", "id")
    )
    tills_by_store = defaultdict(list)
    for till in Till.objects.filter(store__in=stores).order_by("code"):
        tills_by_store[till.store_id].append(till)
    bills, lines_by_number = [], {}
    for number in numbers:
        if number in existing:
            continue
        rng = random.Random(f"{DEMO_SEED}:{spec.slug}:bill:{number}")  # noqa: S311 - demo data
        customer_id = customers.get(f"{spec.slug.upper()}-{rng.randrange(1, pool + 1):06d}")
        store = rng.choice(stores)
        if customer_id is None or not tills_by_store[store.pk]:
            continue
        lines = _demo_lines(spec=spec, rng=rng)
        gross = sum((line.value for line in lines), Decimal(0))
        discount = sum((line.discount for line in lines), Decimal(0))
        amount = gross - discount
        bills.append(
            Transaction(
                org=org,
                customer_id=customer_id,
                store=store,
                till=rng.choice(tills_by_store[store.pk]),
                number=number,
                type=TransactionType.REGULAR,
                bill_amount=amount,
                gross_amount=gross,
                discount=discount,
                currency_code=spec.currency,
                billed_at=BILLING_START + timedelta(minutes=rng.randrange(180 * 24 * 60)),
                payment_modes=[{"mode": rng.choice(["CARD", "CASH", "UPI"]), "value": str(amount)}],
            )
        )
        lines_by_number[number] = lines
    if not bills:
        return
    Transaction.objects.bulk_create(bills)
    bill_ids = dict(
        Transaction.objects.filter(org=org, number__in=list(lines_by_number)).values_list(
            "number", "id"
        )
    )
    line_items = []
    for number, lines in lines_by_number.items():
        for line in lines:
            line.transaction_id = bill_ids[number]
            line_items.append(line)
    TransactionLineItem.objects.bulk_create(line_items)
    purchases: dict[int, Decimal] = defaultdict(Decimal)
    for bill in bills:
        purchases[bill.customer_id] += bill.bill_amount
    for customer_id, total in purchases.items():
        Customer.objects.filter(pk=customer_id).update(
            lifetime_purchases=F("lifetime_purchases") + total
        )
    counter["transactions"] += len(bills)
    counter["line items"] += len(line_items)


def _bill_numbers(spec: OrgSpec) -> list[str]:
    return [f"{spec.slug.upper()}-B{number:05d}" for number in range(1, TRANSACTIONS_PER_ORG + 1)]


def _demo_lines(*, spec: OrgSpec, rng: random.Random) -> list[TransactionLineItem]:
    lines = []
    for serial, (sku, description, category, price) in enumerate(
        rng.sample(spec.products, rng.randint(1, min(4, len(spec.products)))), start=1
    ):
        qty = Decimal(rng.randint(1, 3))
        rate = Decimal(price)
        value = qty * rate
        discount = (value / 10).quantize(Decimal("0.01")) if rng.random() < 0.3 else Decimal(0)
        lines.append(
            TransactionLineItem(
                serial=serial,
                sku=sku,
                description=description,
                category=category,
                brand=spec.short_name,
                qty=qty,
                rate=rate,
                value=value,
                discount=discount,
                amount=value - discount,
            )
        )
    return lines


def _seed_logins(*, hasher: str | BasePasswordHasher, counter: _Counter) -> None:
    user_model = get_user_model()
    for login in LOGINS:
        is_superuser = login.role == SUPERUSER_ROLE
        user, created = user_model.objects.get_or_create(
            username=login.username,
            defaults={
                "email": f"{login.username}@example.com",
                "is_staff": True,
                "is_superuser": is_superuser,
            },
        )
        counter.record("staff users", created)
        changed = []
        if not check_password(login.password, user.password):
            user.password = make_password(login.password, hasher=hasher)
            changed.append("password")
        for name, value in (
            ("is_staff", True),
            ("is_superuser", is_superuser),
            ("is_active", True),
        ):
            if getattr(user, name) != value:
                setattr(user, name, value)
                changed.append(name)
        if changed:
            user.save(update_fields=changed)
        if not is_superuser:
            # The role groups come from the members.0002_staff_roles migration.
            group, _ = Group.objects.get_or_create(name=login.role)
            if not user.groups.filter(pk=group.pk).exists():
                user.groups.add(group)


def _seed_coupons(*, org: Org, counter: _Counter) -> None:
    """Two demo offers with coupons issued to the org's first customers (coupons.services.demo)."""
    holders = list(Customer.objects.filter(org=org).order_by("pk")[:DEMO_COUPON_HOLDERS])
    offers, issued = coupons_demo_seed(org=org, customers=holders)
    counter["coupon offers"] += offers
    counter["coupons"] += issued


def _seed_ledger(*, org: Org, counter: _Counter) -> None:
    """Open the ledger of the org's customers that have none, with the back-fill job (zero
    opening balances); creates no job when every customer has a ledger already."""
    if not ledger_backfill_customers_pending(org_id=org.pk).exists():
        return
    job = job_create(kind=BACKFILL_KIND, org=org, params={})
    # job_create runs the job once the seed's transaction commits (or on a worker when Redis is
    # configured). Run it here instead, so that the bills' credits that follow find the accounts
    # open; the queued run then finds the job finished and does nothing.
    job = job_run(job_id=job.pk)
    if job is None or job.status != Job.Status.FINISHED or job.failed:
        error = job.error_message if job is not None else "the job disappeared"
        raise RuntimeError(f"The ledger back-fill of {org.name} failed: {error}")
    counter["customer ledgers"] += job.processed


def _seed_bill_points(*, spec: OrgSpec, org: Org, counter: _Counter) -> None:
    """Credit each demo bill's points (TransactionAdd) to its customer in the org's default
    program. The idempotency key is the bill, so a second run replays and credits nothing."""
    program = Program.objects.filter(org=org, is_default=True, is_active=True).first()
    if program is None:
        return
    bills = (
        Transaction.objects.filter(
            org=org,
            number__in=_bill_numbers(spec),
            customer__isnull=False,
            customer__merged_into__isnull=True,
        )
        .select_related("customer", "till")
        .order_by("number")
    )
    for bill in bills:
        points = int(bill.bill_amount // BILL_AMOUNT_PER_POINT)
        if points <= 0:
            continue
        event = points_allocate(
            customer=bill.customer,
            program=program,
            points=points,
            event_name="TransactionAdd",
            actor=bill.till,
            transaction=bill,
            idempotency_key=f"demo-earn:{bill.pk}",
        )
        counter.record("points credits", not getattr(event, "is_replay", False))
