"""Coupons services (writes): series.py (offers), codes.py (generation and inserts),
expiry.py, currency.py, messages.py (SMS tags), audiences.py, issue.py (issue and resend)."""
