"""Journal entries: always balanced, one builder per business event, hash-chained."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.core.hashchain import GENESIS
from lendbridge.core.money import Fen
from lendbridge.ledger.postings import (
    Account,
    EntryType,
    JournalEntry,
    LedgerInvariantError,
    Line,
    chain_hash,
    charge_off,
    disbursement,
    fee_charge,
    interest_accrual,
    penalty_accrual,
    prepayment,
    recovery,
    repayment,
    reversal,
    settlement,
    subsidy_recognition,
)
from lendbridge.loans.prepayment import PrepaymentSplit
from lendbridge.loans.waterfall import Component, Due, Dueness, allocate

ON = date(2026, 4, 15)
LOAN = "loan_01JD3Q8Z6S0M4W2C7V9E5K1T3P"


def balances(*entries: JournalEntry) -> dict[Account, int]:
    """Net debit balance per account over the entries."""
    return {account: sum(entry.net(account) for entry in entries) for account in Account}


def test_disbursement_to_the_borrower_moves_custody_cash_into_the_receivable() -> None:
    entry = disbursement(Fen(1_000_000), loan_id=LOAN, on=ON)
    assert entry.type is EntryType.DISBURSEMENT
    assert entry.net(Account.LOANS_RECEIVABLE) == 1_000_000
    assert entry.net(Account.CUSTODY_CASH) == -1_000_000
    assert all(line.loan_id == LOAN for line in entry.lines)


def test_disbursement_to_a_merchant_withholds_the_deferred_subsidy_and_upfront_fee() -> None:
    entry = disbursement(Fen(1_200_000), loan_id=LOAN, on=ON, subsidy=Fen(52_000), upfront_fee=Fen(1000))
    assert entry.net(Account.CUSTODY_CASH) == -1_147_000
    assert entry.net(Account.DEFERRED_SUBSIDY) == -52_000
    assert entry.net(Account.FEE_INCOME) == -1000
    recognised = subsidy_recognition(Fen(52_000), loan_id=LOAN, on=ON)
    assert balances(entry, recognised)[Account.DEFERRED_SUBSIDY] == 0
    assert balances(entry, recognised)[Account.SUBSIDY_INCOME] == -52_000


@pytest.mark.parametrize(
    ("builder", "receivable", "income"),
    [
        (interest_accrual, Account.INTEREST_RECEIVABLE, Account.INTEREST_INCOME),
        (penalty_accrual, Account.PENALTY_RECEIVABLE, Account.PENALTY_INCOME),
        (fee_charge, Account.FEE_RECEIVABLE, Account.FEE_INCOME),
    ],
)
def test_accruals_raise_a_receivable_against_income(
    builder: object, receivable: Account, income: Account
) -> None:
    entry = builder(Fen(4321), loan_id=LOAN, on=ON)  # type: ignore[operator]
    assert entry.net(receivable) == 4321
    assert entry.net(income) == -4321


def test_repayment_clears_each_receivable_by_its_allocated_component() -> None:
    dues = [Due(1, ON - timedelta(days=31), Dueness.PAST_DUE, Fen(100), Fen(500), Fen(4000), Fen(80_000))]
    allocation = allocate(Fen(84_600), dues)
    entry = repayment(allocation, loan_id=LOAN, on=ON)

    assert entry.net(Account.CLEARING) == 84_600
    assert entry.net(Account.PENALTY_RECEIVABLE) == -100
    assert entry.net(Account.FEE_RECEIVABLE) == -500
    assert entry.net(Account.INTEREST_RECEIVABLE) == -4000
    assert entry.net(Account.LOANS_RECEIVABLE) == -80_000
    settled = settlement(Fen(84_600), on=ON + timedelta(days=1))
    assert balances(entry, settled)[Account.CLEARING] == 0
    assert balances(entry, settled)[Account.CUSTODY_CASH] == 84_600


def test_repayment_with_money_left_over_books_the_prepayment_split() -> None:
    dues = [Due(1, ON, Dueness.DUE, interest=Fen(4000), principal=Fen(80_000))]
    allocation = allocate(Fen(200_000), dues)
    split = PrepaymentSplit(principal=Fen(110_000), interest=Fen(2500), fee=Fen(3300), excess=Fen(200))
    entry = repayment(allocation, loan_id=LOAN, on=ON, prepayment=split)

    assert entry.net(Account.LOANS_RECEIVABLE) == -190_000
    assert entry.net(Account.INTEREST_RECEIVABLE) == -6500
    assert entry.net(Account.FEE_INCOME) == -3300
    assert entry.net(Account.BORROWER_PAYABLE) == -200
    with pytest.raises(LedgerInvariantError):
        repayment(allocation, loan_id=LOAN, on=ON)  # the leftover must be explained
    with pytest.raises(LedgerInvariantError):
        repayment(allocate(Fen(1000), dues), loan_id=LOAN, on=ON, prepayment=split)


def test_standalone_prepayment_entry() -> None:
    entry = prepayment(
        PrepaymentSplit(Fen(500_000), Fen(1200), Fen(0)),
        loan_id=LOAN,
        on=ON,
        cash_account=Account.CUSTODY_CASH,
    )
    assert entry.type is EntryType.PREPAYMENT
    assert entry.net(Account.CUSTODY_CASH) == 501_200
    assert len(entry.lines) == 3  # the zero fee leaves no line


def test_charge_off_writes_off_every_remaining_receivable_and_recoveries_are_income() -> None:
    entry = charge_off(principal=Fen(300_000), interest=Fen(9000), penalty=Fen(1500), loan_id=LOAN, on=ON)
    assert entry.net(Account.WRITE_OFF_EXPENSE) == 310_500
    assert entry.net(Account.LOANS_RECEIVABLE) == -300_000
    assert entry.net(Account.FEE_RECEIVABLE) == 0
    later = recovery(Fen(20_000), loan_id=LOAN, on=ON + timedelta(days=90))
    assert later.net(Account.RECOVERY_INCOME) == -20_000


def test_reversal_swaps_every_line_and_nets_the_original_to_zero() -> None:
    original = disbursement(Fen(1_000_000), loan_id=LOAN, on=ON, upfront_fee=Fen(5000))
    undo = reversal(original, on=ON + timedelta(days=1), reverses="je_01JD3Q8Z6S0M4W2C7V9E5K1T3P")

    assert undo.type is EntryType.REVERSAL
    assert undo.reverses == "je_01JD3Q8Z6S0M4W2C7V9E5K1T3P"
    assert all(v == 0 for v in balances(original, undo).values())


def test_unbalanced_entries_cannot_exist() -> None:
    with pytest.raises(LedgerInvariantError):
        JournalEntry(
            EntryType.FEE_CHARGE,
            ON,
            (Line(Account.FEE_RECEIVABLE, debit=Fen(100)), Line(Account.FEE_INCOME, credit=Fen(99))),
        )
    with pytest.raises(LedgerInvariantError):
        JournalEntry(EntryType.FEE_CHARGE, ON, (Line(Account.FEE_RECEIVABLE, debit=Fen(100)),))


@pytest.mark.parametrize(
    ("debit", "credit"),
    [(0, 0), (100, 100), (-5, 0), (0, -5), (True, 0)],
    ids=["zero", "both", "neg-debit", "neg-credit", "bool"],
)
def test_lines_are_one_positive_amount_on_one_side(debit: int, credit: int) -> None:
    with pytest.raises(LedgerInvariantError):
        Line(Account.CLEARING, Fen(debit), Fen(credit))


def test_zero_amount_events_are_refused_rather_than_posted_empty() -> None:
    with pytest.raises(LedgerInvariantError):
        interest_accrual(Fen(0), loan_id=LOAN, on=ON)
    with pytest.raises(LedgerInvariantError):
        disbursement(Fen(1000), loan_id=LOAN, on=ON, upfront_fee=Fen(2000))


def test_chain_hash_links_entries_and_detects_any_change() -> None:
    first = disbursement(Fen(1_000_000), loan_id=LOAN, on=ON)
    second = interest_accrual(Fen(161), loan_id=LOAN, on=ON + timedelta(days=1))
    link1 = chain_hash(GENESIS, first)
    link2 = chain_hash(link1, second)

    assert len(link2) == 64
    assert chain_hash(GENESIS, first) == link1  # deterministic
    tampered = interest_accrual(Fen(162), loan_id=LOAN, on=ON + timedelta(days=1))
    assert chain_hash(link1, tampered) != link2
    assert chain_hash(chain_hash(GENESIS, second), first) != link2  # order matters


amounts = st.integers(min_value=0, max_value=100_000)


@st.composite
def dues_lists(draw: st.DrawFn) -> list[Due]:
    count = draw(st.integers(min_value=0, max_value=6))
    return [
        Due(
            n,
            ON + timedelta(days=31 * (n - 3)),
            draw(st.sampled_from(Dueness)),
            Fen(draw(amounts)),
            Fen(draw(amounts)),
            Fen(draw(amounts)),
            Fen(draw(amounts)),
        )
        for n in range(1, count + 1)
    ]


@settings(max_examples=150, deadline=None)
@given(payment=st.integers(min_value=1, max_value=1_000_000), dues=dues_lists(), data=st.data())
def test_entries_built_from_random_allocations_always_balance(
    payment: int, dues: list[Due], data: st.DataObject
) -> None:
    allocation = allocate(Fen(payment), dues)
    split = None
    if allocation.prepayment:
        principal = data.draw(st.integers(min_value=0, max_value=allocation.prepayment))
        interest = data.draw(st.integers(min_value=0, max_value=allocation.prepayment - principal))
        fee = data.draw(st.integers(min_value=0, max_value=allocation.prepayment - principal - interest))
        split = PrepaymentSplit(
            Fen(principal), Fen(interest), Fen(fee), Fen(allocation.prepayment - principal - interest - fee)
        )

    entry = repayment(allocation, loan_id=LOAN, on=ON, prepayment=split)

    assert entry.total_debit == entry.total_credit == payment
    assert sum(entry.net(account) for account in Account) == 0
    prepaid_principal = split.principal if split else 0
    assert -entry.net(Account.LOANS_RECEIVABLE) == allocation.total(Component.PRINCIPAL) + prepaid_principal
    assert -entry.net(Account.PENALTY_RECEIVABLE) == allocation.total(Component.PENALTY)
    assert all(line.debit > 0 or line.credit > 0 for line in entry.lines)
    undo = reversal(entry, on=ON)
    assert all(v == 0 for v in balances(entry, undo).values())
