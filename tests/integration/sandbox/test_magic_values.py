"""Each row of the "Magic values" table in docs/sandbox.md, checked against the sandbox.

Each case drives the public HTTP API in test mode (embedded SQLite, in-process
simulators) the way a partner's own test suite would: an institution registers its
products and custody account, the partner creates borrowers carrying the magic value,
runs liveness checks, applies, accepts, signs, disburses and lets a test clock run the
auto-debits; the widget verifies a phone with the magic code.

The table itself is parsed from the docs, and `test_every_documented_magic_value_has_a_case`
fails when a row has no case here (or a case outlived its row), so a magic value cannot
be documented without a test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lendbridge.payments.runtime import runtime as payments_runtime
from lendbridge.risk.runtime import runtime as risk_runtime
from lendbridge.tenancy.domain import TenantKind
from tests.conftest import REPO
from tests.factories.identity import company, phone, wait_for_check
from tests.factories.loans import noon
from tests.factories.payments import AMBIGUOUS_CARD, INSUFFICIENT_CARD, TIMEOUT_CARD
from tests.factories.risk import (
    Keys,
    application,
    fast_bureau,
    magic_id,
    magic_uscc,
    partner_and_operator,
    ready_borrower,
)
from tests.factories.tenancy import auth, make_tenant
from tests.factories.widget import create_session, make_partner, verify_phone, widget_headers

SANDBOX_DOC = REPO / "docs" / "sandbox.md"

GRID = {"A": "0.06", "B": "0.09", "C": "0.12", "D": "0.15", "E": "0.18"}
INSTALMENTS: dict[str, Any] = {
    "name": "Course instalments",
    "kind": "instalment",
    "borrower_type": "individual",
    "methods": ["equal_instalment"],
    "amount": {"min": 500_000, "max": 20_000_000},
    "term": {"min": 3, "max": 12},
    "rate": {"min": "0.06", "max": "0.18"},
    "penalty_rate": "0.27",
    "rate_grid": GRID,
}
BUSINESS_LINE: dict[str, Any] = {
    "name": "POS-flow business line",
    "kind": "credit_line",
    "borrower_type": "business",
    "methods": [],
    "amount": {"min": 10_000_000, "max": 100_000_000},
    "term": {"min": 12, "max": 12},
    "rate": {"min": "0.06", "max": "0.18"},
    "penalty_rate": "0.27",
    "rate_grid": GRID,
}
CUSTODY_ACCOUNT = {
    "bank_name": "China Merchants Bank",
    "bank_code": "CMB",
    "account_number": "6214830000001234",
    "account_holder": "Huaxia Consumer Finance Co., Ltd.",
}
TO_THE_SCHOOL = {
    "merchant_id": "school_demo",
    "disburse_to_merchant": True,
    "tuition": 3_000_000,
    "enrolment_confirmed": True,
}
BUREAU_SEQUENCES = ("995", "996", "997", "998", "999")
USCC_ROW = "the same three characters at the same positions"
DECISION_BOUND_SECONDS = 2.0

# -- which test covers which row of the table ------------------------------------------------------

COVERED: dict[str, str] = {}
"""Magic value -> how the `where` cell of its row starts."""

CaseFn = TypeVar("CaseFn", bound=Callable[..., None])


def covers(where: str, *values: str) -> Callable[[CaseFn], CaseFn]:
    """Register the decorated test as a case for these rows of the table."""

    def register(test: CaseFn) -> CaseFn:
        for value in values:
            assert COVERED.setdefault(value, where) == where, f"{value!r} registered under two rows"
        return test

    return register


def documented_magic_values() -> list[tuple[str, str]]:
    """The (where, value) rows of the "Magic values" table; a blank `where` repeats the last."""
    text = SANDBOX_DOC.read_text(encoding="utf-8")
    assert "\n## Magic values\n" in text, "docs/sandbox.md has no '## Magic values' section"
    section = text.split("\n## Magic values\n", 1)[1].split("\n## ", 1)[0]
    rows: list[tuple[str, str]] = []
    where = ""
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        # Only the first two cells are split off: the description may contain anything.
        cells = [cell.strip() for cell in line.strip().strip("|").split("|", 2)]
        if cells[:2] == ["where", "value"] or set("".join(cells)) <= {"-"}:
            continue
        where = cells[0] or where
        rows.append((where, cells[1].strip("`")))
    return rows


def test_every_documented_magic_value_has_a_case() -> None:
    rows = documented_magic_values()
    assert rows, "the Magic values table of docs/sandbox.md has no rows"
    missing = [(w, v) for w, v in rows if v not in COVERED or not w.startswith(COVERED[v])]
    assert not missing, f"rows of the Magic values table in docs/sandbox.md without a case here: {missing}"
    stale = sorted(set(COVERED) - {value for _, value in rows})
    assert not stale, f"cases for values no longer in the Magic values table: {stale}"


# -- a partner's sandbox ---------------------------------------------------------------------------


@dataclass
class Sandbox:
    """EduLink (a partner with a school), platform staff, and an institution whose products and
    custody account were registered through the API. Calls go out with the partner's test key."""

    app: Flask
    client: FlaskClient
    keys: Keys

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, status: int = 200) -> Any:
        resp = self.client.open(path, method=method, json=body, headers=auth(self.keys.partner))
        assert resp.status_code == status, (method, path, resp.status_code, resp.get_json())
        return resp.get_json()

    def borrower(self, **fields: Any) -> tuple[str, list[str]]:
        """A borrower with both consents; KYC `verified` unless `kyc` says otherwise."""
        return ready_borrower(self.app, self.client, self.keys.partner, **fields)

    def apply(self, borrower_id: str, consent_ids: list[str], **overrides: Any) -> dict[str, Any]:
        body = application(borrower_id, consent_ids, **overrides)
        if body.get("credit_line"):
            del body["term"]
        data: dict[str, Any] = self.call("POST", "/v1/applications", body, status=201)
        return data

    def record(self, application_id: str) -> dict[str, Any]:
        record: dict[str, Any] = self.call("GET", f"/v1/applications/{application_id}/decision")["record"]
        return record

    def signed_loan(self, card: str, *, test_clock: str | None = None, to_merchant: bool = False) -> str:
        """An approved, accepted and signed loan of a borrower whose card on file is `card`."""
        fields: dict[str, Any] = {"bank_card": card}
        if test_clock:
            fields["test_clock"] = test_clock
        borrower_id, consents = self.borrower(**fields)
        overrides = {"scenario": TO_THE_SCHOOL} if to_merchant else {}
        data = self.apply(borrower_id, consents, **overrides)
        assert data["status"] == "approved", data["reason_codes"]
        accepted = self.call(
            "POST", f"/v1/applications/{data['id']}/accept", {"offer_id": data["offers"][0]["id"]}
        )
        loan_id = str(accepted["loan"])
        self.call("POST", f"/v1/loans/{loan_id}/sign", {"signer": borrower_id, "ip": "203.0.113.7"})
        return loan_id

    def disburse(self, loan_id: str) -> dict[str, Any]:
        """Start the payout and wait for its outcome; the payment with every channel attempt."""
        self.call("POST", f"/v1/loans/{loan_id}/disburse", {}, status=201)

        def engine_done(payment: dict[str, Any]) -> bool:
            # A channel's callback can settle the payment before the engine stores what it
            # saw (its submit's result, any status query), which it does in one commit.
            noted = any(a["operation"] == "submit" and a["result"] != "sent" for a in payment["attempts"])
            return noted and payment["status"] not in ("pending", "processing")

        return self.wait(f"/v1/loans/{loan_id}/disbursement", engine_done)

    def wait(
        self, path: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = self.call("GET", path)
            if done(body):
                return body
            assert time.monotonic() < deadline, f"{path} still {body.get('status')} after {timeout} s"
            time.sleep(0.05)

    def executions(self, instruction_id: str) -> list[str]:
        """The channels that really executed the instruction (the simulators' own ledgers)."""
        return list(payments_runtime(self.app).simulators.executions().get(instruction_id, []))


@pytest.fixture
def world(app: Flask) -> Sandbox:
    # Near-zero simulated latency, so that only the magic "hang" can exceed the 200 ms
    # bureau budget on a loaded machine.
    fast_bureau(app)
    keys = partner_and_operator(app)
    institution = make_tenant(app, TenantKind.INSTITUTION, "Huaxia Consumer Finance")
    client = app.test_client()
    for path, body in (
        ("/v1/products", INSTALMENTS),
        ("/v1/products", BUSINESS_LINE),
        ("/v1/custody_accounts", CUSTODY_ACCOUNT),
    ):
        resp = client.post(path, json=body, headers=auth(institution.test_key))
        assert resp.status_code == 201, resp.get_json()
    return Sandbox(app, client, keys)


# -- credit bureau: ID number and USCC sequence codes ---------------------------------------------


def assert_bureau_behaviour(world: Sandbox, sequence: str, data: dict[str, Any], seconds: float) -> None:
    """What the table promises for a sequence code, whoever the borrower is."""
    record = world.record(data["id"])
    if sequence == "995":
        assert data["status"] == "approved", data["reason_codes"]
        assert record["bureau"]["status"] == "fetched"
        features = record["features"]
        assert features["open_accounts"] >= 1 and features["max_dpd_24m"] == 0
        assert features["current_overdue_accounts"] == 0
        assert data["offers"], "approved without an offer"
        for offer in data["offers"]:
            assert Decimal(offer["base_rate"]) == Decimal(GRID[data["grade"]])
    elif sequence == "996":
        assert record["bureau"]["status"] == "fetched"
        assert record["features"]["open_accounts"] == 0
        assert "credit_history" in record["scorecard"]["missing"]
        assert data["status"] in ("approved", "review"), data["reason_codes"]
        assert not {"bureau_delinquency", "bureau_unavailable"} & set(data["reason_codes"])
    elif sequence == "997":
        assert (data["status"], data["reason_codes"]) == ("declined", ["bureau_delinquency"])
        assert record["bureau"]["status"] == "fetched"
    else:
        cause = {"998": "error", "999": "timeout"}[sequence]
        assert (data["status"], data["reason_codes"]) == ("review", ["bureau_unavailable"])
        assert record["bureau"] == {"status": "unavailable", "cause": cause, "policy": "review"}
        assert data["review"] is not None
    if sequence == "999":
        # The simulator hangs for longer than the bound: a decision within it did not wait.
        assert risk_runtime(world.app).backend.hang_seconds > DECISION_BOUND_SECONDS
    assert seconds < DECISION_BOUND_SECONDS, f"the decision took {seconds:.2f} s"


@covers("ID number", *BUREAU_SEQUENCES)
@pytest.mark.parametrize("sequence", BUREAU_SEQUENCES)
def test_id_number_sequence_codes_select_the_bureau_file(world: Sandbox, sequence: str) -> None:
    id_number = magic_id(sequence)
    assert id_number[14:17] == sequence  # digits 15-17, as the table says
    borrower_id, consents = world.borrower(id_number=id_number)
    started = time.perf_counter()
    data = world.apply(borrower_id, consents)
    assert_bureau_behaviour(world, sequence, data, time.perf_counter() - started)


@covers("ID number", "998", "999")
@pytest.mark.parametrize("sequence", ["998", "999"])
def test_an_unavailable_bureau_declines_when_the_tenant_policy_says_so(world: Sandbox, sequence: str) -> None:
    resp = world.client.post(
        f"/admin/v1/risk/tenants/{world.keys.partner_id}/rule_sets",
        json={"document": {"policy": {"bureau_unavailable": "decline"}}},
        headers=auth(world.keys.admin),
    )
    assert resp.status_code == 201, resp.get_json()
    borrower_id, consents = world.borrower(id_number=magic_id(sequence))
    started = time.perf_counter()
    data = world.apply(borrower_id, consents)
    assert time.perf_counter() - started < DECISION_BOUND_SECONDS
    assert (data["status"], data["reason_codes"]) == ("declined", ["bureau_unavailable"])
    assert world.record(data["id"])["bureau"]["policy"] == "decline"


@covers("USCC", USCC_ROW)
@pytest.mark.parametrize("sequence", BUREAU_SEQUENCES)
def test_uscc_characters_select_the_same_bureau_file_for_a_business(world: Sandbox, sequence: str) -> None:
    uscc = magic_uscc(sequence)
    assert uscc[14:17] == sequence
    borrower_id, consents = world.borrower(**company(uscc=uscc))
    started = time.perf_counter()
    data = world.apply(
        borrower_id,
        consents,
        amount=30_000_000,
        credit_line=True,
        purpose="working_capital",
        monthly_income=60_000_000,
    )
    assert_bureau_behaviour(world, sequence, data, time.perf_counter() - started)
    if sequence == "995":
        assert [o["kind"] for o in data["offers"]] == ["credit_line"]


# -- liveness / KYC: the phone's last four digits --------------------------------------------------

LIVENESS = {
    # tail: (check kind, check status, reason code, KYC status afterwards)
    "0000": ("liveness", "failed", "liveness_spoof_detected", "rejected"),
    "1111": ("liveness", "failed", "face_mismatch", "rejected"),
    "5555": ("liveness", "review", "liveness_score_low", "review"),
    "8888": ("video_sign", "failed", "video_sign_speech_mismatch", "rejected"),
    "9999": ("liveness", "error", "provider_timeout", "pending"),
}
APPLICATION_AFTER_LIVENESS = {
    "0000": ("declined", ["kyc_not_verified"]),
    "5555": ("review", ["kyc_not_verified"]),
}


def liveness(world: Sandbox, borrower_id: str, kind: str) -> dict[str, Any]:
    started = world.call("POST", f"/v1/borrowers/{borrower_id}/liveness_checks", {"kind": kind}, status=201)
    url = f"/v1/borrowers/{borrower_id}/liveness_checks/{started['id']}"
    return wait_for_check(world.client, world.keys.partner, url)


@covers("borrower phone", *LIVENESS)
@pytest.mark.parametrize("tail", sorted(LIVENESS))
def test_phone_endings_script_the_liveness_outcome(world: Sandbox, tail: str) -> None:
    kind, check_status, reason, kyc_status = LIVENESS[tail]
    # Start from `pending`, as a new borrower does: the check, not the helper, sets the KYC status.
    borrower_id, consents = world.borrower(kyc="pending", phone=phone(tail))
    check = liveness(world, borrower_id, kind)
    assert (check["status"], [r["code"] for r in check["reasons"]]) == (check_status, [reason])
    borrower = world.call("GET", f"/v1/borrowers/{borrower_id}")
    assert borrower["kyc_status"] == kyc_status
    expected_reasons = [] if kyc_status == "pending" else [reason]
    assert [r["code"] for r in borrower["kyc_reasons"]] == expected_reasons
    if tail in APPLICATION_AFTER_LIVENESS:
        data = world.apply(borrower_id, consents)
        assert (data["status"], data["reason_codes"]) == APPLICATION_AFTER_LIVENESS[tail]


@covers("borrower phone", "9999")
def test_a_liveness_timeout_leaves_a_verified_borrower_verified(world: Sandbox) -> None:
    borrower_id, _ = world.borrower(kyc="verified", phone=phone("9999"))
    assert liveness(world, borrower_id, "liveness")["status"] == "error"
    assert world.call("GET", f"/v1/borrowers/{borrower_id}")["kyc_status"] == "verified"


# -- widget: the SMS one-time code ----------------------------------------------------------------


@covers("SMS one-time code", "000000")
def test_the_magic_code_verifies_any_phone_once_a_code_was_sent(app: Flask) -> None:
    partner = make_partner(app)
    client = app.test_client()
    # 0002: the SMS simulator accepts the message but never delivers it, so only the magic
    # code can verify that phone.
    for number in (phone(), phone("0002")):
        _, secret = create_session(client, partner.test_key)
        headers = widget_headers(partner.publishable_key, secret, "https://edulink.example")
        early = client.post("/widget/v1/otp/verify", json={"code": "000000"}, headers=headers)
        assert early.status_code == 409 and early.get_json()["code"] == "otp_not_sent"
        verify_phone(client, headers, number)
        assert client.get("/widget/v1/session", headers=headers).get_json()["stage"] == "phone_verified"


# -- bank cards ------------------------------------------------------------------------------------


def submits(payment: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in payment["attempts"] if a["operation"] == "submit"]


@covers("bank card", INSUFFICIENT_CARD)
def test_the_insufficient_funds_card_fails_a_payout_for_good(world: Sandbox) -> None:
    loan_id = world.signed_loan(INSUFFICIENT_CARD)
    payment = world.disburse(loan_id)
    assert (payment["status"], payment["failure_code"]) == ("failed", "insufficient_funds")
    # Final: no other channel was tried.
    assert {a["channel"] for a in payment["attempts"]} == {payment["channel"]}
    assert [a["code"] for a in submits(payment) if a["result"] == "failed"] == ["insufficient_funds"]
    assert world.executions(payment["instruction_id"]) == []
    assert world.call("GET", f"/v1/loans/{loan_id}")["status"] == "signed"


@covers("bank card", INSUFFICIENT_CARD)
def test_the_insufficient_funds_card_fails_every_auto_debit(world: Sandbox) -> None:
    start = date(2026, 1, 5)
    clock = world.call(
        "POST", "/v1/test_clocks", {"frozen_time": int(noon(start).timestamp()), "name": "magic card"}
    )
    # Paid out to the school, so the loan becomes active although the card cannot take money.
    loan_id = world.signed_loan(INSUFFICIENT_CARD, test_clock=clock["id"], to_merchant=True)
    world.call("POST", f"/v1/loans/{loan_id}/mandate", {}, status=201)
    assert world.disburse(loan_id)["status"] == "succeeded"
    first_due = date.fromisoformat(
        world.call("GET", f"/v1/loans/{loan_id}/schedule")["instalments"][0]["due_date"]
    )
    last_retry = first_due + timedelta(days=3)
    world.call(
        "POST", f"/v1/test_clocks/{clock['id']}/advance", {"frozen_time": int(noon(last_retry).timestamp())}
    )
    assert (
        world.wait(f"/v1/test_clocks/{clock['id']}", lambda c: c["status"] != "advancing", 120)["status"]
        == "ready"
    )
    listed = world.call("GET", f"/v1/payments?loan={loan_id}&purpose=auto_debit")["data"]
    debits = [world.call("GET", f"/v1/payments/{p['id']}") for p in listed]
    assert sorted(d["attempt_number"] for d in debits) == [1, 2, 3]  # the due date and both retries
    for debit in debits:
        assert (debit["direction"], debit["due_date"]) == ("collection", first_due.isoformat())
        assert (debit["status"], debit["failure_code"]) == ("failed", "insufficient_funds")
        assert {a["channel"] for a in debit["attempts"]} == {debit["channel"]}
        assert world.executions(debit["instruction_id"]) == []


@covers("bank card", TIMEOUT_CARD)
def test_the_timeout_card_stalls_the_channel_request(world: Sandbox) -> None:
    loan_id = world.signed_loan(TIMEOUT_CARD)
    payment = world.disburse(loan_id)
    assert "timeout" in [a["result"] for a in submits(payment)]
    assert (payment["status"], payment["failure_code"]) == ("failed", "channel_timeout")
    # Closed on the channel before the stalled request arrives: it will never execute.
    assert world.executions(payment["instruction_id"]) == []


@covers("bank card", AMBIGUOUS_CARD)
def test_the_ambiguous_card_is_found_paid_by_the_status_query_and_paid_once(world: Sandbox) -> None:
    loan_id = world.signed_loan(AMBIGUOUS_CARD)
    payment = world.disburse(loan_id)
    assert payment["status"] == "succeeded"
    channel = payment["channel"]
    outcomes = [(a["channel"], a["operation"], a["result"]) for a in payment["attempts"]]
    assert (channel, "submit", "timeout") in outcomes  # the reply was lost ...
    assert (channel, "query", "succeeded") in outcomes  # ... and the status query found it paid
    assert {a["channel"] for a in payment["attempts"]} == {channel}  # never sent elsewhere
    assert world.executions(payment["instruction_id"]) == [channel]
    assert world.call("GET", f"/v1/loans/{loan_id}")["status"] == "active"
