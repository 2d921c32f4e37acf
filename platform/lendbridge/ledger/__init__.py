"""Double-entry ledger of each institution's loan book. `postings.py` is pure."""
