"""The LendBridge event envelope that every webhook message carries.

    {"id": "evt_...", "object": "event", "type": "loan.disbursed", "created": 1767225600,
     "livemode": false, "api_version": "2026-11-01", "data": {"object": {...}}}

``data.object`` is the API object as it was when the event happened (the same shape the REST
API returns). Delivery is at least once and unordered: deduplicate on the ``webhook-id``
header (or the event ``id``) and order by ``created``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def _field(values: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in values:
        raise ValueError(f"event envelope has no {name!r}")
    value = values[name]
    # bool is an int subclass: `created` must be a real integer.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"event envelope field {name!r} has the wrong type")
    return value


@dataclass(frozen=True)
class Event:
    """One event as delivered: who/what changed (``data``), what happened (``type``), when
    (``created``, Unix seconds) and in which mode (``livemode``)."""

    id: str
    type: str
    created: int
    livemode: bool
    api_version: str
    data: dict[str, Any]

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Event:
        """Build an ``Event`` from a parsed envelope; unknown keys are ignored so newer
        envelopes still parse. Raises ``ValueError`` when a field is missing or mistyped."""
        if values.get("object", "event") != "event":
            raise ValueError(f"not an event envelope: object is {values.get('object')!r}")
        data = _field(values, "data", dict)
        if not isinstance(data.get("object"), dict):
            raise ValueError("event envelope has no data.object")
        return cls(
            id=_field(values, "id", str),
            type=_field(values, "type", str),
            created=_field(values, "created", int),
            livemode=_field(values, "livemode", bool),
            api_version=_field(values, "api_version", str),
            data=dict(data),
        )

    @property
    def data_object(self) -> dict[str, Any]:
        """The API object the event is about (``data["object"]``)."""
        obj: dict[str, Any] = self.data["object"]
        return obj


def parse_event(payload: bytes | str | Mapping[str, Any]) -> Event:
    """Parse an envelope from body bytes/text or from the dict that ``verify`` returned.

    This does not check any signature: call ``verify`` on the raw body first. Raises
    ``ValueError`` when the payload is not JSON or not an event envelope.
    """
    if isinstance(payload, Mapping):
        return Event.from_dict(payload)
    parsed = json.loads(payload)
    if not isinstance(parsed, dict):
        raise ValueError("event payload is not a JSON object")
    return Event.from_dict(parsed)
