"""Pure rules of widget sessions: client secrets, secret-bound data, expiry, the order of
the borrower's steps, one-time codes and allowed origins.

A widget session's client secret goes to the partner's page and nowhere else. The server
keeps only its SHA-256, and everything the session holds about the borrower before they
apply (the partner's name/phone hint, the phone being verified, the one-time code) is
sealed or keyed with a key derived from that secret: a database dump alone reveals none
of it, and it becomes unreadable once the page that held the secret is gone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from lendbridge.core.errors import Conflict, InvalidParameter, RateLimited
from lendbridge.core.ids import is_id
from lendbridge.crypto.errors import CryptoError
from lendbridge.crypto.sm3 import hmac_sm3
from lendbridge.crypto.sm4 import KEY_SIZE, Sm4Gcm

DEFAULT_TTL = timedelta(minutes=30)
MIN_TTL = timedelta(minutes=5)
MAX_TTL = timedelta(hours=24)
SECRET_MARK = "_secret_"  # noqa: S105 - the separator inside a client secret, not a secret
LOCALES = ("zh-CN", "en")


class SessionStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    EXPIRED = "expired"


class SessionMode(StrEnum):
    APPLY = "apply"  # offer preview -> apply -> decision -> agreement -> sign
    REPAY = "repay"  # an existing loan: schedule, next due, pay now


# -- client secret --------------------------------------------------------------------------
def new_client_secret(session_id: str) -> str:
    """`ws_<ulid>_secret_<32 url-safe chars>`: the session id travels inside the secret so
    that one indexed lookup finds the session, and the random part authenticates it."""
    return f"{session_id}{SECRET_MARK}{secrets.token_urlsafe(24)}"


def session_id_of(client_secret: str) -> str | None:
    """The session id a client secret names, or None when it is not shaped like one."""
    session_id, mark, token = client_secret.partition(SECRET_MARK)
    if not mark or len(token) < 24 or not is_id(session_id, "ws"):
        return None
    return session_id


def hash_secret(client_secret: str) -> str:
    # 192 random bits: a plain SHA-256 is enough (no dictionary to attack).
    return hashlib.sha256(client_secret.encode()).hexdigest()


def secret_matches(client_secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(client_secret), stored_hash)


def _derive(client_secret: str, purpose: str) -> bytes:
    return hmac_sm3(client_secret.encode(), b"lendbridge.widget." + purpose.encode())


def keyed_digest(client_secret: str, purpose: str, value: str) -> str:
    """HMAC-SM3 of `value` under a key only the secret's holder can derive (hex)."""
    return hmac_sm3(_derive(client_secret, purpose), value.encode()).hex()


