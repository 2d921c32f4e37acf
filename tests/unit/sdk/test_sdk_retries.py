"""Retry policy: backoff numbers, which answers are retried, Retry-After and the server hint."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sdk_fakes import FakeTransport, make_client, obj, ok, problem

import lendbridge_sdk as lb
from lendbridge_sdk._http import random_jitter, retry_delay, should_retry


@pytest.mark.parametrize(
    ("retry", "jitter", "expected"),
    [
        (0, 1.0, 0.5),
        (1, 1.0, 1.0),
        (2, 1.0, 2.0),
        (3, 1.0, 4.0),
        (4, 1.0, 5.0),
        (10, 1.0, 5.0),
        (100, 1.0, 5.0),
        (0, 0.5, 0.5),  # 0.25 floored to 0.5
        (1, 0.5, 0.5),
        (2, 0.5, 1.0),
        (3, 0.75, 3.0),
        (4, 0.5, 2.5),
        (9, 0.5, 2.5),
    ],
)
def test_backoff_doubles_from_half_a_second_to_five_with_jitter(
    retry: int, jitter: float, expected: float
) -> None:
    assert retry_delay(retry, jitter=jitter) == expected


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(0.0, 0.5), (0.2, 0.5), (1.0, 1.0), (7.0, 7.0), (30.0, 30.0), (3600.0, 30.0)],
)
def test_retry_after_is_honoured_between_half_a_second_and_thirty(
    retry_after: float, expected: float
) -> None:
    assert retry_delay(3, jitter=0.5, retry_after=retry_after) == expected


def test_jitter_stays_between_half_and_one() -> None:
    draws = [random_jitter() for _ in range(1000)]
    assert min(draws) >= 0.5 and max(draws) <= 1.0


@pytest.mark.parametrize(
    ("status", "code", "hint", "expected"),
    [
        (400, "parameter_invalid", None, False),
        (401, "api_key_invalid", None, False),
        (403, "scope_insufficient", None, False),
        (404, "resource_missing", None, False),
        (409, "idempotency_key_reused", None, False),
        (409, "illegal_transition", None, False),
        (409, None, None, False),
        (409, "lock_conflict", None, True),
        (409, "request_in_progress", None, True),
        (422, "apr_cap_exceeded", None, False),
        (429, "rate_limited", None, True),
        (500, "internal_error", None, True),
        (502, None, None, True),
        (503, "service_unavailable", None, True),
        (503, "service_unavailable", "false", False),
        (500, None, "False", False),
        (400, "parameter_invalid", "true", True),
        (409, "illegal_transition", " TRUE ", True),
        (429, "rate_limited", "maybe", True),
    ],
)
def test_retry_decision(status: int, code: str | None, hint: str | None, expected: bool) -> None:
    assert should_retry(status, code, hint) is expected


@pytest.mark.parametrize(
    "first",
    [
        problem(500, "internal_error"),
        problem(503, "service_unavailable"),
        problem(409, "lock_conflict"),
        problem(409, "request_in_progress"),
        problem(429, "rate_limited"),
        lb.APIConnectionError("connection reset", should_retry=True),
    ],
    ids=["500", "503", "409-lock_conflict", "409-request_in_progress", "429", "connection"],
)
def test_transient_failure_then_success(first: lb.HTTPResponse | Exception) -> None:
    transport = FakeTransport(first, ok(obj("loan", principal=1)))
    client, sleeps = make_client(transport)
    assert client.loans.retrieve("loan_1").principal == 1
    assert len(transport.sent) == 2 and sleeps == [0.5]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (problem(400, "parameter_invalid"), lb.InvalidRequestError),
        (problem(401, "api_key_invalid"), lb.AuthenticationError),
        (problem(403, "scope_insufficient"), lb.PermissionError),
        (problem(404, "resource_missing"), lb.NotFoundError),
        (problem(409, "illegal_transition"), lb.InvalidRequestError),
        (problem(409, "idempotency_key_reused"), lb.IdempotencyError),
        (problem(422, "apr_cap_exceeded"), lb.InvalidRequestError),
    ],
)
def test_client_errors_are_never_retried(answer: lb.HTTPResponse, error: type[lb.LendBridgeError]) -> None:
    transport = FakeTransport(answer)
    client, sleeps = make_client(transport)
    with pytest.raises(error):
        client.loans.create_repayment("loan_1", amount=1)
    assert len(transport.sent) == 1 and sleeps == []


def test_retries_stop_after_max_retries_with_pinned_waits() -> None:
    transport = FakeTransport(default=problem(503, "service_unavailable"))
    client, sleeps = make_client(transport, max_retries=4, jitter=1.0)
    with pytest.raises(lb.APIError) as info:
        client.loans.list()
    assert len(transport.sent) == 5
    assert sleeps == [0.5, 1.0, 2.0, 4.0]
    assert info.value.status == 503


def test_default_is_two_retries() -> None:
    transport = FakeTransport(default=problem(500, "internal_error"))
    client, sleeps = make_client(transport, jitter=0.5)
    with pytest.raises(lb.APIError):
        client.account.retrieve()
    assert len(transport.sent) == 3 and sleeps == [0.5, 0.5]


def test_zero_retries_means_one_attempt() -> None:
    transport = FakeTransport(default=problem(500, "internal_error"))
    client, sleeps = make_client(transport, max_retries=0)
    with pytest.raises(lb.APIError):
        client.account.retrieve()
    assert len(transport.sent) == 1 and sleeps == []


def test_lock_conflict_becomes_api_error_when_retries_run_out() -> None:
    transport = FakeTransport(default=problem(409, "lock_conflict", request_id="req_lock"))
    client, sleeps = make_client(transport)
    with pytest.raises(lb.APIError) as info:
        client.loans.create_repayment("loan_1", amount=1)
    assert (info.value.status, info.value.code, info.value.request_id) == (409, "lock_conflict", "req_lock")
    assert len(transport.sent) == 3 and len(sleeps) == 2


def test_retry_after_is_waited_on_429() -> None:
    transport = FakeTransport(problem(429, "rate_limited", headers={"Retry-After": "3"}), ok(obj("loan")))
    client, sleeps = make_client(transport)
    client.loans.retrieve("loan_1")
    assert sleeps == [3.0]


def test_long_retry_after_is_capped() -> None:
    transport = FakeTransport(problem(429, "rate_limited", headers={"Retry-After": "600"}), ok(obj("loan")))
    client, sleeps = make_client(transport)
    client.loans.retrieve("loan_1")
    assert sleeps == [30.0]


def test_429_without_retry_after_uses_backoff() -> None:
    transport = FakeTransport(problem(429, "rate_limited"), problem(429, "rate_limited"), ok(obj("loan")))
    client, sleeps = make_client(transport, jitter=1.0)
    client.loans.retrieve("loan_1")
    assert sleeps == [0.5, 1.0]


def test_rate_limit_error_carries_retry_after_when_retries_run_out() -> None:
    transport = FakeTransport(default=problem(429, "rate_limited", headers={"Retry-After": "2"}))
    client, sleeps = make_client(transport)
    with pytest.raises(lb.RateLimitError) as info:
        client.loans.list()
    assert info.value.retry_after == 2.0 and sleeps == [2.0, 2.0]


def test_retry_after_on_a_5xx_is_not_used_as_the_wait() -> None:
    transport = FakeTransport(
        problem(503, "service_unavailable", headers={"Retry-After": "20"}), ok(obj("loan"))
    )
    client, sleeps = make_client(transport)
    client.loans.retrieve("loan_1")
    assert sleeps == [0.5]


def test_server_hint_false_stops_a_retry() -> None:
    transport = FakeTransport(
        problem(503, "service_unavailable", headers={"LendBridge-Should-Retry": "false"})
    )
    client, sleeps = make_client(transport)
    with pytest.raises(lb.APIError):
        client.loans.retrieve("loan_1")
    assert len(transport.sent) == 1 and sleeps == []


def test_server_hint_true_retries_a_4xx() -> None:
    transport = FakeTransport(
        problem(409, "illegal_transition", headers={"LendBridge-Should-Retry": "true"}), ok(obj("loan"))
    )
    client, sleeps = make_client(transport)
    client.loans.sign("loan_1")
    assert len(transport.sent) == 2 and sleeps == [0.5]


def test_connection_error_not_flagged_retryable_is_raised_at_once() -> None:
    transport = FakeTransport(lb.APIConnectionError("TLS handshake failed", should_retry=False))
    client, sleeps = make_client(transport)
    with pytest.raises(lb.APIConnectionError) as info:
        client.loans.retrieve("loan_1")
    assert not info.value.should_retry and sleeps == []


@pytest.mark.parametrize("method", ["GET", "DELETE", "POST"])
def test_connection_errors_are_retried_for_every_method(method: str) -> None:
    transport = FakeTransport(default=lb.APIConnectionError("refused", should_retry=True))
    client, sleeps = make_client(transport)
    calls: dict[str, Callable[[], object]] = {
        "GET": lambda: client.loans.retrieve("loan_1"),
        "DELETE": lambda: client.webhook_endpoints.delete("we_1"),
        "POST": lambda: client.loans.cancel("loan_1"),
    }
    with pytest.raises(lb.APIConnectionError) as info:
        calls[method]()
    assert info.value.should_retry
    assert [s.method for s in transport.sent] == [method] * 3 and sleeps == [0.5, 1.0]
