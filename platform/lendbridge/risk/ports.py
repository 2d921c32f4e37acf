"""The ports the decision pipeline works through, and the values that cross them.

The pipeline (decision.py) never imports another area: it asks these small interfaces.
Adapters (adapters.py) implement them over identity, loans/products and the bureau
simulator; tests implement them with in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from lendbridge.core.errors import ServiceUnavailable


@dataclass(frozen=True)
class Applicant:
    """What the pipeline may know about a borrower, for one decision (never persisted)."""

    borrower_id: str
    type: str  # individual | business
    kyc_status: str  # pending | verified | review | rejected
    age: int | None = None
    sex: str | None = None
    region_code: str | None = None  # GB/T 2260, 6 digits (from the ID number or USCC)
    occupation: str | None = None
    employer_known: bool = False
    address_city: str | None = None  # as written in the address (text)
    id_index: str | None = None  # blind indexes: link borrowers without seeing PII
    phone_index: str | None = None
    card_index: str | None = None
    id_tail: str | None = None  # last 4 characters of the ID number, as its mask shows them
    card_holder_matches: bool | None = None  # ID name vs card holder, when identity knows
    erased: bool = False
    test_clock_id: str | None = None


class BorrowerFactsSource(Protocol):
    def applicant(self, borrower_id: str) -> Applicant:
        """The borrower's facts; NotFound for a missing id or another tenant's."""
        ...


class ConsentChecker(Protocol):
    def consents_in_force(self, borrower_id: str, kinds: Collection[str], at: datetime) -> frozenset[str]:
        """Which of `kinds` were granted, unexpired and unrevoked at `at`."""
        ...


@dataclass(frozen=True)
class BureauRequest:
    subject: str  # the ID blind index: stable per person, opaque
    borrower_id: str
    region_code: str | None = None
    age: int | None = None
    include_alt_data: bool = False  # telecom data needs the alt_data consent
    id_tail: str | None = None


@dataclass(frozen=True)
class BureauAccount:
    kind: str  # credit_card | consumer_loan | mortgage | car_loan | bnpl
    lender: str  # bank | consumer_finance | online_platform
    limit: int  # fen
    balance: int  # fen
    monthly_payment: int  # fen
    status: str  # current | overdue | closed
    worst_dpd_24m: int


@dataclass(frozen=True)
class BureauReport:
    report_id: str
    subject: str
    generated_at: datetime
    accounts: tuple[BureauAccount, ...]
    inquiries_3m: int
    inquiries_6m: int
    telecom_monthly_spend: int | None  # fen; None without alt-data consent or no data
    estimated_monthly_income: int | None  # fen
    cached: bool = False

    @property
    def open_accounts(self) -> tuple[BureauAccount, ...]:
        return tuple(a for a in self.accounts if a.status != "closed")

    @property
    def max_dpd_24m(self) -> int:
        return max((a.worst_dpd_24m for a in self.accounts), default=0)

    @property
    def current_overdue(self) -> int:
        return sum(1 for a in self.accounts if a.status == "overdue")

    @property
    def monthly_debt_payment(self) -> int:
        return sum(a.monthly_payment for a in self.open_accounts)

    @property
    def utilisation(self) -> Decimal | None:
        revolving = [a for a in self.open_accounts if a.kind == "credit_card" and a.limit > 0]
        if not revolving:
            return None
        return (Decimal(sum(a.balance for a in revolving)) / sum(a.limit for a in revolving)).quantize(
            Decimal("0.0001")
        )


class BureauUnavailable(ServiceUnavailable):
    """The bureau did not answer within the budget, failed, or its circuit is open."""

    code = "bureau_unavailable"

    def __init__(self, cause: str) -> None:
        super().__init__(f"credit bureau unavailable: {cause}")
        self.cause = cause


class BureauPort(Protocol):
    def fetch(self, request: BureauRequest, *, at: datetime) -> BureauReport:
        """A report (possibly cached); BureauUnavailable when it cannot be had in time."""
        ...


class CounterStore(Protocol):
    def add_and_count(self, key: str, member: str, at: float, window_seconds: float) -> int:
        """Record `member` under `key` at `at` (unix seconds); return the distinct members
        seen within the last `window_seconds`, this one included. Atomic per key."""
        ...

    def add_and_count_many(self, items: Sequence[tuple[str, str, float]], at: float) -> list[int]:
        """`add_and_count` for several (key, member, window) at once (one round trip)."""
        ...


@dataclass(frozen=True)
class ProductTerms:
    """A loan product as matching and pricing need it (loans/products own the real one)."""

    product_id: str
    institution_id: str
    name: str
    kind: str  # instalment | credit_line | merchant_subsidized
    borrower_type: str  # individual | business
    methods: tuple[str, ...]
    min_amount: int
    max_amount: int
    min_term: int
    max_term: int
    min_rate: Decimal
    max_rate: Decimal
    rate_grid: Mapping[str, Decimal]  # grade -> nominal annual rate
    regions: tuple[str, ...] = ()  # GB/T 2260 code prefixes; empty: everywhere
    occupations: tuple[str, ...] = ()  # empty: any occupation
    min_age: int | None = None
    max_age: int | None = None
    min_score: int | None = None
    min_grade: str | None = None  # the worst grade the product accepts (A best)
    monthly_fee_rate: Decimal = Decimal(0)
    upfront_fee_rate: Decimal = Decimal(0)
    upfront_fee: int = 0  # fixed part, fen
    merchants: tuple[str, ...] = ()  # merchant_subsidized: the merchants it is for
    on_time_discount: Decimal = Decimal("0.005")
    on_time_instalments: int = 6
    basis: str | None = None  # e.g. provident_fund, pos_flow: what the product lends against
    days_in_year: int = 365  # day count of daily interest (credit lines): 360 or 365


class ProductCatalog(Protocol):
    def available_products(self) -> Sequence[ProductTerms]:
        """Products the calling partner may offer, published and active."""
        ...


class BorrowerHistory(Protocol):
    def consecutive_on_time_instalments(self, borrower_id: str) -> int:
        """On-time instalments in a row, most recent first, over the borrower's loans."""
        ...


@dataclass(frozen=True)
class LoanRequest:
    borrower_id: str
    product_id: str
    kind: str
    principal: int
    term: int
    method: str
    annual_rate: Decimal
    application_id: str
    offer_id: str
    disburse_to: str = "borrower"  # borrower | merchant
    merchant: Mapping[str, str] | None = None
    start_date: date | None = None
    test_clock_id: str | None = None


@dataclass(frozen=True)
class OriginatedLoan:
    loan_id: str
    status: str
    body: Mapping[str, object] = field(default_factory=dict)
    emitted_created_event: bool = False


class LoanOriginator(Protocol):
    def originate(self, request: LoanRequest) -> OriginatedLoan:
        """Create the loan (or credit line) awaiting signature."""
        ...


class Blacklist(Protocol):
    def hits(self, entries: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """Which of the (kind, key) entries are blacklisted."""
        ...
