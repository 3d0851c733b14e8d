"""Coupons domain errors with their item status codes (CONTRACT.md §1.7, shared by v1.1 and v2).

The contract names 701, 702, 703, 704, 707, 711, 712, 713, 721, 722 and the 786-799 range of
configuration errors. It has no code of its own for several issual rules the seed describes
(per-customer cap, gap between issuals, series cap, one common code per customer, past-issual
restriction, audience restriction); those use the free 743-748 slots, documented in docs/API.md.
"""

from __future__ import annotations

from loyalty_site.core.exceptions import ConflictError, DomainError, NotFoundError


# Series configuration ---------------------------------------------------------------------
class CouponSeriesInvalidError(DomainError):
    """The offer's settings are invalid or contradict each other (field names the setting)."""

    code = 799
    message = "Invalid coupon series configuration"


class CodeCapacityExceededError(DomainError):
    code = 798
    message = "The request does not fit the series' code space"


class RandomizedFixedPartUnavailableError(DomainError):
    code = 797
    message = "No unused fixed part is left for randomized common codes of this length"


class CouponCodeExistsError(ConflictError):
    code = 796
    http_status = 400
    message = "The coupon code already exists in the org"


class ExchangeRateMissingError(DomainError):
    code = 795
    message = "No exchange rate for the coupon's currency"


class ResendNotEnabledError(DomainError):
    code = 788
    message = "Resending coupons is not enabled for this series"


# Lookups ----------------------------------------------------------------------------------
class CouponSeriesNotFoundError(NotFoundError):
    code = 707
    message = "Invalid series id"


class CouponCustomerNotFoundError(NotFoundError):
    code = 701
    message = "Customer not found"


class CouponCodeInvalidError(DomainError):
    code = 702
    message = "Invalid coupon code"


class CouponNotIssuedToCustomerError(DomainError):
    code = 703
    message = "Coupon not issued to this customer"


class CouponCodeNotFoundError(NotFoundError):
    code = 719
    message = "Coupon code does not exist"


class InvalidCustomerError(DomainError):
    code = 721
    message = "Invalid customer"


# Issual -----------------------------------------------------------------------------------
class CouponSmsFailedError(DomainError):
    code = 704
    message = "Unable to send the coupon SMS"


class CouponAlreadyRedeemedError(DomainError):
    code = 711
    message = "Coupon already redeemed"


class CouponSeriesExpiredError(DomainError):
    code = 712
    message = "Coupon series has expired"


class CouponExpiredError(DomainError):
    code = 713
    message = "Coupon has expired"


class UnableToIssueError(DomainError):
    """No code can be handed out: the series has no unissued uploaded code left."""

    code = 722
    message = "Unable to issue coupon"


class SeriesIssualLimitReachedError(DomainError):
    code = 743
    message = "The offer's issual limit has been reached"


class CustomerIssualLimitReachedError(DomainError):
    code = 744
    message = "The customer has received the maximum number of coupons of this offer"


class IssualGapNotMetError(DomainError):
    code = 745
    message = "The minimum gap between two issuals to the customer has not passed"


class CommonCouponAlreadyIssuedError(DomainError):
    code = 746
    message = "The common coupon code has already been issued to this customer"


class PastIssualRestrictionError(DomainError):
    code = 747
    message = "The customer received a coupon of an excluded offer in the past 6 months"


class CustomerNotInAudienceError(DomainError):
    code = 748
    message = "The offer is issued to specific customers only"


class CouponRevokedError(DomainError):
    code = 749
    message = "Coupon has been revoked"


class CouponIdempotencyKeyReusedError(ConflictError):
    code = 409
    message = "The idempotency key was used for another coupon issual"


# Uploads and bulk issue -------------------------------------------------------------------
class CouponUploadInvalidError(DomainError):
    """A bad upload request or a malformed row (the contract's upload API answers 400)."""

    code = 400
    message = "Invalid upload"


class CouponUploadNotFoundError(NotFoundError):
    code = 404
    message = "Upload job not found"


class CouponBulkIssueInvalidError(DomainError):
    code = 400
    message = "Invalid bulk issue"
