"""The channel and custody-bank simulators behave like outside parties: they dedupe,
move money, lose replies, void ids, keep statements and survive a restart."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lendbridge.payments.channels import InProcessChannel, InProcessCustodyBank, order_body, verify_signed
from lendbridge.payments.ports import CallbackInvalid, ChannelStatus, ChannelTimeout, ChannelUnreachable
from lendbridge.payments.reconciliation import parse_channel_statement, parse_custody_statement
from lendbridge_sandbox.channels import ChannelSimulator, SimTimeout, SimUnreachable, build_simulators
from lendbridge_sandbox.custody_bank import CustodyBankSimulator, InsufficientFunds, business_day
from tests.factories.payments import (
    AMBIGUOUS_CARD,
    CARD,
    CUSTODY_NUMBER,
    INSUFFICIENT_CARD,
    TIMEOUT_CARD,
    order,
)


def world(**opts: Any) -> tuple[CustodyBankSimulator, ChannelSimulator]:
    sims = build_simulators(latency_ms=0, **opts)
    sims.custody_bank.open_account(CUSTODY_NUMBER, "Inst", 1_000_000)
    return sims.custody_bank, sims.channel("unionpay_sim")


def body(iid: str = "LBSIM1", amount: int = 1_000, card: str = CARD) -> dict[str, Any]:
    return order_body(order(iid, amount, card))


def test_a_payout_debits_custody_and_a_second_submit_is_deduped() -> None:
    bank, ch = world()
    first = ch.submit(body(), 1.0)
    again = ch.submit(body(), 1.0)
    assert first["status"] == "succeeded" and again == first
    assert bank.balance(CUSTODY_NUMBER) == 999_000
    assert ch.executed() == {"LBSIM1": 1_000}


def test_insufficient_custody_funds_fail_and_book_nothing() -> None:
    bank, ch = world()
    r = ch.submit(body(amount=2_000_000), 1.0)
    assert r["status"] == "failed" and r["code"] == "insufficient_funds"
    assert bank.balance(CUSTODY_NUMBER) == 1_000_000
    with pytest.raises(InsufficientFunds):
        bank.post(CUSTODY_NUMBER, "debit", 2_000_000, "x", "y")


def test_magic_card_insufficient_funds() -> None:
    _, ch = world()
    assert ch.submit(body(card=INSUFFICIENT_CARD), 1.0)["code"] == "insufficient_funds"


def test_magic_card_ambiguous_executes_but_loses_the_reply() -> None:
    bank, ch = world()
    with pytest.raises(SimTimeout):
        ch.submit(body(card=AMBIGUOUS_CARD), 0.01)
    assert ch.query("LBSIM1")["status"] == "succeeded"
    assert bank.balance(CUSTODY_NUMBER) == 999_000


def test_magic_card_timeout_arrives_late_unless_closed() -> None:
    _, ch = world(stall_ms=50)
    with pytest.raises(SimTimeout):
        ch.submit(body("LBLATE1", card=TIMEOUT_CARD), 0.01)
    assert ch.query("LBLATE1")["status"] == "not_found"
    time.sleep(0.15)
    assert ch.query("LBLATE1")["status"] == "succeeded"  # nobody closed it: it executed late
    with pytest.raises(SimTimeout):
        ch.submit(body("LBLATE2", card=TIMEOUT_CARD), 0.01)
    assert ch.close("LBLATE2")["status"] == "closed"
    time.sleep(0.15)
    assert ch.query("LBLATE2")["status"] == "closed"
    assert "LBLATE2" not in ch.executed()


def test_close_of_an_executed_id_returns_its_status() -> None:
    _, ch = world()
    ch.submit(body(), 1.0)
    assert ch.close("LBSIM1")["status"] == "succeeded"


def test_fail_for_modes_and_kill_restore() -> None:
    _, ch = world()
    ch.fail_for(10, "unavailable")
    r = ch.submit(body("LBF1"), 1.0)
    assert r["code"] == "system_unavailable" and ch.query("LBF1")["status"] == "not_found"  # not recorded
    ch.heal()
    ch.kill()
    with pytest.raises(SimUnreachable):
        ch.submit(body("LBF2"), 1.0)
    with pytest.raises(SimUnreachable):
        ch.query("LBF2")
    ch.restore()
    assert ch.submit(body("LBF2"), 1.0)["status"] == "succeeded"
    ch.fail_for(0.05, "down")
    with pytest.raises(SimUnreachable):
        ch.query("LBF2")
    time.sleep(0.06)
    assert ch.query("LBF2")["status"] == "succeeded"


def test_kill_during_a_call_loses_its_reply() -> None:
    _, ch = world()
    ch.set_latency(100)
    errors: list[Exception] = []

    def call() -> None:
        try:
            ch.submit(body("LBK1"), 1.0)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.02)
    ch.kill()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], SimTimeout)


def test_ambiguous_next_n() -> None:
    _, ch = world()
    ch.ambiguous_next(2)
    for i in range(2):
        with pytest.raises(SimTimeout):
            ch.submit(body(f"LBA{i}"), 0.01)
    assert ch.submit(body("LBA9"), 1.0)["status"] == "succeeded"
    assert set(ch.executed()) == {"LBA0", "LBA1", "LBA9"}


def test_collections_respect_card_balances() -> None:
    bank, ch = world()
    o = body("LBC1")
    o["direction"] = "collection"
    o["debit"], o["credit"] = o["credit"], o["debit"]
    ch.set_card_balance(CARD, 500)
    assert ch.submit(o, 1.0)["code"] == "insufficient_funds"
    ch.set_card_balance(CARD, 5_000)
    o["instruction_id"] = "LBC2"
    assert ch.submit(o, 1.0)["status"] == "succeeded"
    assert bank.balance(CUSTODY_NUMBER) == 1_001_000


def test_bank_direct_only_reaches_its_own_bank() -> None:
    sims = build_simulators(latency_ms=0)
    sims.custody_bank.open_account(CUSTODY_NUMBER, "Inst", 10_000)
    r = sims.channel("bankdirect_sim").submit(body(), 1.0)
    assert r["code"] == "bank_not_supported"


def test_statements_parse_with_our_parsers_and_show_tampering() -> None:
    bank, ch = world()
    ch.submit(body("LBS1"), 1.0)
    ch.submit(body("LBS2"), 1.0)
    ch.tamper_amount("LBS1", 999)
    ch.duplicate_in_statement("LBS2")
    ch.add_phantom("LBS3", 77, CUSTODY_NUMBER)
    day = business_day(datetime.now(UTC))
    rows = parse_channel_statement(ch.statement_csv(day))
    assert sorted((r.instruction_id, r.amount) for r in rows) == [
        ("LBS1", 999),
        ("LBS2", 1_000),
        ("LBS2", 1_000),
        ("LBS3", 77),
    ]
    s = parse_custody_statement(bank.statement_csv(CUSTODY_NUMBER, day))
    assert s.opening_balance == 0 and s.closing_balance == 998_000
    assert [r.reference for r in s.rows] == ["opening-deposit", "LBS1", "LBS2"]


def test_reverse_returns_the_money_and_calls_back() -> None:
    got: list[tuple[bytes, dict[str, str]]] = []
    bank, ch = world(callback=lambda b, h: got.append((b, h)))
    ch.submit(body("LBR1"), 1.0)
    ch.reverse("LBR1")
    time.sleep(0.05)
    assert ch.query("LBR1")["status"] == "reversed" and bank.balance(CUSTODY_NUMBER) == 1_000_000
    assert len(got) == 2


def test_callbacks_are_signed_and_verified() -> None:
    got: list[tuple[bytes, dict[str, str]]] = []
    _, ch = world(callback=lambda b, h: got.append((b, h)), callback_secret=b"s3cret")
    ch.submit(body("LBCB"), 1.0)
    time.sleep(0.05)
    (payload, headers) = got[0]
    reply = verify_signed(b"s3cret", payload, headers)
    assert reply.instruction_id == "LBCB" and reply.status is ChannelStatus.SUCCEEDED
    with pytest.raises(CallbackInvalid):
        verify_signed(b"wrong", payload, headers)
    with pytest.raises(CallbackInvalid):
        verify_signed(b"s3cret", payload.replace(b"succeeded", b"failed"), headers)


def test_journal_survives_a_restart(tmp_path: Path) -> None:
    bank = CustodyBankSimulator(journal_path=tmp_path / "bank.jsonl")
    bank.open_account(CUSTODY_NUMBER, "Inst", 10_000)
    ch = ChannelSimulator("unionpay_sim", custody=bank, latency_ms=0, journal_path=tmp_path / "up.jsonl")
    ch.submit(body("LBJ1"), 1.0)
    ch.close("LBJ2")
    bank2 = CustodyBankSimulator(journal_path=tmp_path / "bank.jsonl")
    ch2 = ChannelSimulator("unionpay_sim", custody=bank2, latency_ms=0, journal_path=tmp_path / "up.jsonl")
    assert ch2.query("LBJ1")["status"] == "succeeded" and ch2.query("LBJ2")["status"] == "closed"
    assert bank2.balance(CUSTODY_NUMBER) == 9_000
    assert ch2.submit(body("LBJ1"), 1.0)["status"] == "succeeded" and bank2.balance(CUSTODY_NUMBER) == 9_000


def test_in_process_adapter_maps_transport_errors() -> None:
    _, sim = world()
    ch = InProcessChannel(sim, callback_secret=b"x")
    sim.kill()
    with pytest.raises(ChannelUnreachable):
        ch.submit(order("LBAD1"), 1.0)
    sim.restore()
    sim.ambiguous_next(1)
    with pytest.raises(ChannelTimeout):
        ch.submit(order("LBAD2"), 0.01)
    assert ch.query("LBAD2", 1.0).status is ChannelStatus.SUCCEEDED
    assert (
        InProcessCustodyBank(world()[0]).statement(CUSTODY_NUMBER, datetime.now(UTC).date()).opening_balance
        >= 0
    )
