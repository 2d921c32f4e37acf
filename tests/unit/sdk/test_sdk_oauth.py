"""OAuth2 client credentials: the token request, caching, renewal before expiry and once on
a `token_expired` answer."""

from __future__ import annotations

from typing import Any

import pytest
from sdk_fakes import FakeTransport, Sent, make_client, obj, ok, problem

import lendbridge_sdk as lb
from lendbridge_sdk import _http

OPTIONS: dict[str, Any] = {
    "api_key": None,
    "client_id": "cli_1",
    "client_secret": "s3cret",
    "scope": "loans:read loans:write",
}


def token(value: str, expires_in: int = 3600) -> lb.HTTPResponse:
    return ok(
        {"access_token": value, "token_type": "Bearer", "expires_in": expires_in, "scope": "loans:read"}
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(_http, "_now", fake)
    return fake


def token_requests(transport: FakeTransport) -> list[Sent]:
    return [s for s in transport.sent if s.path == "/v1/oauth/token"]


def test_token_request_is_form_encoded_client_credentials(clock: Clock) -> None:
    transport = FakeTransport(token("tok_1"), ok(obj("account")))
    client, _ = make_client(transport, **OPTIONS)
    client.account.retrieve()
    fetch, call = transport.sent
    assert (fetch.method, fetch.path) == ("POST", "/v1/oauth/token")
    assert fetch.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in fetch.headers
    assert fetch.form == {
        "grant_type": "client_credentials",
        "client_id": "cli_1",
        "client_secret": "s3cret",
        "scope": "loans:read loans:write",
    }
    assert call.headers["Authorization"] == "Bearer tok_1"


def test_scope_is_optional(clock: Clock) -> None:
    transport = FakeTransport(token("tok_1"), ok(obj("account")))
    client, _ = make_client(transport, **{**OPTIONS, "scope": None})
    client.account.retrieve()
    assert "scope" not in transport.sent[0].form


def test_token_is_cached_until_shortly_before_expiry(clock: Clock) -> None:
    transport = FakeTransport(token("tok_1", expires_in=3600), default=ok(obj("account")))
    client, _ = make_client(transport, **OPTIONS)
    client.account.retrieve()
    clock.now += 3600 - 61
    client.account.retrieve()
    assert len(token_requests(transport)) == 1

    transport.answers = [token("tok_2")]
    clock.now += 2  # now inside the last minute of the token's life
    client.account.retrieve()
    assert len(token_requests(transport)) == 2
    assert transport.sent[-1].headers["Authorization"] == "Bearer tok_2"


def test_short_lived_token_is_renewed_at_half_its_life(clock: Clock) -> None:
    transport = FakeTransport(token("tok_1", expires_in=60), default=ok(obj("account")))
    client, _ = make_client(transport, **OPTIONS)
    client.account.retrieve()
    clock.now += 29
    client.account.retrieve()
    assert len(token_requests(transport)) == 1
    transport.answers = [token("tok_2", expires_in=60)]
    clock.now += 2
    client.account.retrieve()
    assert len(token_requests(transport)) == 2


def test_token_expired_answer_refetches_once_and_repeats(clock: Clock) -> None:
    transport = FakeTransport(token("tok_1"), problem(401, "token_expired"), token("tok_2"), ok(obj("loan")))
    client, sleeps = make_client(transport, **OPTIONS)
    client.loans.cancel("loan_1")
    assert [s.path for s in transport.sent] == [
        "/v1/oauth/token",
        "/v1/loans/loan_1/cancel",
        "/v1/oauth/token",
        "/v1/loans/loan_1/cancel",
    ]
    assert transport.sent[3].headers["Authorization"] == "Bearer tok_2"
    assert transport.sent[1].headers["Idempotency-Key"] == transport.sent[3].headers["Idempotency-Key"]
    assert sleeps == []


def test_second_token_expired_answer_is_raised(clock: Clock) -> None:
    transport = FakeTransport(
        token("tok_1"), problem(401, "token_expired"), token("tok_2"), problem(401, "token_expired")
    )
    client, _ = make_client(transport, **OPTIONS)
    with pytest.raises(lb.AuthenticationError) as info:
        client.account.retrieve()
    assert info.value.code == "token_expired" and len(transport.sent) == 4


def test_other_401_is_not_retried_with_a_new_token(clock: Clock) -> None:
    transport = FakeTransport(token("tok_1"), problem(401, "token_revoked"))
    client, _ = make_client(transport, **OPTIONS)
    with pytest.raises(lb.AuthenticationError):
        client.account.retrieve()
    assert len(transport.sent) == 2


def test_api_key_client_does_not_refetch_on_token_expired() -> None:
    transport = FakeTransport(problem(401, "token_expired"))
    client, _ = make_client(transport)
    with pytest.raises(lb.AuthenticationError):
        client.account.retrieve()
    assert len(transport.sent) == 1


def test_bad_client_credentials_raise_authentication_error(clock: Clock) -> None:
    transport = FakeTransport(problem(401, "client_invalid", detail="unknown client"))
    client, _ = make_client(transport, **OPTIONS)
    with pytest.raises(lb.AuthenticationError, match="unknown client"):
        client.account.retrieve()
    assert len(transport.sent) == 1


def test_token_answer_without_access_token(clock: Clock) -> None:
    transport = FakeTransport(ok({"token_type": "Bearer"}))
    client, _ = make_client(transport, **OPTIONS)
    with pytest.raises(lb.AuthenticationError, match="access_token"):
        client.account.retrieve()


def test_token_endpoint_outage_is_retried(clock: Clock) -> None:
    transport = FakeTransport(
        lb.APIConnectionError("refused", should_retry=True), token("tok_1"), ok(obj("account"))
    )
    client, sleeps = make_client(transport, **OPTIONS)
    client.account.retrieve()
    assert sleeps == [0.5] and transport.sent[-1].headers["Authorization"] == "Bearer tok_1"
