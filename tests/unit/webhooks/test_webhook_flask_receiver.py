"""The receiver from docs/webhooks.md works with Flask's request objects."""

from __future__ import annotations

import json
import time

import pytest
from flask import Flask, abort, request

import lendbridge_webhooks

SECRET = lendbridge_webhooks.generate_secret()
BODY = json.dumps(
    {
        "id": "evt_1",
        "object": "event",
        "type": "loan.disbursed",
        "created": 1_767_225_600,
        "livemode": False,
        "api_version": "2026-11-01",
        "data": {"object": {"id": "loan_1", "object": "loan"}},
    },
    indent=2,  # odd spacing on purpose: only the raw bytes verify
).encode()


def create_app(handled: list[lendbridge_webhooks.Event]) -> Flask:
    app = Flask(__name__)

    @app.post("/webhooks/lendbridge")
    def lendbridge_webhook() -> tuple[str, int]:
        try:
            payload = lendbridge_webhooks.verify(request.get_data(), request.headers, SECRET)
        except lendbridge_webhooks.WebhookVerificationError:
            abort(400)
        handled.append(lendbridge_webhooks.parse_event(payload))
        return "", 204

    return app


@pytest.mark.parametrize("tamper", [False, True])
def test_flask_receiver(tamper: bool) -> None:
    handled: list[lendbridge_webhooks.Event] = []
    client = create_app(handled).test_client()
    headers = lendbridge_webhooks.signature_headers(SECRET, "msg_1", int(time.time()), BODY)
    body = BODY.replace(b"loan_1", b"loan_2") if tamper else BODY
    response = client.post(
        "/webhooks/lendbridge", data=body, headers=headers, content_type="application/json"
    )
    if tamper:
        assert response.status_code == 400 and handled == []
    else:
        assert response.status_code == 204 and handled[0].data_object["id"] == "loan_1"
