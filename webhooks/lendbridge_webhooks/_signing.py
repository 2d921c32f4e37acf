"""Standard Webhooks signatures: the sender's `sign` and the receiver's `verify`.

The scheme, in the words of the Standard Webhooks specification:

* every message carries three headers, ``webhook-id`` (unique per message, the same on every
  retry), ``webhook-timestamp`` (integer Unix seconds of this attempt) and
  ``webhook-signature`` (space-separated ``v1,<base64>`` entries);
* the signed content is ``f"{webhook_id}.{webhook_timestamp}."`` followed by the exact raw
  body bytes;
* each signature is ``base64(HMAC-SHA256(key, signed_content))`` where ``key`` is the
  base64-decoded part of the ``whsec_...`` secret.

Verify the raw bytes the HTTP server received (Flask: ``request.get_data()``). A body that
was parsed and serialised again differs in whitespace or key order and never verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

WEBHOOK_ID_HEADER = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 -- the public prefix of every secret, not a secret
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 300

_TIMESTAMP_RE = re.compile(r"^[0-9]{1,15}$")


class HeadersLike(Protocol):
    """Any request-headers object with ``items()``: a ``dict``, Flask/Werkzeug ``Headers``,
    requests' ``CaseInsensitiveDict``, Starlette ``Headers``, ..."""

    def items(self) -> Iterable[tuple[str, str]]: ...


class WebhookVerificationError(Exception):
    """A message failed verification: headers missing or malformed, timestamp outside the
    tolerance, no matching signature, or a body that is not a JSON object.

    Answer such a request with 400 and do not act on it.
    """


def _decode_secret(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret (the prefix is optional).

    Raises ``ValueError`` for an empty or non-base64 secret: that is a configuration
    mistake, not a bad message, so it is not reported as a verification failure.
    """
    if not isinstance(secret, str):
        raise TypeError("webhook secret must be a str like 'whsec_...'")
    encoded = secret.strip()
    if encoded.startswith(SECRET_PREFIX):
        encoded = encoded[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError("webhook secret is not valid base64 after the 'whsec_' prefix") from None
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _secrets(secret: str | Sequence[str]) -> list[str]:
    found = [secret] if isinstance(secret, str) else list(secret)
    if not found:
        raise ValueError("at least one webhook secret is required")
    return found


def _signature(key: bytes, msg_id: str, timestamp: int, payload: bytes) -> bytes:
    signed_content = f"{msg_id}.{timestamp}.".encode() + payload
    return hmac.new(key, signed_content, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, payload: bytes) -> str:
    """Sign one message; returns the ``webhook-signature`` header value ``v1,<base64>``.

    ``secret`` is ``whsec_`` + base64 (the bare base64 is accepted too), ``timestamp`` Unix
    seconds, ``payload`` the exact body bytes that will be sent. Raises ``ValueError`` for
    an unusable secret.
    """
    digest = _signature(_decode_secret(secret), msg_id, timestamp, payload)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_headers(
    secret_or_secrets: str | Sequence[str], msg_id: str, timestamp: int, payload: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt.

    With several secrets (an endpoint in its rotation overlap period) the signature header
    carries one space-separated ``v1,`` signature per secret, so receivers holding either the
    old or the new secret accept the message. Raises ``ValueError`` for an unusable secret.
    """
    signature = " ".join(sign(s, msg_id, timestamp, payload) for s in _secrets(secret_or_secrets))
    return {
        WEBHOOK_ID_HEADER: msg_id,
        WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        WEBHOOK_SIGNATURE_HEADER: signature,
    }


def generate_secret() -> str:
    """A new endpoint secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _passed_signatures(header: str) -> list[bytes]:
    """The decoded ``v1`` signatures in a signature header; other versions and malformed
    entries are skipped, so one bad entry cannot hide a good one."""
    found = []
    for entry in header.split():
        version, sep, encoded = entry.partition(",")
        if not sep or version != SIGNATURE_VERSION or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:
            continue
    return found


def _require_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    raise TypeError(
        "verify() needs the raw request body as bytes (Flask: request.get_data()), "
        f"not {type(payload).__name__}; a re-serialised body never verifies"
    )


def verify(
    payload: bytes,
    headers: HeadersLike,
    secret: str | Sequence[str],
    tolerance: int = DEFAULT_TOLERANCE,
    now: int | None = None,
) -> dict[str, Any]:
    """Verify one received message and return its parsed JSON body (the event envelope).

    ``payload`` must be the raw body bytes as received. ``headers`` holds the request
    headers, e.g. Flask's ``request.headers``; names are matched case-insensitively.
    ``secret`` is the endpoint secret, or several secrets while you rotate yours (any one
    may match). The timestamp must lie within ``tolerance`` seconds of ``now`` (default:
    the current time) in either direction. Any of several space-separated signatures in the
    header may match.

    Raises ``WebhookVerificationError`` when a header is missing or malformed, the timestamp
    is too old or too new, no signature matches, or the body is not a JSON object. Raises
    ``ValueError`` for an unusable secret and ``TypeError`` when ``payload`` is not bytes.
    """
    body = _require_bytes(payload)
    keys = [_decode_secret(s) for s in _secrets(secret)]
    lowered = {str(name).lower(): value for name, value in headers.items()}
    msg_id = lowered.get(WEBHOOK_ID_HEADER, "").strip()
    timestamp_header = lowered.get(WEBHOOK_TIMESTAMP_HEADER, "").strip()
    signature_header = lowered.get(WEBHOOK_SIGNATURE_HEADER, "").strip()
    for name, value in (
        (WEBHOOK_ID_HEADER, msg_id),
        (WEBHOOK_TIMESTAMP_HEADER, timestamp_header),
        (WEBHOOK_SIGNATURE_HEADER, signature_header),
    ):
        if not value:
            raise WebhookVerificationError(f"missing {name} header")

    if not _TIMESTAMP_RE.match(timestamp_header):
        raise WebhookVerificationError("webhook-timestamp header is not integer Unix seconds")
    timestamp = int(timestamp_header)
    current = int(time.time()) if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("message timestamp too old")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("message timestamp too far in the future")

    passed = _passed_signatures(signature_header)
    if not passed:
        raise WebhookVerificationError("webhook-signature header holds no well-formed v1 signature")
    expected = [_signature(key, msg_id, timestamp, body) for key in keys]
    # Compare every pair in constant time; stop only after a match.
    if not any(hmac.compare_digest(want, got) for want in expected for got in passed):
        raise WebhookVerificationError("no matching signature found")

    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise WebhookVerificationError("payload is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise WebhookVerificationError("payload is not a JSON object")
    return parsed
