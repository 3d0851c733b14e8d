"""Bulk issuance: one coupon of an offer to every customer of an audience list or a segment, as a
job that any number of Celery workers share.

Fan-out on the Job model. The job (run by loyalty_site.core.jobs through coupons.jobs) splits
its customers into id-range chunks (`CouponIssueChunk`, planned once, streaming over the ids),
queues one `coupon_issue_chunk_task` per chunk, and then takes chunks itself until none is left.
A chunk is claimed with SELECT ... FOR UPDATE SKIP LOCKED and issued in ONE transaction: its
coupons, its row errors, its DONE status and the job's counters commit together, so a worker
that dies mid-chunk leaves the chunk untouched (pending, unlocked) for another worker, and a done
chunk is never redone. Coupons carry (issue_job, issue_job_row = customer id), unique together,
and a chunk skips customers that already hold a coupon of its job: nothing is issued twice even
if a chunk ran again. The job finishes when every chunk is done.

Set-based, no per-row ORM save: each chunk reads its customers in one query in which SQL applies
the offer's issual rules (CASE over EXISTS / COUNT subqueries: merged customer, audience,
past-issual restriction, common code held, per-customer maximum, minimum gap); the offer's limit
is claimed for the whole chunk with one conditional UPDATE before inserting; unissued codes are
assigned with one UPDATE; new coupons go in with PostgreSQL COPY (bulk_create elsewhere). Skipped
customers and their reason go to the job's error report. Memory holds one chunk at a time.

Bulk issuance sends no SMS per coupon (a campaign message is its own channel).

Locks: a chunk takes FOR KEY SHARE on the offer row first, so single issuals (which lock the offer
FOR UPDATE) and chunks of the same offer do not interleave their rule checks, while chunks run in
parallel. The offer's counters move at the end of the chunk; for an offer with an issual limit
the claim holds the offer row from the claim to the commit (its chunks queue there).
"""

from coupons.services.bulk.chunks import (
    BULK_ISSUE_KIND,
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    BulkIssueStalledError,
    coupon_bulk_issue_plan,
    coupon_bulk_issue_run,
    coupon_bulk_issue_start,
    coupon_bulk_issue_summary,
    coupon_issue_chunk_run,
)
from coupons.services.bulk.sources import (
    BulkIssueSource,
    BulkSource,
    bulk_issue_customers,
    bulk_issue_source_check,
)
from coupons.services.bulk.writes import COPY_COLUMNS

__all__ = [
    "BULK_ISSUE_KIND",
    "COPY_COLUMNS",
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "BulkIssueSource",
    "BulkIssueStalledError",
    "BulkSource",
    "bulk_issue_customers",
    "bulk_issue_source_check",
    "coupon_bulk_issue_plan",
    "coupon_bulk_issue_run",
    "coupon_bulk_issue_start",
    "coupon_bulk_issue_summary",
    "coupon_issue_chunk_run",
]
