"""Double-entry postings for each business event of an institution's loan book.

Every institution keeps its own books with the same chart of accounts (`Account`); the
repository stores each entry under the institution and chains it to that institution's
previous entry (`chain_hash`).

There is no platform-owned cash account on purpose. LendBridge is the technology
provider: the money belongs to the licensed institution and sits in its custody account
at the custody bank, and a platform that held borrowers' or lenders' funds would be
running an unlicensed fund pool (资金池). So cash in these books is `custody_cash`, the
institution's custody account, and `clearing` holds money in flight between a payment
channel and that account. The platform's own revenue is not in these books.

A `JournalEntry` cannot exist unbalanced, empty, or with a line that is zero, negative
or on both sides: builders that get the arithmetic wrong fail loudly instead of
corrupting a ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from lendbridge.core.errors import LendBridgeError
from lendbridge.core.hashchain import link_hash
from lendbridge.core.money import Fen
from lendbridge.loans.prepayment import PrepaymentSplit
from lendbridge.loans.terms import ZERO
from lendbridge.loans.waterfall import Allocation, Component


class LedgerInvariantError(LendBridgeError):
    """A journal entry that breaks double-entry rules: always a bug, never bad input."""

    status = 500
    code = "ledger_invariant_violated"
    title = "Ledger invariant violated"


def _is_amount(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class Account(StrEnum):
    # Assets
    LOANS_RECEIVABLE = "loans_receivable"
    INTEREST_RECEIVABLE = "interest_receivable"
    PENALTY_RECEIVABLE = "penalty_receivable"
    FEE_RECEIVABLE = "fee_receivable"
    CUSTODY_CASH = "custody_cash"
    CLEARING = "clearing"  # suspense: payments in flight between channel and custody
    # Liabilities
    DEFERRED_SUBSIDY = "deferred_subsidy"  # merchant subsidy received, not yet earned
    BORROWER_PAYABLE = "borrower_payable"  # overpayments to refund
    # Income
    INTEREST_INCOME = "interest_income"
    PENALTY_INCOME = "penalty_income"
    FEE_INCOME = "fee_income"
    SUBSIDY_INCOME = "subsidy_income"
    RECOVERY_INCOME = "recovery_income"  # collected after a charge-off
    # Expenses
    WRITE_OFF_EXPENSE = "write_off_expense"

    @property
    def debit_normal(self) -> bool:
        """Whether the account's balance grows with debits (assets and expenses)."""
        return self in _DEBIT_NORMAL


_DEBIT_NORMAL = frozenset(
    {
        Account.LOANS_RECEIVABLE,
        Account.INTEREST_RECEIVABLE,
        Account.PENALTY_RECEIVABLE,
        Account.FEE_RECEIVABLE,
        Account.CUSTODY_CASH,
        Account.CLEARING,
        Account.WRITE_OFF_EXPENSE,
    }
)


class EntryType(StrEnum):
    DISBURSEMENT = "disbursement"
    INTEREST_ACCRUAL = "interest_accrual"
    PENALTY_ACCRUAL = "penalty_accrual"
    FEE_CHARGE = "fee_charge"
    REPAYMENT = "repayment"
    PREPAYMENT = "prepayment"
    SETTLEMENT = "settlement"
    SUBSIDY_RECOGNITION = "subsidy_recognition"
    CHARGE_OFF = "charge_off"
    RECOVERY = "recovery"
    REVERSAL = "reversal"


@dataclass(frozen=True)
class Line:
    account: Account
    debit: Fen = ZERO
    credit: Fen = ZERO
    loan_id: str | None = None

    def __post_init__(self) -> None:
        for side in (self.debit, self.credit):
            if not _is_amount(side):
                raise LedgerInvariantError(f"{self.account}: amounts are non-negative integer fen")
        if (self.debit > 0) == (self.credit > 0):
            raise LedgerInvariantError(f"{self.account}: a line is either a debit or a credit, and not zero")

    def to_record(self) -> dict[str, Any]:
        return {
            "account": self.account.value,
            "debit": self.debit,
            "credit": self.credit,
            "loan_id": self.loan_id,
        }


