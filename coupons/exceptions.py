"""Coupons domain errors with their item status codes (CONTRACT.md §1.7, shared by v1.1 and v2).

The contract names 701, 702, 703, 704, 707, 711, 712, 713, 721, 722 and the 786-799 range of
configuration errors. It has no code of its own for several issual rules the seed describes
(per-customer cap, gap between issuals, series cap, one common code per customer, past-issual
restriction, audience restriction); those use the free 743-748 slots, documented in docs/API.md.
"""

from __future__ import annotations

from loyalty_site.core.exceptions import ConflictError, DomainError, NotFoundError


# The base of every redemption rule: "is redeemable" reports every rule that fails, a redeem
# refuses with the first.
class CouponRedemptionRuleError(DomainError):
    """Base of the redemption rules; `failures` holds every failed rule of the request."""

    code = 709
    message = "Unable to redeem the coupon"

    def __init__(self, message: str | None = None, **kwargs) -> None:
        self.failures: list[DomainError] = kwargs.pop("failures", [])
        self.coupon_code: str = kwargs.pop("coupon_code", "")
        super().__init__(message, **kwargs)


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


class CouponCodeInvalidError(CouponRedemptionRuleError):
    code = 702
    message = "Invalid coupon code"


class CouponNotIssuedToCustomerError(CouponRedemptionRuleError):
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


class CouponAlreadyRedeemedError(CouponRedemptionRuleError):
    code = 711
    message = "Coupon already redeemed"


class CouponSeriesExpiredError(CouponRedemptionRuleError):
    code = 712
    message = "Coupon series has expired"


class CouponExpiredError(CouponRedemptionRuleError):
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


class CouponRevokedError(CouponRedemptionRuleError):
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


# Redemption rules (CONTRACT.md §1.7; 702, 711-713 and 749 above are rules too). 741, 734, 737
# and 751 are this implementation's, for cases the contract names no code for (docs/API.md).


class CouponNotRedeemableError(CouponRedemptionRuleError):
    code = 706
    message = "Cannot redeem same voucher multiple times"


class CouponNotRedeemableByCustomerError(CouponRedemptionRuleError):
    """New customers only: the customer registered outside the offer's registration window."""

    code = 710
    message = "Coupon is not redeemable by this customer"


class OfferRedemptionLimitReachedError(CouponRedemptionRuleError):
    code = 714
    message = "Maximum redemptions of the offer reached"


class CouponRepeatedInRequestError(CouponRedemptionRuleError):
    code = 716
    message = "Same coupon given more than once"


class CouponNewCustomerTransactionsError(CouponRedemptionRuleError):
    """New customers only: the customer has more transactions than the offer allows."""

    code = 723
    message = "Coupon is not usable by this customer"


class CustomerRedemptionLimitReachedError(CouponRedemptionRuleError):
    code = 728
    message = "Maximum redemptions by the customer reached"


class RedemptionNotStartedError(CouponRedemptionRuleError):
    code = 729
    message = "Invalid redemption date range: redemption has not started"


class CouponBillAmountError(CouponRedemptionRuleError):
    code = 733
    message = "Invalid transaction amount for this coupon"


class CouponRedemptionStoreError(CouponRedemptionRuleError):
    code = 735
    message = "Coupon is not redeemable at this store"


class CodeRedemptionLimitReachedError(CouponRedemptionRuleError):
    code = 736
    message = "Maximum redemptions of the coupon code reached"


class RedemptionGapNotMetError(CouponRedemptionRuleError):
    code = 738
    message = "Wait before redeeming again"


class RedemptionTimeNotAllowedError(CouponRedemptionRuleError):
    code = 739
    message = "Invalid redemption date: not on the offer's days or hours"


class MutuallyExclusiveCouponError(CouponRedemptionRuleError):
    code = 741
    message = "Coupon cannot be redeemed on the same bill as a coupon of an exclusive offer"


# Redemption requests, reversal, revoke ------------------------------------------------------
class CouponRedemptionNotFoundError(NotFoundError):
    code = 734
    message = "Redemption not found"


class RedemptionAlreadyReversedError(DomainError):
    code = 737
    message = "The redemption is already reversed"


class CouponRedemptionReplayMismatchError(ConflictError):
    code = 751
    message = "The coupon was already redeemed on this bill with different details"


class CouponValidationThrottledError(DomainError):
    """Too many failed coupon validations from the till or for the customer."""

    code = 429
    http_status = 429
    message = "Too many failed coupon validations; try again later"


class RevokeTargetMissingError(DomainError):
    code = 756
    message = "CouponCode/s or customer info is mandatory"


class RevokeTooManyError(DomainError):
    code = 757
    message = "Too many coupons to revoke in one request"


class RevokeCouponNotFoundError(NotFoundError):
    code = 682
    message = "Coupon not found"


class RevokeRedeemedCouponError(DomainError):
    code = 405
    message = "Coupon already redeemed"


class RevokeGenericCouponError(DomainError):
    code = 108
    message = "Common (GENERIC) codes cannot be revoked one by one"
