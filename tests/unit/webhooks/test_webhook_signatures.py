"""lendbridge_webhooks.sign/verify: the Standard Webhooks vectors, then one valid message
with exactly one thing broken per test, then both directions with the `standardwebhooks`
reference package."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

import lendbridge_webhooks as wh

VECTORS = Path(__file__).parents[3].parent / "shared" / "vectors" / "standard_webhooks.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text())["cases"]

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
MSG_ID = "msg_2Kf8p0cXzq"
NOW = 1_767_225_600
BODY = b'{"id": "evt_1", "object": "event", "type": "loan.disbursed"}'


def signed(
    *, secret: str = SECRET, msg_id: str = MSG_ID, timestamp: int = NOW, body: bytes = BODY
) -> tuple[bytes, dict[str, str]]:
    """A valid message: the body and its three headers."""
    return body, wh.signature_headers(secret, msg_id, timestamp, body)


def rejects(body: bytes, headers: Mapping[str, str], secret: str = SECRET, now: int = NOW) -> str:
    """Verify and expect a rejection; returns the error message."""
    with pytest.raises(wh.WebhookVerificationError) as info:
        wh.verify(body, headers, secret, now=now)
    return str(info.value)


def case_id(case: dict[str, Any]) -> str:
    why: str = case.get("why", "reference vector")
    return ("valid-" if case["valid"] else "invalid-") + why.split(" (")[0]


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_reference_vectors(case: dict[str, Any]) -> None:
    body = case["body"].encode()
    headers = {
        "webhook-id": case["webhook_id"],
        "webhook-timestamp": str(case["webhook_timestamp"]),
        "webhook-signature": case["webhook_signature"],
    }
    now = case["webhook_timestamp"] + 10
    if case["valid"]:
        assert wh.verify(body, headers, case["secret"], now=now) == json.loads(body)
    else:
        with pytest.raises(wh.WebhookVerificationError):
            wh.verify(body, headers, case["secret"], now=now)


@pytest.mark.parametrize("case", [c for c in CASES if c["valid"] and " " not in c["webhook_signature"]])
def test_sign_reproduces_reference_signature(case: dict[str, Any]) -> None:
    signature = wh.sign(case["secret"], case["webhook_id"], case["webhook_timestamp"], case["body"].encode())
    assert signature == case["webhook_signature"]


def test_valid_message_returns_the_parsed_body() -> None:
    body, headers = signed()
    assert wh.verify(body, headers, SECRET, now=NOW) == json.loads(BODY)


@pytest.mark.parametrize(
    "header", [wh.WEBHOOK_ID_HEADER, wh.WEBHOOK_TIMESTAMP_HEADER, wh.WEBHOOK_SIGNATURE_HEADER]
)
def test_missing_header_is_rejected(header: str) -> None:
    body, headers = signed()
    del headers[header]
    assert header in rejects(body, headers)


def test_empty_header_is_rejected() -> None:
    body, headers = signed()
    headers["webhook-id"] = " "
    assert "webhook-id" in rejects(body, headers)


@pytest.mark.parametrize("value", ["yesterday", "1767225600.5", "-1767225600", "1e9", "0x10"])
def test_non_integer_timestamp_is_rejected(value: str) -> None:
    body, headers = signed()
    headers["webhook-timestamp"] = value
    assert "timestamp" in rejects(body, headers)


def test_timestamp_too_old_is_rejected() -> None:
    body, headers = signed(timestamp=NOW - 301)
    assert "too old" in rejects(body, headers)


def test_timestamp_too_far_in_the_future_is_rejected() -> None:
    body, headers = signed(timestamp=NOW + 301)
    assert "future" in rejects(body, headers)


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamp_exactly_at_the_tolerance_is_accepted(offset: int) -> None:
    body, headers = signed(timestamp=NOW + offset)
    assert wh.verify(body, headers, SECRET, now=NOW)


def test_custom_tolerance() -> None:
    body, headers = signed(timestamp=NOW - 60)
    with pytest.raises(wh.WebhookVerificationError):
        wh.verify(body, headers, SECRET, tolerance=30, now=NOW)


def test_timestamp_header_replaced_after_signing_is_rejected() -> None:
    body, headers = signed()
    headers["webhook-timestamp"] = str(NOW + 1)
    assert "no matching signature" in rejects(body, headers)


def test_wrong_secret_is_rejected() -> None:
    body, headers = signed(secret=OTHER_SECRET)
    assert "no matching signature" in rejects(body, headers)


def test_tampered_body_is_rejected() -> None:
    _, headers = signed()
    assert "no matching signature" in rejects(BODY.replace(b"disbursed", b"cancelled"), headers)


def test_reserialised_body_is_rejected() -> None:
    body, headers = signed()
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert "no matching signature" in rejects(compact, headers)


def test_other_message_id_is_rejected() -> None:
    body, headers = signed()
    headers["webhook-id"] = "msg_other"
    rejects(body, headers)


@pytest.mark.parametrize("value", ["garbage", "v1", "v1,", "v2,c2lnbmF0dXJl", ",abc", "v1a,c2ln"])
def test_malformed_signature_header_is_rejected(value: str) -> None:
    body, headers = signed()
    headers["webhook-signature"] = value
    assert "no well-formed v1 signature" in rejects(body, headers)


def test_garbage_base64_signature_is_rejected() -> None:
    body, headers = signed()
    headers["webhook-signature"] = "v1,@@not-base64@@"
    rejects(body, headers)


def test_garbage_entry_does_not_hide_a_valid_signature() -> None:
    body, headers = signed()
    headers["webhook-signature"] = "v1,@@not-base64@@ v2,abc " + headers["webhook-signature"]
    assert wh.verify(body, headers, SECRET, now=NOW)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b""])
def test_signed_body_that_is_not_a_json_object_is_rejected(body: bytes) -> None:
    body, headers = signed(body=body)
    assert "JSON" in rejects(body, headers)


@pytest.mark.parametrize("case", [str.upper, str.title, lambda name: name], ids=["upper", "title", "lower"])
def test_header_names_are_case_insensitive(case: Any) -> None:
    body, headers = signed()
    assert wh.verify(body, {case(k): v for k, v in headers.items()}, SECRET, now=NOW)


def test_sender_rotation_signs_with_every_secret() -> None:
    body, headers = signed(secret=[SECRET, OTHER_SECRET])  # type: ignore[arg-type]
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert wh.verify(body, headers, SECRET, now=NOW)
    assert wh.verify(body, headers, OTHER_SECRET, now=NOW)


def test_receiver_rotation_accepts_any_of_its_secrets() -> None:
    body, headers = signed(secret=OTHER_SECRET)
    assert wh.verify(body, headers, [SECRET, OTHER_SECRET], now=NOW)
    assert wh.verify(body, headers, (OTHER_SECRET,), now=NOW)


def test_secret_without_prefix_is_accepted() -> None:
    body, headers = signed()
    assert wh.verify(body, headers, SECRET.removeprefix("whsec_"), now=NOW)
    assert wh.sign(SECRET, MSG_ID, NOW, BODY) == wh.sign(SECRET.removeprefix("whsec_"), MSG_ID, NOW, BODY)


@pytest.mark.parametrize("secret", ["whsec_", "whsec_***", ""])
def test_unusable_secret_is_a_configuration_error(secret: str) -> None:
    body, headers = signed()
    with pytest.raises(ValueError, match="webhook secret"):
        wh.verify(body, headers, secret, now=NOW)
    with pytest.raises(ValueError, match="webhook secret"):
        wh.sign(secret, MSG_ID, NOW, BODY)


def test_no_secrets_is_a_configuration_error() -> None:
    body, headers = signed()
    with pytest.raises(ValueError, match="at least one"):
        wh.verify(body, headers, [], now=NOW)


@pytest.mark.parametrize("payload", [BODY.decode(), json.loads(BODY)])
def test_parsed_or_text_payload_is_refused(payload: Any) -> None:
    _, headers = signed()
    with pytest.raises(TypeError, match="raw request body"):
        wh.verify(payload, headers, SECRET, now=NOW)


def test_bytearray_and_memoryview_payloads_verify() -> None:
    body, headers = signed()
    assert wh.verify(bytearray(body), headers, SECRET, now=NOW)  # type: ignore[arg-type]
    assert wh.verify(memoryview(body), headers, SECRET, now=NOW)  # type: ignore[arg-type]


def test_signature_headers_shape() -> None:
    headers = wh.signature_headers(SECRET, MSG_ID, NOW, BODY)
    assert headers == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(NOW),
        "webhook-signature": wh.sign(SECRET, MSG_ID, NOW, BODY),
    }
    assert headers["webhook-signature"].startswith("v1,")


def test_generate_secret() -> None:
    first, second = wh.generate_secret(), wh.generate_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_verify_uses_the_current_time_by_default() -> None:
    body, headers = signed(timestamp=int(datetime.now(UTC).timestamp()))
    assert wh.verify(body, headers, SECRET)
    body, headers = signed(timestamp=NOW)
    with pytest.raises(wh.WebhookVerificationError, match="too old"):
        wh.verify(body, headers, SECRET)


def test_standardwebhooks_verifies_our_signature() -> None:
    now = int(datetime.now(UTC).timestamp())
    body, headers = signed(timestamp=now)
    assert Webhook(SECRET).verify(body, headers) == json.loads(body)


def test_standardwebhooks_verifies_our_rotation_signatures() -> None:
    now = int(datetime.now(UTC).timestamp())
    body, headers = signed(secret=[OTHER_SECRET, SECRET], timestamp=now)  # type: ignore[arg-type]
    assert Webhook(SECRET).verify(body, headers) == json.loads(body)


def test_we_verify_a_standardwebhooks_signature() -> None:
    signature = Webhook(SECRET).sign(MSG_ID, datetime.fromtimestamp(NOW, UTC), BODY.decode())
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(NOW), "webhook-signature": signature}
    assert wh.verify(BODY, headers, SECRET, now=NOW) == json.loads(BODY)
    assert signature == wh.sign(SECRET, MSG_ID, NOW, BODY)


json_objects = st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=5)


@settings(max_examples=50, deadline=None)
@given(
    obj=json_objects,
    msg_id=st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s and s.isprintable()),
)
def test_every_signed_message_verifies(obj: dict[str, Any], msg_id: str) -> None:
    body = json.dumps(obj, ensure_ascii=False).encode()
    _, headers = signed(body=body, msg_id=msg_id)
    assert wh.verify(body, headers, SECRET, now=NOW) == obj


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_flipping_any_body_bit_breaks_the_signature(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(BODY) * 8 - 1))
    tampered = bytearray(BODY)
    tampered[position // 8] ^= 1 << (position % 8)
    _, headers = signed()
    with pytest.raises(wh.WebhookVerificationError):
        wh.verify(bytes(tampered), headers, SECRET, now=NOW)
