"""lendbridge_webhooks.Event / parse_event: the envelope every webhook carries."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

import lendbridge_webhooks as wh

SECRET = wh.generate_secret()
NOW = 1_767_225_600


def envelope(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": "evt_01JD3Q8Z6S0M4W2C7V9E5K1T3P",
        "object": "event",
        "type": "loan.disbursed",
        "created": NOW,
        "livemode": False,
        "api_version": "2026-11-01",
        "data": {"object": {"id": "loan_1", "object": "loan", "principal": 1_000_000}},
    }
    values.update(overrides)
    return values


def test_verify_then_parse() -> None:
    body = json.dumps(envelope()).encode()
    headers = wh.signature_headers(SECRET, "msg_1", NOW, body)
    event = wh.parse_event(wh.verify(body, headers, SECRET, now=NOW))
    assert event == wh.Event(
        id="evt_01JD3Q8Z6S0M4W2C7V9E5K1T3P",
        type="loan.disbursed",
        created=NOW,
        livemode=False,
        api_version="2026-11-01",
        data={"object": {"id": "loan_1", "object": "loan", "principal": 1_000_000}},
    )
    assert event.data_object["principal"] == 1_000_000


@pytest.mark.parametrize("payload", [json.dumps(envelope()).encode(), json.dumps(envelope())])
def test_parse_from_bytes_or_text(payload: bytes | str) -> None:
    assert wh.parse_event(payload).type == "loan.disbursed"


def test_unknown_envelope_keys_are_ignored() -> None:
    assert wh.Event.from_dict(envelope(request={"id": "req_1"})).id.startswith("evt_")


def test_event_is_frozen() -> None:
    event = wh.Event.from_dict(envelope())
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.type = "loan.cancelled"  # type: ignore[misc]


@pytest.mark.parametrize("missing", ["id", "type", "created", "livemode", "api_version", "data"])
def test_missing_field_is_rejected(missing: str) -> None:
    values = envelope()
    del values[missing]
    with pytest.raises(ValueError, match=missing):
        wh.Event.from_dict(values)


@pytest.mark.parametrize(
    "field,value",
    [("created", "1767225600"), ("created", True), ("livemode", "false"), ("id", 7), ("data", [])],
)
def test_mistyped_field_is_rejected(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        wh.Event.from_dict(envelope(**{field: value}))


def test_data_without_object_is_rejected() -> None:
    with pytest.raises(ValueError, match="data.object"):
        wh.Event.from_dict(envelope(data={}))


def test_other_object_is_rejected() -> None:
    with pytest.raises(ValueError, match="not an event"):
        wh.Event.from_dict(envelope(object="loan"))


@pytest.mark.parametrize("payload", [b"[]", b"null", b"{"])
def test_non_object_payload_is_rejected(payload: bytes) -> None:
    with pytest.raises(ValueError):
        wh.parse_event(payload)


def test_public_names() -> None:
    assert sorted(wh.__all__) == sorted(
        [
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
    )
    for name in wh.__all__:
        assert hasattr(wh, name)
