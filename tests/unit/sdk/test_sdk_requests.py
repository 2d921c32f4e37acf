"""Each SDK method sends the right method, path, query, headers and body (stubbed transport),
and POSTs carry one Idempotency-Key per logical call."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sdk_fakes import FakeTransport, make_client, obj, ok, problem

import lendbridge_sdk as lb

Call = Callable[[lb.Client], Any]

# (name, call, method, path, query, body, typed class of the result)
CALLS: list[tuple[str, Call, str, str, dict[str, list[str]], Any, type[lb.LendBridgeObject]]] = [
    ("account.retrieve", lambda c: c.account.retrieve(), "GET", "/v1/account", {}, None, lb.Account),
    (
        "borrowers.create",
        lambda c: c.borrowers.create(type="individual", name="李明", phone="13812345678"),
        "POST",
        "/v1/borrowers",
        {},
        {"type": "individual", "name": "李明", "phone": "13812345678"},
        lb.Borrower,
    ),
    (
        "borrowers.retrieve",
        lambda c: c.borrowers.retrieve("brw_1"),
        "GET",
        "/v1/borrowers/brw_1",
        {},
        None,
        lb.Borrower,
    ),
    (
        "borrowers.list",
        lambda c: c.borrowers.list(id_number="11010519491231002X", limit=1),
        "GET",
        "/v1/borrowers",
        {"id_number": ["11010519491231002X"], "limit": ["1"]},
        None,
        lb.Borrower,
    ),
    (
        "borrowers.list by phone",
        lambda c: c.borrowers.list(phone="13812345678"),
        "GET",
        "/v1/borrowers",
        {"phone": ["13812345678"]},
        None,
        lb.Borrower,
    ),
    (
        "borrowers.erase",
        lambda c: c.borrowers.erase("brw_1"),
        "POST",
        "/v1/borrowers/brw_1/erase",
        {},
        {},
        lb.Borrower,
    ),
    (
        "borrowers.create_consent",
        lambda c: c.borrowers.create_consent("brw_1", kind="credit_bureau_query", version="2026-01"),
        "POST",
        "/v1/borrowers/brw_1/consents",
        {},
        {"kind": "credit_bureau_query", "version": "2026-01"},
        lb.LendBridgeObject,
    ),
    (
        "borrowers.list_consents",
        lambda c: c.borrowers.list_consents("brw_1"),
        "GET",
        "/v1/borrowers/brw_1/consents",
        {},
        None,
        lb.LendBridgeObject,
    ),
    (
        "borrowers.create_liveness_check",
        lambda c: c.borrowers.create_liveness_check("brw_1"),
        "POST",
        "/v1/borrowers/brw_1/liveness_checks",
        {},
        {},
        lb.LendBridgeObject,
    ),
    (
        "borrowers.retrieve_liveness_check",
        lambda c: c.borrowers.retrieve_liveness_check("brw_1", "lvc_1"),
        "GET",
        "/v1/borrowers/brw_1/liveness_checks/lvc_1",
        {},
        None,
        lb.LendBridgeObject,
    ),
    (
        "loans.disburse",
        lambda c: c.loans.disburse("loan_1"),
        "POST",
        "/v1/loans/loan_1/disburse",
        {},
        {},
        lb.LendBridgeObject,
    ),
    (
        "loans.disbursement",
        lambda c: c.loans.disbursement("loan_1"),
        "GET",
        "/v1/loans/loan_1/disbursement",
        {},
        None,
        lb.LendBridgeObject,
    ),
    (
        "loans.create_mandate",
        lambda c: c.loans.create_mandate("loan_1"),
        "POST",
        "/v1/loans/loan_1/mandate",
        {},
        {},
        lb.LendBridgeObject,
    ),
    (
        "applications.create",
        lambda c: c.applications.create(borrower="brw_1", amount=1_000_000, term=12),
        "POST",
        "/v1/applications",
        {},
        {"borrower": "brw_1", "amount": 1_000_000, "term": 12},
        lb.Application,
    ),
    (
        "applications.retrieve",
        lambda c: c.applications.retrieve("app_1"),
        "GET",
        "/v1/applications/app_1",
        {},
        None,
        lb.Application,
    ),
    (
        "applications.list",
        lambda c: c.applications.list(),
        "GET",
        "/v1/applications",
        {},
        None,
        lb.Application,
    ),
    (
        "applications.accept",
        lambda c: c.applications.accept("app_1", offer_id="ofr_1"),
        "POST",
        "/v1/applications/app_1/accept",
        {},
        {"offer_id": "ofr_1"},
        lb.LendBridgeObject,
    ),
    (
        "applications.decision",
        lambda c: c.applications.decision("app_1"),
        "GET",
        "/v1/applications/app_1/decision",
        {},
        None,
        lb.Decision,
    ),
    ("loans.retrieve", lambda c: c.loans.retrieve("loan_1"), "GET", "/v1/loans/loan_1", {}, None, lb.Loan),
    (
        "loans.list",
        lambda c: c.loans.list(status="active", limit=100),
        "GET",
        "/v1/loans",
        {"status": ["active"], "limit": ["100"]},
        None,
        lb.Loan,
    ),
    (
        "loans.schedule",
        lambda c: c.loans.schedule("loan_1"),
        "GET",
        "/v1/loans/loan_1/schedule",
        {},
        None,
        lb.LendBridgeObject,
    ),
    (
        "loans.debit_now",
        lambda c: c.loans.debit_now("loan_1", amount=105_000),
        "POST",
        "/v1/loans/loan_1/debits",
        {},
        {"amount": 105_000},
        lb.LendBridgeObject,
    ),
    (
        "loans.agreement",
        lambda c: c.loans.agreement("loan_1", signer="brw_1 (face + SMS)"),
        "GET",
        "/v1/loans/loan_1/agreement",
        {"signer": ["brw_1 (face + SMS)"]},
        None,
        lb.LendBridgeObject,
    ),
    (
        "loans.statement",
        lambda c: c.loans.statement("loan_1"),
        "GET",
        "/v1/loans/loan_1/statement",
        {},
        None,
        lb.LendBridgeObject,
    ),
    (
        "loans.create_repayment",
        lambda c: c.loans.create_repayment("loan_1", amount=88_849),
        "POST",
        "/v1/loans/loan_1/repayments",
        {},
        {"amount": 88_849},
        lb.Repayment,
    ),
    (
        "loans.list_repayments",
        lambda c: c.loans.list_repayments("loan_1", limit=10),
        "GET",
        "/v1/loans/loan_1/repayments",
        {"limit": ["10"]},
        None,
        lb.Repayment,
    ),
    (
        "loans.payoff_quote",
        lambda c: c.loans.payoff_quote("loan_1", date="2027-03-01"),
        "POST",
        "/v1/loans/loan_1/payoff_quote",
        {},
        {"date": "2027-03-01"},
        lb.LendBridgeObject,
    ),
    (
        "loans.create_prepayment",
        lambda c: c.loans.create_prepayment("loan_1", amount=100_000, mode="shorten_term"),
        "POST",
        "/v1/loans/loan_1/prepayments",
        {},
        {"amount": 100_000, "mode": "shorten_term"},
        lb.Repayment,
    ),
    (
        "loans.sign",
        lambda c: c.loans.sign("loan_1", signature="李明"),
        "POST",
        "/v1/loans/loan_1/sign",
        {},
        {"signature": "李明"},
        lb.Loan,
    ),
    ("loans.cancel", lambda c: c.loans.cancel("loan_1"), "POST", "/v1/loans/loan_1/cancel", {}, {}, lb.Loan),
    (
        "credit_lines.retrieve",
        lambda c: c.credit_lines.retrieve("cl_1"),
        "GET",
        "/v1/credit_lines/cl_1",
        {},
        None,
        lb.CreditLine,
    ),
    (
        "credit_lines.list",
        lambda c: c.credit_lines.list(),
        "GET",
        "/v1/credit_lines",
        {},
        None,
        lb.CreditLine,
    ),
    (
        "credit_lines.create_draw",
        lambda c: c.credit_lines.create_draw("cl_1", amount=50_000),
        "POST",
        "/v1/credit_lines/cl_1/draws",
        {},
        {"amount": 50_000},
        lb.Draw,
    ),
    (
        "credit_lines.list_draws",
        lambda c: c.credit_lines.list_draws("cl_1"),
        "GET",
        "/v1/credit_lines/cl_1/draws",
        {},
        None,
        lb.Draw,
    ),
    (
        "products.create",
        lambda c: c.products.create(name="Course loan", rate="0.0600"),
        "POST",
        "/v1/products",
        {},
        {"name": "Course loan", "rate": "0.0600"},
        lb.Product,
    ),
    (
        "products.retrieve",
        lambda c: c.products.retrieve("prod_1"),
        "GET",
        "/v1/products/prod_1",
        {},
        None,
        lb.Product,
    ),
    ("products.list", lambda c: c.products.list(), "GET", "/v1/products", {}, None, lb.Product),
    (
        "webhook_endpoints.create",
        lambda c: c.webhook_endpoints.create(url="https://partner.example/hooks", enabled_events=["loan.*"]),
        "POST",
        "/v1/webhook_endpoints",
        {},
        {"url": "https://partner.example/hooks", "enabled_events": ["loan.*"]},
        lb.WebhookEndpoint,
    ),
    (
        "webhook_endpoints.retrieve",
        lambda c: c.webhook_endpoints.retrieve("we_1"),
        "GET",
        "/v1/webhook_endpoints/we_1",
        {},
        None,
        lb.WebhookEndpoint,
    ),
    (
        "webhook_endpoints.list",
        lambda c: c.webhook_endpoints.list(),
        "GET",
        "/v1/webhook_endpoints",
        {},
        None,
        lb.WebhookEndpoint,
    ),
    (
        "webhook_endpoints.delete",
        lambda c: c.webhook_endpoints.delete("we_1"),
        "DELETE",
        "/v1/webhook_endpoints/we_1",
        {},
        None,
        lb.WebhookEndpoint,
    ),
    (
        "webhook_endpoints.rotate_secret",
        lambda c: c.webhook_endpoints.rotate_secret("we_1"),
        "POST",
        "/v1/webhook_endpoints/we_1/rotate_secret",
        {},
        {},
        lb.WebhookEndpoint,
    ),
    (
        "webhook_endpoints.list_attempts",
        lambda c: c.webhook_endpoints.list_attempts("we_1"),
        "GET",
        "/v1/webhook_endpoints/we_1/attempts",
        {},
        None,
        lb.DeliveryAttempt,
    ),
    ("events.retrieve", lambda c: c.events.retrieve("evt_1"), "GET", "/v1/events/evt_1", {}, None, lb.Event),
    (
        "events.list",
        lambda c: c.events.list(type="loan.disbursed"),
        "GET",
        "/v1/events",
        {"type": ["loan.disbursed"]},
        None,
        lb.Event,
    ),
    (
        "events.resend",
        lambda c: c.events.resend("evt_1"),
        "POST",
        "/v1/events/evt_1/resend",
        {},
        {},
        lb.LendBridgeObject,
    ),
    (
        "widget_sessions.create",
        lambda c: c.widget_sessions.create(borrower="brw_1"),
        "POST",
        "/v1/widget_sessions",
        {},
        {"borrower": "brw_1"},
        lb.WidgetSession,
    ),
    (
        "widget_sessions.retrieve",
        lambda c: c.widget_sessions.retrieve("ws_1"),
        "GET",
        "/v1/widget_sessions/ws_1",
        {},
        None,
        lb.WidgetSession,
    ),
    (
        "test_clocks.create",
        lambda c: c.test_clocks.create(frozen_time=1_767_225_600, name="month end"),
        "POST",
        "/v1/test_clocks",
        {},
        {"frozen_time": 1_767_225_600, "name": "month end"},
        lb.TestClock,
    ),
    (
        "test_clocks.retrieve",
        lambda c: c.test_clocks.retrieve("clock_1"),
        "GET",
        "/v1/test_clocks/clock_1",
        {},
        None,
        lb.TestClock,
    ),
    ("test_clocks.list", lambda c: c.test_clocks.list(), "GET", "/v1/test_clocks", {}, None, lb.TestClock),
    (
        "test_clocks.advance",
        lambda c: c.test_clocks.advance("clock_1", frozen_time=1_769_904_000),
        "POST",
        "/v1/test_clocks/clock_1/advance",
        {},
        {"frozen_time": 1_769_904_000},
        lb.TestClock,
    ),
    (
        "test_clocks.delete",
        lambda c: c.test_clocks.delete("clock_1"),
        "DELETE",
        "/v1/test_clocks/clock_1",
        {},
        None,
        lb.TestClock,
    ),
]


@pytest.mark.parametrize(
    ("name", "call", "method", "path", "query", "body", "cls"), CALLS, ids=[c[0] for c in CALLS]
)
def test_method_sends_the_documented_request(
    name: str,
    call: Call,
    method: str,
    path: str,
    query: dict[str, list[str]],
    body: Any,
    cls: type[lb.LendBridgeObject],
) -> None:
    item = obj(cls.OBJECT_NAME or "thing")
    is_list = ".list" in name
    answer = ok({"object": "list", "data": [item], "has_more": False, "url": path} if is_list else item)
    transport = FakeTransport(default=answer)
    client, _ = make_client(transport)

    result = call(client)

    (sent,) = transport.sent
    assert (sent.method, sent.path, sent.query) == (method, path, query)
    assert sent.url.startswith("http://127.0.0.1:8000/v1/")
    assert sent.json == body
    assert sent.headers["Authorization"] == "Bearer sk_test_abc"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["User-Agent"] == f"lendbridge-sdk-python/{lb.__version__}"
    assert sent.timeout == 30.0
    if method == "POST":
        assert sent.headers["Content-Type"] == "application/json"
        assert uuid.UUID(sent.headers["Idempotency-Key"]).version == 4
    else:
        assert "Idempotency-Key" not in sent.headers
    if is_list:
        assert isinstance(result, lb.ListObject)
        result = result.data[0]
    assert isinstance(result, cls)
    assert result.last_response is None or result.last_response.request_id == "req_ok"


def test_every_service_method_is_covered_by_the_table() -> None:
    client, _ = make_client(FakeTransport())
    services = [
        "account", "borrowers", "applications", "loans", "credit_lines", "products",
        "webhook_endpoints", "events", "widget_sessions", "test_clocks",
    ]  # fmt: skip
    public = {
        f"{service}.{method}"
        for service in services
        for method in dir(getattr(client, service))
        if not method.startswith("_")
    }
    assert public == {c[0].split(" ")[0] for c in CALLS}


def test_ids_are_escaped_in_paths() -> None:
    transport = FakeTransport()
    client, _ = make_client(transport)
    client.loans.retrieve("loan_1/../../admin?x=1")
    assert transport.sent[0].url == "http://127.0.0.1:8000/v1/loans/loan_1%2F..%2F..%2Fadmin%3Fx%3D1"


@pytest.mark.parametrize("bad", ["", "  "])
def test_empty_id_is_refused_before_any_request(bad: str) -> None:
    transport = FakeTransport()
    client, _ = make_client(transport)
    with pytest.raises(ValueError, match="non-empty"):
        client.loans.retrieve(bad)
    assert transport.sent == []


def test_list_filters_are_encoded() -> None:
    transport = FakeTransport(default=ok({"object": "list", "data": [], "has_more": False}))
    client, _ = make_client(transport)
    client.loans.list(created={"gte": 1, "lt": 2}, overdue=True, status=None, ids=["loan_1", "loan_2"])
    assert transport.sent[0].query == {
        "created[gte]": ["1"],
        "created[lt]": ["2"],
        "overdue": ["true"],
        "ids[]": ["loan_1", "loan_2"],
    }


def test_money_and_rates_are_sent_and_returned_unconverted() -> None:
    transport = FakeTransport(default=ok(obj("loan", principal=1_000_000, apr="0.0617", rate="0.0600")))
    client, _ = make_client(transport)
    client.loans.create_repayment("loan_1", amount=88_849)
    assert transport.sent[0].body == b'{"amount":88849}'
    loan = client.loans.retrieve("loan_1")
    assert (loan.principal, loan.apr, loan.rate) == (1_000_000, "0.0617", "0.0600")


def test_base_url_and_timeout_are_used() -> None:
    transport = FakeTransport()
    client, _ = make_client(transport, base_url="https://api.lendbridge.example/", timeout=5.0)
    client.account.retrieve()
    assert transport.sent[0].url == "https://api.lendbridge.example/v1/account"
    assert transport.sent[0].timeout == 5.0


def test_idempotency_key_is_generated_once_and_reused_on_every_retry() -> None:
    transport = FakeTransport(
        lb.APIConnectionError("reset", should_retry=True),
        problem(503, "service_unavailable"),
        ok(obj("borrower")),
    )
    client, _ = make_client(transport)
    client.borrowers.create(type="individual")
    keys = {sent.headers["Idempotency-Key"] for sent in transport.sent}
    assert len(transport.sent) == 3 and len(keys) == 1


def test_each_logical_call_gets_its_own_key() -> None:
    transport = FakeTransport()
    client, _ = make_client(transport)
    client.borrowers.create(type="individual")
    client.borrowers.create(type="individual")
    assert transport.sent[0].headers["Idempotency-Key"] != transport.sent[1].headers["Idempotency-Key"]


def test_callers_key_is_never_replaced_even_across_retries() -> None:
    transport = FakeTransport(
        problem(409, "lock_conflict"), problem(500, "internal_error"), ok(obj("repayment"))
    )
    client, _ = make_client(transport)
    client.loans.create_repayment("loan_1", amount=100, idempotency_key="order-42-repay-1")
    assert [s.headers["Idempotency-Key"] for s in transport.sent] == ["order-42-repay-1"] * 3
    assert "idempotency_key" not in transport.sent[0].json


def test_idempotent_replay_is_exposed() -> None:
    transport = FakeTransport(
        ok(obj("borrower"), headers={"Idempotent-Replayed": "true"}), ok(obj("borrower"))
    )
    client, _ = make_client(transport)
    first = client.borrowers.create(type="individual", idempotency_key="k1")
    second = client.borrowers.create(type="individual", idempotency_key="k2")
    assert first.last_response is not None and first.last_response.idempotent_replayed
    assert second.last_response is not None and not second.last_response.idempotent_replayed
    assert first.last_response.request_id == "req_ok" and first.last_response.status == 200


def test_reused_key_with_other_parameters_raises_idempotency_error() -> None:
    transport = FakeTransport(problem(409, "idempotency_key_reused"))
    client, sleeps = make_client(transport)
    with pytest.raises(lb.IdempotencyError):
        client.borrowers.create(type="business", idempotency_key="k1")
    assert len(transport.sent) == 1 and sleeps == []


def test_missing_key_has_an_actionable_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LENDBRIDGE_API_KEY", raising=False)
    with pytest.raises(lb.AuthenticationError, match=r"Client\(api_key='sk_test_\.\.\.'\)"):
        lb.Client()


def test_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDBRIDGE_API_KEY", "sk_test_env")
    transport = FakeTransport()
    lb.Client(transport=transport).account.retrieve()
    assert transport.sent[0].headers["Authorization"] == "Bearer sk_test_env"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"api_key": "sk_test_a", "client_id": "cli_1", "client_secret": "s"}, ValueError),
        ({"client_id": "cli_1"}, ValueError),
        ({"client_secret": "s"}, ValueError),
        ({"api_key": ""}, lb.AuthenticationError),
        ({"api_key": "sk_test_ a"}, lb.AuthenticationError),
        ({"api_key": "whsec_abc"}, lb.AuthenticationError),
        ({"api_key": "sk_test_a", "max_retries": -1}, ValueError),
        ({"api_key": "sk_test_a", "timeout": 0}, ValueError),
        ({"api_key": "sk_test_a", "base_url": "127.0.0.1:8000"}, ValueError),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        lb.Client(**kwargs)


def test_options_after_the_key_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        lb.Client("sk_test_a", "http://127.0.0.1:9000")  # type: ignore[call-arg]


def test_repr_does_not_show_the_key() -> None:
    client = lb.Client("sk_test_secretvalue")
    assert "secretvalue" not in repr(client)
    client.close()


def test_client_is_a_context_manager() -> None:
    with lb.Client("sk_test_a") as client:
        assert client.max_retries == 2 and client.base_url == "http://127.0.0.1:8000"
