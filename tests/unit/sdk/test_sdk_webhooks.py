"""lendbridge_sdk.webhooks: the standalone library re-exported, plus typed events."""

from __future__ import annotations

import json

import pytest

import lendbridge_sdk as lb
from lendbridge_sdk import webhooks

SECRET = webhooks.generate_secret()
NOW = 1_767_225_600
ENVELOPE = {
    "id": "evt_1",
    "object": "event",
    "type": "loan.disbursed",
    "created": NOW,
    "livemode": False,
    "api_version": "2026-11-01",
    "data": {"object": {"id": "loan_1", "object": "loan", "principal": 1_000_000, "status": "active"}},
}
BODY = json.dumps(ENVELOPE).encode()


def test_construct_event_verifies_and_types_the_object() -> None:
    headers = webhooks.signature_headers(SECRET, "msg_1", NOW, BODY)
    event = webhooks.construct_event(BODY, headers, SECRET, now=NOW)
    assert isinstance(event, lb.Event) and event.type == "loan.disbursed" and event.id == "evt_1"
    loan = event.data_object
    assert isinstance(loan, lb.Loan) and loan.principal == 1_000_000


def test_construct_event_rejects_a_bad_signature() -> None:
    headers = webhooks.signature_headers(webhooks.generate_secret(), "msg_1", NOW, BODY)
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.construct_event(BODY, headers, SECRET, now=NOW)


def test_construct_event_honours_the_tolerance() -> None:
    headers = webhooks.signature_headers(SECRET, "msg_1", NOW - 100, BODY)
    with pytest.raises(webhooks.WebhookVerificationError, match="too old"):
        webhooks.construct_event(BODY, headers, SECRET, tolerance=60, now=NOW)


@pytest.mark.parametrize("payload", [BODY, BODY.decode(), ENVELOPE])
def test_parse_typed_event(payload: bytes | str | dict[str, object]) -> None:
    event = webhooks.parse_typed_event(payload)
    assert isinstance(event.data_object, lb.Loan)


def test_parse_typed_event_rejects_what_is_not_an_envelope() -> None:
    with pytest.raises(ValueError):
        webhooks.parse_typed_event({"id": "loan_1", "object": "loan"})
    with pytest.raises(ValueError):
        webhooks.parse_typed_event(b"[]")


def test_plain_envelope_is_still_available() -> None:
    headers = webhooks.signature_headers(SECRET, "msg_1", NOW, BODY)
    envelope = webhooks.parse_event(webhooks.verify(BODY, headers, SECRET, now=NOW))
    assert isinstance(envelope, webhooks.Event) and envelope.data_object["id"] == "loan_1"
