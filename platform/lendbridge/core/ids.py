"""Prefixed, time-ordered object ids: `loan_01JD3Q8Z6S0M4W2C7V9E5K1T3P`.

The part after the prefix is a ULID (48-bit millisecond timestamp + 80 random bits in
Crockford base32), so ids sort by creation time and cursor pagination can order by id.
Within one process ids are strictly increasing, also within one millisecond (the random
part of the next id is the previous one's plus one, as the ULID spec's monotonic mode), so
"newest first" is exact for everything one process creates.
"""

from __future__ import annotations

import re
import secrets
import threading
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


_RANDOM_SPACE = 1 << 80
_last = [0, 0]  # the process's last (millisecond, random part)
_last_lock = threading.Lock()


def ulid(now_ms: int | None = None) -> str:
    """A ULID for `now_ms` (tests), or a process-monotonic one for now."""
    if now_ms is not None:
        return _encode(now_ms, 10) + _encode(secrets.randbits(80), 16)
    ms = int(time.time() * 1000)
    with _last_lock:
        if ms > _last[0]:
            rand = secrets.randbits(80)
        else:  # same millisecond (or the wall clock stepped back): continue after the last id
            ms, rand = _last[0], _last[1] + 1
            if rand >= _RANDOM_SPACE:
                ms, rand = ms + 1, secrets.randbits(80)
        _last[0], _last[1] = ms, rand
    return _encode(ms, 10) + _encode(rand, 16)


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
