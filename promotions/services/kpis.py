"""The restriction vocabulary (promotionRestrictions.restrictions, seed 002 and seed 004) and what
each KPI counts.

Every event that credits a promotion's points is one earn and one redemption of it (the benefit
of a points promotion is the points), so earn and redemption KPIs count the same awards:

    times      awards (events) of the customer / of every customer
    points     points credited to the customer / to every customer
    per event  a cap on one award (points, or awarded line items for LINEITEM promotions)
    issual     issues and enrolments of the customer; points earned within one issue
"""

from __future__ import annotations

from dataclasses import dataclass

from promotions.models import RestrictionFamily


@dataclass(frozen=True)
class Kpi:
    measure: str  # times, points, lines, issues
    scope: str  # CUSTOMER, PROMOTION, EVENT, ISSUE
    periodic: bool  # may be PERIOD_BASED

    @property
    def limit_on(self) -> str:
        """The customer promotion list's `limitOn` (EVENT, CUSTOMER or PROMOTION)."""
        return "EVENT" if self.scope in {"EVENT", "ISSUE"} else self.scope


TIMES_PER_CUSTOMER = Kpi("times", "CUSTOMER", True)
POINTS_PER_CUSTOMER = Kpi("points", "CUSTOMER", True)
TIMES_PER_PROMOTION = Kpi("times", "PROMOTION", True)
POINTS_PER_PROMOTION = Kpi("points", "PROMOTION", True)
POINTS_PER_EVENT = Kpi("points", "EVENT", False)
LINES_PER_EVENT = Kpi("lines", "EVENT", False)
ISSUES_PER_CUSTOMER = Kpi("issues", "CUSTOMER", True)
POINTS_PER_ISSUE = Kpi("points", "ISSUE", False)

KPIS: dict[str, dict[str, Kpi]] = {
    RestrictionFamily.REDEMPTION: {
        "MAX_ALLOWED_TIMES_PER_CART": LINES_PER_EVENT,
        "MAX_ALLOWED_POINTS_PER_CART": POINTS_PER_EVENT,
        "MAX_ALLOWED_TIMES_PER_CUSTOMER": TIMES_PER_CUSTOMER,
        "MAX_ALLOWED_EVENTS_PER_CUSTOMER": TIMES_PER_CUSTOMER,
        "MAX_ALLOWED_POINTS_PER_CUSTOMER": POINTS_PER_CUSTOMER,
        "MAX_ALLOWED_TIMES_PER_PROMOTION": TIMES_PER_PROMOTION,
        "MAX_ALLOWED_EVENTS_PER_PROMOTION": TIMES_PER_PROMOTION,
        "MAX_ALLOWED_POINTS_PER_PROMOTION": POINTS_PER_PROMOTION,
        "MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER": LINES_PER_EVENT,
    },
    RestrictionFamily.ISSUAL: {
        "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER": ISSUES_PER_CUSTOMER,
        "MAX_POINTS_PER_ISSUAL_PER_CUSTOMER": POINTS_PER_ISSUE,
    },
    RestrictionFamily.EARN: {
        "MAX_NUMBER_OF_EARNS_PER_CUSTOMER": TIMES_PER_CUSTOMER,
        "MAX_POINTS_PER_EARN_PER_CUSTOMER": POINTS_PER_EVENT,
    },
}
EXPIRY_RESTRICTIONS = frozenset({"ISSUAL_PROMOTION_EXPIRY_BASED_ON"})
# The seed's responses list this one even when the request did not (its default).
DEFAULT_REDEMPTION_RESTRICTION = ("MAX_REDEMPTIONS_PER_EARN_PER_CUSTOMER", 100)
DISABLED = -1


def kpi_of(family: str, name: str) -> Kpi | None:
    return KPIS.get(family, {}).get(name)
