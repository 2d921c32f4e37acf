"""problem+json answers become the pinned error classes, keeping what the server said."""

from __future__ import annotations

import json

import pytest
from sdk_fakes import FakeTransport, make_client, problem

import lendbridge_sdk as lb
from lendbridge_sdk._errors import error_from_response, parse_retry_after

TABLE = [
    (400, "parameter_invalid", lb.InvalidRequestError),
    (422, "apr_cap_exceeded", lb.InvalidRequestError),
    (401, "api_key_invalid", lb.AuthenticationError),
    (401, "token_expired", lb.AuthenticationError),
    (403, "scope_insufficient", lb.PermissionError),
    (404, "resource_missing", lb.NotFoundError),
    (405, "method_not_allowed", lb.InvalidRequestError),
    (409, "idempotency_key_reused", lb.IdempotencyError),
    (409, "illegal_transition", lb.InvalidRequestError),
    (409, "conflict", lb.InvalidRequestError),
    (409, "lock_conflict", lb.APIError),
    (409, "request_in_progress", lb.APIError),
    (415, "unsupported_media_type", lb.InvalidRequestError),
    (429, "rate_limited", lb.RateLimitError),
    (500, "internal_error", lb.APIError),
    (502, None, lb.APIError),
    (503, "service_unavailable", lb.APIError),
]


@pytest.mark.parametrize(("status", "code", "cls"), TABLE, ids=[f"{s}-{c}" for s, c, _ in TABLE])
def test_status_and_code_map_to_one_class(
    status: int, code: str | None, cls: type[lb.LendBridgeError]
) -> None:
    answer = problem(status, code, detail="Loan amount too high", param="amount", request_id="req_9")
    error = error_from_response(status, json.loads(answer.body), answer.headers)
    assert type(error) is cls
    assert (error.status, error.code, error.param, error.request_id) == (status, code, "amount", "req_9")
    assert error.detail == "Loan amount too high"
    assert error.json_body is not None and error.json_body["status"] == status
    assert error.headers["content-type"] == "application/problem+json"
    assert str(error).startswith("req_9: Loan amount too high")


@pytest.mark.parametrize(("status", "code", "cls"), TABLE, ids=[f"{s}-{c}" for s, c, _ in TABLE])
def test_the_client_raises_the_mapped_class(
    status: int, code: str | None, cls: type[lb.LendBridgeError]
) -> None:
    transport = FakeTransport(default=problem(status, code, param="amount", request_id="req_7"))
    client, _ = make_client(transport, max_retries=0)
    with pytest.raises(cls) as info:
        client.applications.create(amount=10**12)
    assert (info.value.status, info.value.code, info.value.param, info.value.request_id) == (
        status,
        code,
        "amount",
        "req_7",
    )
    assert isinstance(info.value, lb.LendBridgeError)


def test_request_id_falls_back_to_the_header() -> None:
    error = error_from_response(404, {"code": "resource_missing"}, {"x-request-id": "req_hdr"})
    assert error.request_id == "req_hdr" and str(error).startswith("req_hdr: ")


def test_header_lookup_is_case_insensitive() -> None:
    error = error_from_response(429, {"code": "rate_limited"}, {"X-Request-Id": "req_1", "Retry-After": "5"})
    assert isinstance(error, lb.RateLimitError)
    assert error.request_id == "req_1" and error.retry_after == 5.0


def test_non_json_error_body_is_kept_as_detail() -> None:
    error = error_from_response(502, "<html>Bad gateway</html>", {})
    assert isinstance(error, lb.APIError)
    assert error.detail == "<html>Bad gateway</html>" and error.json_body is None and error.code is None
    assert str(error) == "<html>Bad gateway</html>"


def test_empty_error_body() -> None:
    error = error_from_response(500, "", {})
    assert str(error) == "HTTP 500" and error.request_id is None


def test_message_names_the_code() -> None:
    error = error_from_response(422, {"detail": "APR above 24%", "code": "apr_cap_exceeded"}, {})
    assert error.message == "APR above 24% (apr_cap_exceeded)"
    assert "InvalidRequestError" in repr(error) and "apr_cap_exceeded" in repr(error)


def test_unexpected_status_is_an_api_error() -> None:
    assert type(error_from_response(302, {}, {})) is lb.APIError


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("3", 3.0), (" 1.5 ", 1.5), ("-1", None), ("soon", None), ("nan", None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_success_body_that_is_not_json_is_an_api_error() -> None:
    transport = FakeTransport(lb.HTTPResponse(200, {"X-Request-Id": "req_x"}, b"<html>"))
    client, _ = make_client(transport)
    with pytest.raises(lb.APIError, match="not a JSON object") as info:
        client.account.retrieve()
    assert info.value.request_id == "req_x"
