"""Statement parsing and matching: every kind of break, and nothing when all agrees."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from lendbridge.payments.instructions import Direction
from lendbridge.payments.ports import ChannelStatus, CustodyRow, CustodyStatement, StatementRow
from lendbridge.payments.reconciliation import (
    BreakKind,
    OurPayment,
    StatementFormatError,
    double_payouts,
    match_channel,
    match_custody,
    parse_channel_statement,
    parse_custody_statement,
)

DAY = date(2026, 11, 25)
AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ACCT = "6214830000000001"


def ours(
    iid: str, amount: int = 500, channel: str = "up", on: date | None = DAY, state: str = "succeeded"
) -> OurPayment:
    return OurPayment(iid, f"pay_{iid}", channel, Direction.PAYOUT, amount, ACCT, state, on)


def row(iid: str, amount: int = 500, direction: Direction = Direction.PAYOUT) -> StatementRow:
    return StatementRow(iid, f"R{iid}", direction, amount, ChannelStatus.SUCCEEDED, AT, ACCT)


def kinds(result: object) -> list[tuple[str, str | None]]:
    return [(b.kind.value, b.instruction_id) for b in result.breaks]  # type: ignore[attr-defined]


def test_everything_agrees_no_breaks() -> None:
    mine = [ours("A"), ours("B")]
    r = match_channel("up", DAY, [row("A"), row("B")], mine, {p.instruction_id: p for p in mine})
    assert r.matched == 2 and r.breaks == () and r.rows == 2


def test_each_break_kind_is_found() -> None:
    mine = [ours("A"), ours("B", 700), ours("C")]
    known = {p.instruction_id: p for p in mine} | {"D": ours("D", state="unknown", on=None)}
    statement = [row("A"), row("B", 701), row("D"), row("E")]
    r = match_channel("up", DAY, statement, mine, known)
    assert sorted(kinds(r)) == [
        ("amount_mismatch", "B"),
        ("missing_ours", "D"),
        ("missing_ours", "E"),
        ("missing_theirs", "C"),
    ]
    assert r.matched == 1
    d = next(b for b in r.breaks if b.instruction_id == "D")
    assert d.payment_id == "pay_D" and "unknown" in d.detail


def test_the_same_id_twice_in_a_statement_is_a_duplicate() -> None:
    mine = [ours("A")]
    r = match_channel("up", DAY, [row("A"), row("A")], mine, {"A": mine[0]})
    assert kinds(r) == [("duplicate", "A")]


def test_an_execution_on_a_second_channel_is_a_double_payout() -> None:
    mine = [ours("A", channel="up")]
    r = match_channel("nu", DAY, [row("A")], mine, {"A": mine[0]})
    assert kinds(r) == [("duplicate", "A")] and "succeeded on up" in r.breaks[0].detail
    assert double_payouts({"up": [row("A")], "nu": [row("A")]}) == {"A": 2}


def test_a_payment_recorded_on_another_day_is_a_timing_difference() -> None:
    yesterday = ours("A", on=date(2026, 11, 24))
    r = match_channel("up", DAY, [row("A")], [], {"A": yesterday})
    assert r.breaks == ()


def test_a_direction_mismatch_is_a_break() -> None:
    mine = [ours("A")]
    r = match_channel("up", DAY, [row("A", direction=Direction.COLLECTION)], mine, {"A": mine[0]})
    assert kinds(r) == [("amount_mismatch", "A")] and r.breaks[0].detail == "direction differs"


def custody(rows: list[CustodyRow], opening: int = 10_000, closing: int | None = None) -> CustodyStatement:
    net = sum(r.amount if r.side == "credit" else -r.amount for r in rows)
    return CustodyStatement(ACCT, DAY, opening, opening + net if closing is None else closing, tuple(rows))


def mv(ref: str, side: str = "debit", amount: int = 500, channel: str = "up") -> CustodyRow:
    return CustodyRow(ref, channel, side, amount, AT, 0)


def test_custody_statement_matches_payouts_and_ignores_funding() -> None:
    mine = [ours("A")]
    s = custody([mv("A"), mv("opening-deposit", "credit", 9_999, "deposit")])
    r = match_custody(s, mine, {"A": mine[0]}, source="custody:ca_1")
    assert r.matched == 1 and r.breaks == () and r.source == "custody:ca_1"


def test_custody_double_debit_and_balance_that_does_not_add_up() -> None:
    mine = [ours("A")]
    s = custody([mv("A"), mv("A")], closing=1)
    r = match_custody(s, mine, {"A": mine[0]})
    assert sorted(b.kind for b in r.breaks) == [BreakKind.BALANCE_MISMATCH, BreakKind.DUPLICATE]


CHANNEL_CSV = (
    "instruction_id,channel_ref,direction,amount,status,executed_at,custody_account\n"
    "LBAAA,UP1,payout,500,succeeded,2026-11-25T03:00:00+00:00,6214830000000001\n"
)
CUSTODY_CSV = (
    "account,date,type,reference,channel,side,amount,booked_at,balance_after\n"
    "6214830000000001,2026-11-25,opening,,,,,,10000\n"
    "6214830000000001,2026-11-25,movement,LBAAA,up,debit,500,2026-11-25T03:00:00+00:00,9500\n"
    "6214830000000001,2026-11-25,closing,,,,,,9500\n"
)


def test_statement_files_parse() -> None:
    (r,) = parse_channel_statement(CHANNEL_CSV)
    assert r.instruction_id == "LBAAA" and r.amount == 500 and r.direction is Direction.PAYOUT
    s = parse_custody_statement(CUSTODY_CSV)
    assert s.opening_balance == 10_000 and s.closing_balance == 9_500 and s.rows[0].side == "debit"


@pytest.mark.parametrize(
    "bad",
    [
        "id,amount\nA,1\n",
        CHANNEL_CSV.replace(",500,", ",5.00,"),
        CHANNEL_CSV.replace("payout", "sideways"),
        CHANNEL_CSV.replace("+00:00", ""),
        CHANNEL_CSV.rstrip("\n") + ",extra\n",
    ],
)
def test_a_changed_channel_file_stops_the_run(bad: str) -> None:
    with pytest.raises(StatementFormatError):
        parse_channel_statement(bad)


@pytest.mark.parametrize(
    "bad",
    [
        CUSTODY_CSV.replace("closing", "mystery"),
        "\n".join(CUSTODY_CSV.splitlines()[:3]) + "\n",  # no closing row
        CUSTODY_CSV.replace(",debit,", ",sideways,"),
    ],
)
def test_a_changed_custody_file_stops_the_run(bad: str) -> None:
    with pytest.raises(StatementFormatError):
        parse_custody_statement(bad)
