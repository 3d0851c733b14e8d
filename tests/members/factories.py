"""factory-boy factories for the members domain."""

from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from loyalty_site.api.authentication import md5_hex
from members import models

TILL_PASSWORD = "till-secret-1"
TILL_OAUTH_SECRET = "oauth-secret-1"


class OrgFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Org

    name = factory.Sequence(lambda n: f"Brand {n}")
    time_zone = "Asia/Kolkata"
    base_currency = "INR"


class ZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Zone

    org = factory.SubFactory(OrgFactory)
    code = factory.Sequence(lambda n: f"zone{n}")
    name = factory.Sequence(lambda n: f"Zone {n}")


class ConceptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Concept

    org = factory.SubFactory(OrgFactory)
    code = factory.Sequence(lambda n: f"concept{n}")
    name = factory.Sequence(lambda n: f"Concept {n}")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Store

    org = factory.SubFactory(OrgFactory)
    code = factory.Sequence(lambda n: f"store{n}")
    name = factory.Sequence(lambda n: f"Store {n}")
    currency = factory.LazyAttribute(lambda o: o.org.base_currency)


class TillFactory(factory.django.DjangoModelFactory):
    """A till whose API password is TILL_PASSWORD and OAuth secret TILL_OAUTH_SECRET."""

    class Meta:
        model = models.Till

    org = factory.SubFactory(OrgFactory)
    store = factory.SubFactory(StoreFactory, org=factory.SelfAttribute("..org"))
    code = factory.Sequence(lambda n: f"till{n}")
    name = factory.LazyAttribute(lambda o: o.code)
    password_hash = factory.LazyFunction(
        lambda: make_password(md5_hex(TILL_PASSWORD), hasher="md5")
    )
    oauth_key = factory.Sequence(lambda n: f"key{n:06d}")
    oauth_secret_hash = factory.LazyFunction(lambda: make_password(TILL_OAUTH_SECRET, hasher="md5"))


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Program

    org = factory.SubFactory(OrgFactory)
    name = factory.Sequence(lambda n: f"Program {n}")


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Tier

    program = factory.SubFactory(ProgramFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Tier {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Customer

    org = factory.SubFactory(OrgFactory)
    mobile = factory.Sequence(lambda n: f"91980000{n:04d}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    external_id = factory.Sequence(lambda n: f"EXT{n:05d}")
    first_name = "Tom"
    last_name = factory.Sequence(lambda n: f"Sawyer{n}")
    registered_at = factory.LazyFunction(timezone.now)


class UserGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.UserGroup

    org = factory.SubFactory(OrgFactory)
    external_id = factory.Sequence(lambda n: f"group_{n}")
    name = factory.Sequence(lambda n: f"Group {n}")
    max_size = 10


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Transaction

    org = factory.SubFactory(OrgFactory)
    customer = factory.SubFactory(CustomerFactory, org=factory.SelfAttribute("..org"))
    till = factory.SubFactory(TillFactory, org=factory.SelfAttribute("..org"))
    store = factory.SelfAttribute("till.store")
    number = factory.Sequence(lambda n: f"BILL{n:06d}")
    type = models.TransactionType.REGULAR
    bill_amount = 1000
    billed_at = factory.LazyFunction(timezone.now)