def digests_equal(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


def seal(client_secret: str, session_id: str, data: Mapping[str, Any]) -> str:
    """`data` as SM4-GCM ciphertext (base64) under the secret-derived key, bound to the session."""
    cipher = Sm4Gcm(_derive(client_secret, "seal")[:KEY_SIZE])
    plaintext = json.dumps(dict(data), ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(cipher.seal(plaintext, session_id.encode())).decode()


def unseal(client_secret: str, session_id: str, sealed: str) -> dict[str, Any]:
    """What `seal` sealed; an empty dict when it cannot be opened (wrong secret, altered)."""
    cipher = Sm4Gcm(_derive(client_secret, "seal")[:KEY_SIZE])
    try:
        plaintext = cipher.open(base64.urlsafe_b64decode(sealed.encode()), session_id.encode())
    except (CryptoError, ValueError):
        return {}
    value = json.loads(plaintext)
    return value if isinstance(value, dict) else {}


# -- lifetime -------------------------------------------------------------------------------
def expiry(now: datetime, expires_in: int | None) -> datetime:
    """When a session created `now` expires; `expires_in` seconds within 5 min - 24 h."""
    if expires_in is None:
        return now + DEFAULT_TTL
    ttl = timedelta(seconds=expires_in)
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise InvalidParameter("expires_in must be between 300 and 86400 seconds", param="expires_in")
    return now + ttl


def effective_status(status: str, expires_at: datetime, now: datetime) -> SessionStatus:
    """An open session past its expiry is expired; completed stays completed."""
    current = SessionStatus(status)
    if current is SessionStatus.OPEN and now >= expires_at:
        return SessionStatus.EXPIRED
    return current


# -- the borrower's steps -------------------------------------------------------------------
class Stage(StrEnum):
    START = "start"
    PHONE_VERIFIED = "phone_verified"
    IDENTIFIED = "identified"  # the borrower exists; the identity check (KYC) comes next
    APPROVED = "approved"
    REVIEW = "review"
    DECLINED = "declined"
    ACCEPTED = "accepted"  # an offer was accepted: a loan awaits signature
    SIGNED = "signed"


def stage_of(
    *, phone_verified: bool, identified: bool, outcome: str | None, loan_id: str | None, signed: bool
) -> Stage:
    if signed:
        return Stage.SIGNED
    if loan_id is not None:
        return Stage.ACCEPTED
    if outcome is not None:
        return Stage(outcome)
    if identified:
        return Stage.IDENTIFIED
    return Stage.PHONE_VERIFIED if phone_verified else Stage.START


ALLOWED: dict[str, frozenset[Stage]] = {
    "send_code": frozenset({Stage.START, Stage.PHONE_VERIFIED}),
    "verify_code": frozenset({Stage.START, Stage.PHONE_VERIFIED}),
    "register": frozenset({Stage.PHONE_VERIFIED}),
    "identity_check": frozenset({Stage.IDENTIFIED}),
    "apply": frozenset({Stage.IDENTIFIED}),
    "accept": frozenset({Stage.APPROVED}),
    "agreement": frozenset({Stage.ACCEPTED, Stage.SIGNED}),
    "sign": frozenset({Stage.ACCEPTED}),
    "result": frozenset({Stage.APPROVED, Stage.REVIEW, Stage.DECLINED, Stage.ACCEPTED, Stage.SIGNED}),
}

_OUT_OF_ORDER = {
    "register": "Verify the phone number with the one-time code first",
    "identity_check": "Submit the borrower's details first",
    "apply": "Submit the borrower's details first",
    "accept": "Only an approved application's offer can be accepted",
    "agreement": "Accept an offer first; the agreement belongs to the loan it creates",
    "sign": "There is no agreement awaiting signature in this session",
    "result": "Nothing has been submitted in this session yet",
}


def require_stage(stage: Stage, action: str) -> None:
    """Refuse a step the session is not at (409), naming what has to happen first."""
    if stage in ALLOWED[action]:
        return
    early = (Stage.START, Stage.PHONE_VERIFIED, Stage.IDENTIFIED)
    if action in ("send_code", "verify_code", "register", "identity_check", "apply") and stage not in early:
        raise Conflict(
            "This widget session already has an application; start a new session to apply again",
            code="widget_session_used",
        )
    raise Conflict(
        _OUT_OF_ORDER.get(action, "This step is not available now"), code="widget_step_out_of_order"
    )


# -- one-time codes -------------------------------------------------------------------------
OTP_LENGTH = 6
# Test mode only: this code verifies any phone once a code was sent (documented in docs/widget.md).
TEST_MODE_CODE = "000000"


@dataclass(frozen=True)
class OtpPolicy:
    ttl: timedelta = timedelta(minutes=5)
    resend_after: timedelta = timedelta(seconds=60)
    max_sends: int = 5
    max_attempts: int = 5


def new_code() -> str:
    return f"{secrets.randbelow(10**OTP_LENGTH):0{OTP_LENGTH}d}"


def check_can_send(sends: int, last_sent_at: datetime | None, now: datetime, policy: OtpPolicy) -> None:
    if sends >= policy.max_sends:
        raise Conflict("Too many codes were sent in this session; start a new session", code="otp_send_limit")
    if last_sent_at is not None and now < last_sent_at + policy.resend_after:
        wait = last_sent_at + policy.resend_after - now
        raise RateLimited(
            "A code was sent moments ago; wait before asking for another",
            retry_after=max(1, int(wait.total_seconds() + 0.999)),
        )


_CODE_RE = re.compile(rf"[0-9]{{{OTP_LENGTH}}}")


def check_code(
    *,
    submitted: str,
    submitted_digest: str,
    stored_digest: str | None,
    expires_at: datetime | None,
    attempts: int,
    now: datetime,
    livemode: bool,
    policy: OtpPolicy,
) -> bool:
    """Whether the submitted code is the one sent; raises when it cannot be checked at all.

    A wrong code is an answer (False), not an error: the caller records the failed
    attempt, which an error response would roll back. `attempts` counts earlier attempts.
    """
    if stored_digest is None or expires_at is None:
        raise Conflict("Ask for a code first", code="otp_not_sent")
    if not _CODE_RE.fullmatch(submitted):
        raise InvalidParameter(f"code must be {OTP_LENGTH} digits", param="code", code="otp_format")
    if attempts >= policy.max_attempts:
        raise InvalidParameter(
            "Too many wrong codes; ask for a new code", param="code", code="otp_attempts_exceeded"
        )
    if now >= expires_at:
        raise InvalidParameter("The code has expired; ask for a new code", param="code", code="otp_expired")
    if not livemode and submitted == TEST_MODE_CODE:
        return True
    return digests_equal(submitted_digest, stored_digest)


# -- origins --------------------------------------------------------------------------------
_HOST_RE = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def normalise_origin(value: str) -> str:
    """`scheme://host[:port]`, lower-cased; `https://*.example.com` allows subdomains.

    Raises ValueError for anything else (paths, credentials, other schemes).
    """
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or not _HOST_RE.fullmatch(host):
        raise ValueError("an origin is scheme://host[:port], with http or https")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("an origin has no path, query, fragment or credentials")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("an origin's port must be a number from 1 to 65535") from None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def origin_allowed(origin: str | None, allowed: Iterable[str], *, livemode: bool) -> bool:
    """Whether a browser on `origin` may call the widget API.

    Test mode allows any origin (partners try the widget from localhost and previews).
    Requests without an Origin header do not come from a cross-origin page script.
    """
    if origin is None or not livemode:
        return True
    try:
        wanted = normalise_origin(origin)
    except ValueError:
        return False
    scheme, _, rest = wanted.partition("://")
    for pattern in allowed:
        if pattern == wanted:
            return True
        p_scheme, _, p_rest = pattern.partition("://")
        if p_rest.startswith("*.") and p_scheme == scheme:
            suffix = p_rest[1:]  # ".example.com[:port]"
            if rest.endswith(suffix) and len(rest) > len(suffix):
                return True
    return False