@dataclass(frozen=True)
class JournalEntry:
    type: EntryType
    business_date: date
    lines: tuple[Line, ...]
    memo: str = ""
    reverses: str | None = None  # id of the entry a reversal undoes

    def __post_init__(self) -> None:
        if len(self.lines) < 2:
            raise LedgerInvariantError("a journal entry needs at least two lines")
        if self.total_debit != self.total_credit:
            raise LedgerInvariantError(f"debits {self.total_debit} != credits {self.total_credit}")

    @property
    def total_debit(self) -> Fen:
        return Fen(sum(line.debit for line in self.lines))

    @property
    def total_credit(self) -> Fen:
        return Fen(sum(line.credit for line in self.lines))

    def net(self, account: Account) -> int:
        """Debits minus credits on `account` in this entry."""
        return sum(line.debit - line.credit for line in self.lines if line.account is account)

    def to_record(self) -> dict[str, Any]:
        """The canonical form that is hashed into the chain."""
        return {
            "type": self.type.value,
            "business_date": self.business_date.isoformat(),
            "memo": self.memo,
            "reverses": self.reverses,
            "lines": [line.to_record() for line in self.lines],
        }


def chain_hash(previous: str, entry: JournalEntry) -> str:
    """The link hash of `entry` after the link `previous` (GENESIS for the first entry)."""
    return link_hash(previous, entry.to_record())


# --- builders -------------------------------------------------------------------------


def disbursement(
    principal: Fen,
    *,
    loan_id: str,
    on: date,
    upfront_fee: Fen = ZERO,
    subsidy: Fen = ZERO,
    memo: str = "",
) -> JournalEntry:
    """The loan is paid out of custody, to the borrower or to the merchant.

    The receivable is the full principal; cash out is net of the upfront fee (earned now)
    and of the merchant subsidy (deferred, earned over the loan's life).
    """
    cash = principal - upfront_fee - subsidy
    return _entry(
        EntryType.DISBURSEMENT,
        on,
        loan_id,
        memo,
        debits={Account.LOANS_RECEIVABLE: principal},
        credits={
            Account.CUSTODY_CASH: cash,
            Account.FEE_INCOME: upfront_fee,
            Account.DEFERRED_SUBSIDY: subsidy,
        },
    )


def interest_accrual(amount: Fen, *, loan_id: str, on: date, memo: str = "") -> JournalEntry:
    return _simple(
        EntryType.INTEREST_ACCRUAL,
        Account.INTEREST_RECEIVABLE,
        Account.INTEREST_INCOME,
        amount,
        loan_id,
        on,
        memo,
    )


def penalty_accrual(amount: Fen, *, loan_id: str, on: date, memo: str = "") -> JournalEntry:
    return _simple(
        EntryType.PENALTY_ACCRUAL,
        Account.PENALTY_RECEIVABLE,
        Account.PENALTY_INCOME,
        amount,
        loan_id,
        on,
        memo,
    )


def fee_charge(amount: Fen, *, loan_id: str, on: date, memo: str = "") -> JournalEntry:
    return _simple(
        EntryType.FEE_CHARGE, Account.FEE_RECEIVABLE, Account.FEE_INCOME, amount, loan_id, on, memo
    )


def subsidy_recognition(amount: Fen, *, loan_id: str, on: date, memo: str = "") -> JournalEntry:
    """Part of the deferred merchant subsidy becomes income."""
    return _simple(
        EntryType.SUBSIDY_RECOGNITION,
        Account.DEFERRED_SUBSIDY,
        Account.SUBSIDY_INCOME,
        amount,
        loan_id,
        on,
        memo,
    )


_RECEIVABLE = {
    Component.PENALTY: Account.PENALTY_RECEIVABLE,
    Component.FEE: Account.FEE_RECEIVABLE,
    Component.INTEREST: Account.INTEREST_RECEIVABLE,
    Component.PRINCIPAL: Account.LOANS_RECEIVABLE,
}


def repayment(
    allocation: Allocation,
    *,
    loan_id: str,
    on: date,
    prepayment: PrepaymentSplit | None = None,
    cash_account: Account = Account.CLEARING,
    memo: str = "",
) -> JournalEntry:
    """A payment split by the waterfall: cash in, each receivable down by its component.

    Cash lands in `clearing` until the channel settles into custody (`settlement`). When
    the allocation left money over, `prepayment` says how it was split (prepayment.py).
    """
    credits = {account: 0 for account in _RECEIVABLE.values()}
    for component, account in _RECEIVABLE.items():
        credits[account] += allocation.total(component)
    if allocation.prepayment:
        if prepayment is None or prepayment.total != allocation.prepayment:
            raise LedgerInvariantError("the allocation's prepayment needs a split that adds up to it")
        _add_prepayment(credits, prepayment)
    elif prepayment is not None and prepayment.total:
        raise LedgerInvariantError("a prepayment split was given but the allocation left nothing over")
    return _entry(
        EntryType.REPAYMENT, on, loan_id, memo, debits={cash_account: allocation.payment}, credits=credits
    )


