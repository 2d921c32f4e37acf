"""The real requests transport end to end, against a tiny local Flask app that answers like
the LendBridge API (problem+json errors, X-Request-Id, idempotent replays, cursor lists)."""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

import lendbridge_sdk as lb

KEY = "sk_test_" + "a" * 24


def create_app() -> Flask:
    app = Flask(__name__)
    request_ids = itertools.count(1)
    replays: dict[str, Any] = {}
    account_calls = itertools.count()
    loans = [
        {"id": f"loan_{n:02d}", "object": "loan", "principal": n * 100, "status": "active"}
        for n in range(7, 0, -1)
    ]

    def problem(status: int, code: str, detail: str, param: str | None = None, **headers: str) -> Response:
        body = {"type": "about:blank", "title": detail, "status": status, "detail": detail, "code": code}
        body["param"] = param
        body["request_id"] = request.environ["request_id"]
        response = jsonify(body)
        response.status_code = status
        response.mimetype = "application/problem+json"
        response.headers.update(headers)
        return response

    @app.before_request
    def authenticate() -> Response | None:
        request.environ["request_id"] = f"req_{next(request_ids)}"
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return problem(401, "api_key_invalid", "Invalid API key")
        return None

    @app.after_request
    def tag(response: Response) -> Response:
        response.headers["X-Request-Id"] = request.environ["request_id"]
        return response

    @app.get("/v1/account")
    def account() -> Response:
        if next(account_calls) == 0:
            return problem(503, "service_unavailable", "Try again")
        return jsonify({"id": "ten_1", "object": "account", "name": "Demo school", "livemode": False})

    @app.post("/v1/borrowers")
    def create_borrower() -> tuple[Response, int, dict[str, str]]:
        key = request.headers["Idempotency-Key"]
        params = request.get_json()
        if key in replays:
            if replays[key]["params"] != params:
                return problem(409, "idempotency_key_reused", "Key reused"), 409, {}
            return jsonify(replays[key]["body"]), 201, {"Idempotent-Replayed": "true"}
        if not str(params.get("id_number", "")).endswith("X"):
            return problem(422, "parameter_invalid", "Bad ID number", param="id_number"), 422, {}
        body = {
            "id": f"brw_{len(replays) + 1}",
            "object": "borrower",
            "type": params["type"],
            "name": params["name"],
        }
        replays[key] = {"params": params, "body": body}
        return jsonify(body), 201, {}

    @app.get("/v1/loans")
    def list_loans() -> Response:
        limit = int(request.args.get("limit", 10))
        after = request.args.get("starting_after")
        start = next((i + 1 for i, loan in enumerate(loans) if loan["id"] == after), 0)
        data = loans[start : start + limit]
        return jsonify(
            {"object": "list", "data": data, "has_more": start + limit < len(loans), "url": "/v1/loans"}
        )

    @app.get("/v1/loans/<loan_id>")
    def retrieve_loan(loan_id: str) -> Response:
        loan = next((loan for loan in loans if loan["id"] == loan_id), None)
        if loan is None:
            return problem(404, "resource_missing", f"No such loan: {loan_id}", param="id")
        return jsonify(loan)

    return app


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def client(base_url: str) -> Iterator[lb.Client]:
    sleeps: list[float] = []
    with lb.Client(KEY, base_url=base_url, sleep=sleeps.append, timeout=5.0) as client:
        yield client


def test_create_and_idempotent_replay(client: lb.Client) -> None:
    params = {"type": "individual", "name": "李明", "id_number": "11010519491231002X"}
    first = client.borrowers.create(**params, idempotency_key="live-1")
    again = client.borrowers.create(**params, idempotency_key="live-1")
    assert isinstance(first, lb.Borrower) and first.id.startswith("brw_") and first.name == "李明"
    assert again.id == first.id
    assert first.last_response is not None and not first.last_response.idempotent_replayed
    assert again.last_response is not None and again.last_response.idempotent_replayed
    assert first.last_response.status == 201 and first.last_response.request_id


def test_reused_key_with_other_parameters(client: lb.Client) -> None:
    client.borrowers.create(type="individual", name="王芳", id_number="1X", idempotency_key="live-2")
    with pytest.raises(lb.IdempotencyError) as info:
        client.borrowers.create(type="individual", name="张伟", id_number="1X", idempotency_key="live-2")
    assert info.value.status == 409 and info.value.request_id


def test_validation_error_names_the_field(client: lb.Client) -> None:
    with pytest.raises(lb.InvalidRequestError) as info:
        client.borrowers.create(type="individual", name="李明", id_number="123")
    assert (info.value.status, info.value.code, info.value.param) == (422, "parameter_invalid", "id_number")


def test_not_found_keeps_request_id(client: lb.Client) -> None:
    with pytest.raises(lb.NotFoundError) as info:
        client.loans.retrieve("loan_doesnotexist")
    error = info.value
    assert error.request_id and error.request_id.startswith("req_")
    assert str(error).startswith(error.request_id)
    assert error.headers["content-type"] == "application/problem+json"
    assert error.json_body is not None and error.json_body["code"] == "resource_missing"


def test_wrong_key_is_an_authentication_error(base_url: str) -> None:
    with pytest.raises(lb.AuthenticationError) as info:
        lb.Client("sk_test_" + "z" * 24, base_url=base_url).borrowers.list()
    assert info.value.code == "api_key_invalid"


def test_server_error_is_retried(client: lb.Client) -> None:
    account = client.account.retrieve()
    assert isinstance(account, lb.Account) and account.name == "Demo school"


def test_auto_pagination_over_http(client: lb.Client) -> None:
    loans = list(client.loans.list(limit=3).auto_paging_iter())
    assert [loan.id for loan in loans] == [f"loan_{n:02d}" for n in range(7, 0, -1)]
    assert all(isinstance(loan, lb.Loan) for loan in loans)


def test_connection_refused_is_retried_then_raised() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    with lb.Client(KEY, base_url=f"http://127.0.0.1:{port}", sleep=sleeps.append, timeout=2.0) as client:
        with pytest.raises(lb.APIConnectionError) as info:
            client.loans.retrieve("loan_1")
    assert info.value.should_retry and len(sleeps) == 2
