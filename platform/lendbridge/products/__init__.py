"""Loan products published by institutions: ranges, fees, eligibility, pricing, APR cap."""
