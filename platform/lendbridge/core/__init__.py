"""Shared kernel: money, ids, clock, errors, pagination. Pure Python, no Flask or SQLAlchemy."""
