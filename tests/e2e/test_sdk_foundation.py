"""The SDK against a live server: identity of the caller, errors, retries' idempotency, clocks."""

from __future__ import annotations

import pytest

import lendbridge_sdk
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e


def test_account_through_the_sdk(live_server: LiveServer) -> None:
    account = live_server.client().account.retrieve()
    assert account.id == live_server.keys["partner"]["tenant_id"]
    assert account["kind"] == "partner" and account.livemode is False


def test_bad_key_raises_authentication_error_with_request_id(live_server: LiveServer) -> None:
    client = lendbridge_sdk.Client("sk_test_" + "z" * 32, base_url=live_server.base_url)
    with pytest.raises(lendbridge_sdk.AuthenticationError) as exc:
        client.account.retrieve()
    assert exc.value.status == 401 and exc.value.request_id and exc.value.request_id.startswith("req_")


def test_missing_object_raises_not_found(live_server: LiveServer) -> None:
    with pytest.raises(lendbridge_sdk.NotFoundError) as exc:
        live_server.client().test_clocks.retrieve("clock_01AAAAAAAAAAAAAAAAAAAAAAAA")
    assert exc.value.code == "resource_missing" and str(exc.value).startswith(exc.value.request_id or "?")


def test_invalid_parameter_names_the_field(live_server: LiveServer) -> None:
    with pytest.raises(lendbridge_sdk.InvalidRequestError) as exc:
        live_server.client().test_clocks.create(frozen_time="soon")
    assert exc.value.param == "frozen_time"


def test_test_clock_round_trip_and_idempotent_create(live_server: LiveServer) -> None:
    client = live_server.client()
    first = client.test_clocks.create(frozen_time=1767225600, name="e2e", idempotency_key="e2e-clock-1")
    again = client.test_clocks.create(frozen_time=1767225600, name="e2e", idempotency_key="e2e-clock-1")
    assert (
        again.id == first.id and again.last_response is not None and again.last_response.idempotent_replayed
    )
    with pytest.raises(lendbridge_sdk.IdempotencyError):
        client.test_clocks.create(frozen_time=1767225601, name="e2e", idempotency_key="e2e-clock-1")
    ids = [c.id for c in client.test_clocks.list(limit=1).auto_paging_iter()]
    assert first.id in ids
