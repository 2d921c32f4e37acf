"""Loans: schedules, interest, APR, waterfall, prepayment, penalties, states, delinquency,
revolving credit lines and merchant subsidies.

The modules named after a concern are pure (stdlib + lendbridge.core) so unit tests call
them directly; `cli.py` is the only one that imports click.
"""
