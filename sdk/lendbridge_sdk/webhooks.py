"""Receiving LendBridge webhooks: ``lendbridge_webhooks`` plus parsing into SDK objects.

``verify``, ``sign``, ``WebhookVerificationError``, ``Event`` (the plain envelope dataclass)
and ``parse_event`` are the standalone library's own functions, re-exported. On top of them:
``construct_event`` verifies and returns a typed ``lendbridge_sdk.Event`` whose
``data_object`` is the typed API object (a ``Loan`` for ``loan.disbursed``), and
``parse_typed_event`` does the parsing alone for a body you have already verified.

Always pass the raw request body bytes (Flask: ``request.get_data()``), never a parsed and
re-serialised body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from lendbridge_sdk import _objects
from lendbridge_webhooks import (
    DEFAULT_TOLERANCE,
    WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    Event,
    HeadersLike,
    WebhookVerificationError,
    generate_secret,
    parse_event,
    sign,
    signature_headers,
    verify,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "WEBHOOK_ID_HEADER",
    "WEBHOOK_SIGNATURE_HEADER",
    "WEBHOOK_TIMESTAMP_HEADER",
    "Event",
    "HeadersLike",
    "WebhookVerificationError",
    "construct_event",
    "generate_secret",
    "parse_event",
    "parse_typed_event",
    "sign",
    "signature_headers",
    "verify",
]


def parse_typed_event(payload: bytes | str | Mapping[str, Any]) -> _objects.Event:
    """Parse an event envelope into a typed ``lendbridge_sdk.Event`` (no signature check:
    verify first). Raises ``ValueError`` when the payload is not an event envelope."""
    envelope = payload if isinstance(payload, Mapping) else _decode(payload)
    parse_event(envelope)  # validates the envelope's shape
    return _objects.Event(envelope)


def construct_event(
    payload: bytes,
    headers: HeadersLike,
    secret: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: int | None = None,
) -> _objects.Event:
    """Verify a delivery and return it as a typed ``lendbridge_sdk.Event``.

    Raises ``WebhookVerificationError`` exactly when ``verify`` does (answer 400), and
    ``ValueError`` when a correctly signed body is not an event envelope.
    """
    return parse_typed_event(verify(payload, headers, secret, tolerance=tolerance, now=now))


def _decode(payload: bytes | str) -> dict[str, Any]:
    parsed = json.loads(payload)
    if not isinstance(parsed, dict):
        raise ValueError("event payload is not a JSON object")
    return parsed
