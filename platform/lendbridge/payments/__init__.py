"""Payments: custody accounts, payment instructions, channel routing with failover,
auto-debit and reconciliation.

LendBridge never holds money. Every movement is an instruction to a payment channel or
to the institution's custody bank. Pure modules (no Flask/SQLAlchemy):

    instructions.py   states, transitions and stable instruction ids
    codes.py          channel error code -> retry / failover / final
    breaker.py        per-channel circuit breaker with an injectable clock
    health.py         success rate and latency EWMA per channel
    routing.py        channel eligibility by rules, ranking by cost and health
    engine.py         one execution of an instruction across channels (unknown outcomes)
    schedules.py      auto-debit retry dates, re-query backoff
    reconciliation.py statement parsing and matching
    ports.py          the Protocols the pure code talks to

Edges: models.py; services.py (disbursement, mandates, and the one import for callers),
custody.py, execution.py (routing + engine + outcomes, callbacks, re-checks, operations
queue), auto_debit.py, daily_reconciliation.py, scoping.py (tenancy helpers); schemas.py,
api.py, tasks.py; adapters.py (the loans and identity ports), channels.py (channel and
custody-bank adapters), runtime.py (wiring per app). See docs/payments.md.
"""
