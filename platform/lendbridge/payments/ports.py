"""The ports payments talks through: payment channels, the custody bank, loans and identity.

Everything here is a value type or a Protocol, so the pure code (routing, engine,
reconciliation) and the unit tests use fakes, and the edges plug in the real adapters
(`channels.py` for channels, `adapters.py` for the loans and identity services).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from lendbridge.payments.instructions import Direction

Uow = Any
"""A `lendbridge.uow.UnitOfWork`; kept abstract so that this module stays framework-free."""


class PartyKind(StrEnum):
    CUSTODY = "custody"  # an institution's custody account at the custody bank
    CARD = "card"  # a borrower's bank card
    SETTLEMENT = "settlement"  # a merchant's settlement account


@dataclass(frozen=True)
class Party:
    """One side of a payment. `number` is the full account number: kept in memory only."""

    kind: PartyKind
    bank_code: str
    number: str
    name: str = ""

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def masked(self) -> str:
        return f"{self.bank_code} ****{self.last4}"

    def __repr__(self) -> str:  # never print a full account number
        return f"Party({self.kind.value}, {self.masked()})"


@dataclass(frozen=True)
class Order:
    """What a channel is asked to execute. The instruction id is the channel's dedupe key."""

    instruction_id: str
    direction: Direction
    amount: int
    debit: Party
    credit: Party
    currency: str = "CNY"
    memo: str = ""

    @property
    def custody(self) -> Party:
        return self.debit if self.direction is Direction.PAYOUT else self.credit

    @property
    def counterparty(self) -> Party:
        return self.credit if self.direction is Direction.PAYOUT else self.debit


class ChannelStatus(StrEnum):
    SUCCEEDED = "succeeded"  # executed: money moved
    PROCESSING = "processing"  # accepted, outcome follows (callback or query)
    FAILED = "failed"  # not executed, and it never will be under this id (code says why)
    NOT_FOUND = "not_found"  # the channel has no record of the id (query only)
    CLOSED = "closed"  # voided by `close`: it can never execute under this id
    REVERSED = "reversed"  # executed, later returned (e.g. the payee's account was closed)


@dataclass(frozen=True)
class Reply:
    """The channel's answer to submit, query, close or a callback."""

    instruction_id: str
    status: ChannelStatus
    code: str | None = None
    channel_ref: str | None = None
    amount: int | None = None


class ChannelError(Exception):
    """A transport failure talking to a channel."""


class ChannelUnreachable(ChannelError):
    """The request was never delivered (connection refused, DNS): the channel has not seen it."""


class ChannelTimeout(ChannelError):
    """The request may have been delivered and executed; the reply did not arrive."""


class CallbackInvalid(Exception):
    """A callback whose signature or body does not verify."""


@dataclass(frozen=True)
class StatementRow:
    """One executed instruction in a channel's daily statement."""

    instruction_id: str
    channel_ref: str
    direction: Direction
    amount: int
    status: ChannelStatus
    executed_at: datetime
    custody_account: str


@dataclass(frozen=True)
class CustodyRow:
    """One movement on a custody account (debit = money out)."""

    reference: str  # the instruction id the movement executed
    channel: str
    side: str  # "debit" | "credit"
    amount: int
    booked_at: datetime
    balance_after: int


@dataclass(frozen=True)
class CustodyStatement:
    account_number: str
    day: date
    opening_balance: int
    closing_balance: int
    rows: tuple[CustodyRow, ...]


class PaymentChannel(Protocol):
    """A payment channel (clearing network or bank-direct). Every call may raise ChannelError."""

    name: str

    def submit(self, order: Order, timeout: float) -> Reply:
        """Execute `order` (idempotent by instruction id): SUCCEEDED, PROCESSING or FAILED."""
        ...

    def query(self, instruction_id: str, timeout: float) -> Reply:
        """What the channel knows of the id (NOT_FOUND if nothing)."""
        ...

    def close(self, instruction_id: str, timeout: float) -> Reply:
        """Void an id the channel may not have received: afterwards it can never execute.

        Returns CLOSED, or the status it already had (SUCCEEDED/FAILED/PROCESSING) if it
        was received after all. This is what makes "not received" a confirmed answer.
        """
        ...

    def statement(self, day: date) -> list[StatementRow]:
        """The channel's statement of `day` (Asia/Shanghai business date)."""
        ...

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> Reply:
        """Parse a callback the channel sent us; raises CallbackInvalid if it does not verify."""
        ...


class CustodyBank(Protocol):
    def statement(self, account_number: str, day: date) -> CustodyStatement:
        """The account's statement of `day`: opening/closing balance and every movement."""
        ...


# -- loans and identity -----------------------------------------------------------------


@dataclass(frozen=True)
class PayableLoan:
    """What payments needs to know about a loan to disburse it."""

    loan_id: str
    tenant_id: str
    livemode: bool
    institution_id: str
    borrower_id: str
    state: str
    disburse_to: str  # "borrower" | "merchant"
    principal: int
    upfront_fee: int = 0
    subsidy: int = 0
    merchant: Party | None = None
    test_clock_id: str | None = None

    @property
    def payout_amount(self) -> int:
        """Cash out of custody: principal less the upfront fee and the merchant subsidy."""
        return self.principal - self.upfront_fee - self.subsidy


@dataclass(frozen=True)
class Due:
    """An instalment due for auto-debit."""

    loan_id: str
    tenant_id: str
    livemode: bool
    institution_id: str
    borrower_id: str
    due_date: date
    amount: int  # still unpaid for this instalment
    test_clock_id: str | None = None


class LoanServicing(Protocol):
    """The loan engine as payments uses it (lendbridge.loans.services)."""

    def payable_loan(self, uow: Uow, loan_id: str) -> PayableLoan: ...

    def start_disbursement(self, uow: Uow, loan_id: str) -> None: ...

    def record_disbursement(
        self, uow: Uow, loan_id: str, *, paid_to: str, amount_paid: int, external_ref: str
    ) -> None: ...

    def record_disbursement_failure(self, uow: Uow, loan_id: str, reason: str) -> None: ...

    def record_repayment(
        self, uow: Uow, loan_id: str, amount: int, *, source: str, external_ref: str
    ) -> None: ...

    def dues(self, uow: Uow, business_date: date, *, test_clock_id: str | None) -> Sequence[Due]:
        """Instalments due on `business_date` with money still owed (all tenants)."""
        ...

    def amount_due(self, uow: Uow, loan_id: str, due_date: date | None) -> int:
        """What is still unpaid of the instalment due on `due_date` (0 when paid); with None,
        of every instalment due by today (overdue ones with their penalty)."""
        ...


class PayoutAccounts(Protocol):
    """The identity area's access to a borrower's card (full number, for the channel only)."""

    def payout_account(self, uow: Uow, borrower_id: str) -> Party: ...
