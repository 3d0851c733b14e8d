"""The ledger reads' short paths: query parsing without building the serializer's fields, the
closing balance read counting the view without reading a page, and few joins per statement.
Each gives what the long path gives."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from rest_framework.exceptions import ValidationError

from ledger import services
from ledger.api.entries.serializers import LedgerBalanceInputSerializer, LedgerInfoInputSerializer
from ledger.selectors import ledger_events_count, ledger_events_list
from loyalty_site.core.exceptions import DomainError
from members.models import PointsCategory
from tests.ledger.api_helpers import BALANCE_URL, INFO_URL, by_mobile
from tests.ledger.factories import earn, key, member
from tests.members.factories import TillFactory

QUERIES = [
    "source=INSTORE&identifierName=mobile&identifierValue=919800000001",
    "source=instore&identifierName= mobile &identifierValue=%20919800000001%20&limit=5&offset=2",
    "source=ALL&identifierName=externalId&identifierValue=x&limit=3&limit=7&sortOrder=asc",
    "type=USERGROUP2&identifierName=groupId&identifierValue=4&source=INSTORE&programId=",
    "source=INSTORE&identifierName=id&identifierValue=5&startDate=2024-01-01T00:00:00"
    "&endDate=2024-02-01T00:00:00&ledgerEntryType=credit,DEBIT&pointCategoryType=REGULAR"
    "&eventFilter=TransactionAdd,pointsexpiry&excludeEvents=true&tillIds=1,2&unknown=x",
    "source=INSTORE&identifierName=id&identifierValue=5&storeCode=%20s1%20&order=DESC"
    "&includeLastOneYearData=true&startDate=2024-01-01T00:00:00&isFilterBasedOnDate=true",
]
BAD_QUERIES = [
    "source=INSTORE&identifierName=mobile&identifierValue=" + "9" * 256,
    "source=INSTORE&identifierName=mobile&identifierValue=91%00",
    "source=INSTORE&identifierName=mobile",
    "source=INSTORE&identifierName=mobile&identifierValue=1&limit=101",
    "source=INSTORE&identifierName=mobile&identifierValue=1&sort=UP",
    "source=NOWHERE&identifierName=mobile&identifierValue=1",
]


def _through_fields(serializer_class, params):
    serializer = serializer_class(data=params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _outcome(parse):
    try:
        return parse()
    except ValidationError as exc:
        return ("validation", exc.detail)
    except DomainError as exc:
        return (type(exc), exc.code, exc.message)


@pytest.mark.parametrize(
    "serializer_class", [LedgerInfoInputSerializer, LedgerBalanceInputSerializer]
)
@pytest.mark.parametrize("text", QUERIES + BAD_QUERIES)
def test_query_parsing_gives_what_the_fields_give(serializer_class, text):
    params = QueryDict(text)

    fast = _outcome(lambda: serializer_class.query_from(params))
    slow = _outcome(lambda: _through_fields(serializer_class, params))

    assert fast == slow


@pytest.mark.django_db
def test_events_count_is_the_page_total_for_every_filter(org, program, till):
    customer = member(org, [program])
    other_till = TillFactory(org=org)
    earn(customer, program, 10, actor=till)
    earn(customer, program, 5, actor=other_till)
    services.points_redeem(
        customer=customer, program=program, points=3, actor=till, idempotency_key=key()
    )
    views = [
        {},
        {"program_id": program.pk},
        {"entry_types": ["DEBIT"]},
        {"categories": [PointsCategory.PROMISED]},
        {"till_ids": [other_till.pk]},
        {"store_ids": [till.store_id]},
        {"program_id": program.pk, "include_till_concept_events": True},
    ]

    for view in views:
        total = ledger_events_list(customer=customer, **view).total
        assert ledger_events_count(customer=customer, **view) == total, view


@pytest.mark.django_db
def test_balance_read_counts_the_view_without_reading_its_events(api_client, org, program, till):
    customer = member(org, [program])
    earn(customer, program, 10, actor=till)

    with CaptureQueriesContext(connection) as queries:
        response = api_client.get(BALANCE_URL, by_mobile(customer))

    assert response.status_code == 200
    event_reads = [q["sql"] for q in queries if '"ledger_ledgerevent"' in q["sql"]]
    assert len(event_reads) == 1 and "COUNT(*)" in event_reads[0]
    assert response.json()["ledgerDetails"]["totalEntries"] == 2


@pytest.mark.django_db
def test_page_statements_join_few_tables(api_client, org, program, till):
    # PostgreSQL's planning time grows fast with the number of joined tables
    customer = member(org, [program])
    earn(customer, program, 10, actor=till)

    with CaptureQueriesContext(connection) as queries:
        response = api_client.get(INFO_URL, by_mobile(customer))

    assert response.status_code == 200
    ledger_reads = [q["sql"] for q in queries if '"ledger_' in q["sql"]]
    assert ledger_reads and all(sql.count(" JOIN ") <= 4 for sql in ledger_reads)
