"""Standard Webhooks signing and verification for LendBridge events (stdlib only).

Receiver::

    import lendbridge_webhooks

    payload = lendbridge_webhooks.verify(request.get_data(), request.headers, secret)
    event = lendbridge_webhooks.parse_event(payload)

Sender::

    headers = lendbridge_webhooks.signature_headers(secret, msg_id, timestamp, body)
"""

from lendbridge_webhooks._event import Event, parse_event
from lendbridge_webhooks._signing import (
    DEFAULT_TOLERANCE,
    SECRET_PREFIX,
    SIGNATURE_VERSION,
    WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    HeadersLike,
    WebhookVerificationError,
    generate_secret,
    sign,
    signature_headers,
    verify,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "SECRET_PREFIX",
    "SIGNATURE_VERSION",
    "WEBHOOK_ID_HEADER",
    "WEBHOOK_SIGNATURE_HEADER",
    "WEBHOOK_TIMESTAMP_HEADER",
    "Event",
    "HeadersLike",
    "WebhookVerificationError",
    "generate_secret",
    "parse_event",
    "sign",
    "signature_headers",
    "verify",
]