def prepayment(
    split: PrepaymentSplit,
    *,
    loan_id: str,
    on: date,
    cash_account: Account = Account.CLEARING,
    memo: str = "",
) -> JournalEntry:
    """A prepayment made on its own (not left over from a repayment)."""
    credits: dict[Account, int] = {}
    _add_prepayment(credits, split)
    return _entry(
        EntryType.PREPAYMENT, on, loan_id, memo, debits={cash_account: split.total}, credits=credits
    )


def settlement(amount: Fen, *, on: date, memo: str = "") -> JournalEntry:
    """A channel settles collected payments into the custody account (no loan: it is a batch)."""
    return _simple(EntryType.SETTLEMENT, Account.CUSTODY_CASH, Account.CLEARING, amount, None, on, memo)


def charge_off(
    *,
    principal: Fen,
    interest: Fen = ZERO,
    penalty: Fen = ZERO,
    fee: Fen = ZERO,
    loan_id: str,
    on: date,
    memo: str = "",
) -> JournalEntry:
    """Write off what is still receivable on the loan."""
    credits = {
        Account.LOANS_RECEIVABLE: principal,
        Account.INTEREST_RECEIVABLE: interest,
        Account.PENALTY_RECEIVABLE: penalty,
        Account.FEE_RECEIVABLE: fee,
    }
    return _entry(
        EntryType.CHARGE_OFF,
        on,
        loan_id,
        memo,
        debits={Account.WRITE_OFF_EXPENSE: sum(credits.values())},
        credits=credits,
    )


def recovery(
    amount: Fen, *, loan_id: str, on: date, cash_account: Account = Account.CLEARING, memo: str = ""
) -> JournalEntry:
    """Money collected on a charged-off loan."""
    return _simple(EntryType.RECOVERY, cash_account, Account.RECOVERY_INCOME, amount, loan_id, on, memo)


def reversal(entry: JournalEntry, *, on: date, reverses: str | None = None, memo: str = "") -> JournalEntry:
    """An entry that undoes `entry` by swapping every line's sides (the original stays)."""
    return JournalEntry(
        type=EntryType.REVERSAL,
        business_date=on,
        lines=tuple(Line(line.account, line.credit, line.debit, line.loan_id) for line in entry.lines),
        memo=memo or f"reversal of {entry.type.value}",
        reverses=reverses,
    )


def _add_prepayment(credits: dict[Account, int], split: PrepaymentSplit) -> None:
    for account, amount in (
        (Account.LOANS_RECEIVABLE, split.principal),
        (Account.INTEREST_RECEIVABLE, split.interest),
        (Account.FEE_INCOME, split.fee),  # charged and collected at once: no receivable
        (Account.BORROWER_PAYABLE, split.excess),
    ):
        credits[account] = credits.get(account, 0) + amount


def _simple(
    type_: EntryType, debit: Account, credit: Account, amount: Fen, loan_id: str | None, on: date, memo: str
) -> JournalEntry:
    return _entry(type_, on, loan_id, memo, debits={debit: amount}, credits={credit: amount})


def _entry(
    type_: EntryType,
    on: date,
    loan_id: str | None,
    memo: str,
    *,
    debits: Mapping[Account, int],
    credits: Mapping[Account, int],
) -> JournalEntry:
    """An entry from per-account totals; zero amounts are dropped, negative ones refused."""

    def lines(side: Mapping[Account, int], is_debit: bool) -> Iterable[Line]:
        for account, amount in side.items():
            if amount < 0:
                raise LedgerInvariantError(f"{account}: negative amount {amount}")
            if amount:
                value = Fen(amount)
                yield (
                    Line(account, value, Fen(0), loan_id)
                    if is_debit
                    else Line(account, Fen(0), value, loan_id)
                )

    return JournalEntry(type_, on, (*lines(debits, True), *lines(credits, False)), memo)
