"""Prefixed, time-ordered object ids: `loan_01JD3Q8Z6S0M4W2C7V9E5K1T3P`.

The part after the prefix is a ULID (48-bit millisecond timestamp + 80 random bits in
Crockford base32), so ids sort by creation time and cursor pagination can order by id.
"""

from __future__ import annotations

import re
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_RE = re.compile(r"^[a-z]{2,8}_[0-9A-HJKMNP-TV-Z]{26}$")

PREFIXES = {
    "tenant": "ten",
    "api_key": "key",
    "oauth_client": "cli",
    "staff_user": "usr",
    "borrower": "brw",
    "application": "app",
    "offer": "ofr",
    "loan": "loan",
    "repayment": "rpy",
    "product": "prod",
    "credit_line": "cl",
    "draw": "drw",
    "event": "evt",
    "webhook_endpoint": "we",
    "delivery_attempt": "wda",
    "webhook_delivery": "wdl",
    "notification": "ntf",
    "journal_entry": "je",
    "disbursement": "dsb",
    "payment": "pay",
    "test_clock": "clock",
    "widget_session": "ws",
    "consent": "cns",
    "liveness_check": "lvc",
    "licence_check": "lic",
    "borrower_document": "doc",
    "audit": "aud",
    "request": "req",
    "review": "rev",
    "decision": "dec",
    "bureau_report": "bur",
    "fraud_rule_set": "frs",
    "blacklist_entry": "bl",
    "custody_account": "ca",
    "mandate": "mdt",
    "payment_attempt": "patt",
    "reconciliation_report": "rcn",
    "reconciliation_break": "rbk",
}


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def ulid(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return _encode(ms, 10) + _encode(secrets.randbits(80), 16)


def new_id(prefix: str) -> str:
    """A new id with the given type prefix, e.g. new_id("loan")."""
    if not re.fullmatch(r"[a-z]{2,8}", prefix):
        raise ValueError(f"bad id prefix: {prefix!r}")
    return f"{prefix}_{ulid()}"


def id_floor(prefix: str, at_ms: int) -> str:
    """A bound that sorts after every id of `prefix` made before `at_ms` (unix ms) and
    before every id made at or after it: ids are time-ordered."""
    return f"{prefix}_{_encode(at_ms, 10)}"


def is_id(value: object, prefix: str | None = None) -> bool:
    """Whether `value` looks like one of our ids (optionally of one type)."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    return prefix is None or value.startswith(prefix + "_")
