"""What the widget needs from the lending areas, as one small interface.

The widget owns no lending logic: borrowers and consents belong to identity, applications
and offers to risk, loans and agreements to loans, disbursement and collection to
payments. `lending.ServicesLending` implements this port over those areas' services; unit
tests use a fake. Amounts are integer fen, rates decimal strings, as everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lendbridge.uow import UnitOfWork


@dataclass(frozen=True)
class Applicant:
    name: str
    id_number: str  # validated (GB 11643), normalised
    phone: str  # validated mainland mobile, 11 digits
    bank_card: str | None = None  # validated (Luhn); the card instalments are debited from


@dataclass(frozen=True)
class ApplicantRequest:
    applicant: Applicant
    consents: tuple[str, ...]  # consent kinds the borrower ticked
    locale: str  # the language the consent texts were shown in
    widget_session_id: str
    device: Mapping[str, Any] = field(default_factory=dict)  # fingerprint, timezone, language, screen
    ip: str | None = None


@dataclass(frozen=True)
class Identified:
    borrower_id: str
    kyc_status: str  # pending | verified | review | rejected


@dataclass(frozen=True)
class IdentityCheck:
    status: str  # none (never started) | processing | passed | failed | review | error
    kyc_status: str


@dataclass(frozen=True)
class ApplicationRequest:
    borrower_id: str
    amount: int
    scenario: Mapping[str, Any]
    widget_session_id: str
    device: Mapping[str, Any] = field(default_factory=dict)
    ip: str | None = None
    user_agent: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplicationResult:
    borrower_id: str
    application_id: str
    status: str  # approved | review | declined
    reason_codes: tuple[str, ...]
    offers: tuple[Mapping[str, Any], ...]  # widget offer bodies, best first


@dataclass(frozen=True)
class Agreement:
    loan_id: str
    hash: str  # what the borrower signs: SM3 of the exact text shown (loans' contract rules)
    text: str  # bilingual: Chinese first, then English
    version: str | None = None


@dataclass(frozen=True)
class Signer:
    """Who signs, as the agreement names them (no personal data: ids only)."""

    label: str
    ip: str | None = None
    user_agent: str | None = None


class Lending(Protocol):
    def offer_preview(self, uow: UnitOfWork, *, amount: int, scenario: Mapping[str, Any]) -> dict[str, Any]:
        """An indicative quote for `amount` from the best product the partner may offer."""
        ...

    def register_applicant(self, uow: UnitOfWork, request: ApplicantRequest) -> Identified:
        """The borrower (a new one, or the returning one with this ID number and name) and
        the consents they gave."""
        ...

    def start_identity_check(self, uow: UnitOfWork, borrower_id: str) -> IdentityCheck:
        """Start the borrower's liveness / face-match check (KYC); it finishes in the background."""
        ...

    def identity_check(self, uow: UnitOfWork, borrower_id: str) -> IdentityCheck:
        """The latest identity check of the borrower and their KYC status."""
        ...

    def submit_application(self, uow: UnitOfWork, request: ApplicationRequest) -> ApplicationResult:
        """Create and decide the application of a registered borrower."""
        ...

    def decision(self, uow: UnitOfWork, application_id: str) -> ApplicationResult:
        """The decision of an application this widget session created."""
        ...

    def accept_offer(self, uow: UnitOfWork, application_id: str, offer_id: str) -> str:
        """Accept an offer; returns the id of the loan that awaits signature."""
        ...

    def agreement(self, uow: UnitOfWork, loan_id: str, signer: Signer) -> Agreement:
        """The agreement `signer` would sign now: its text and hash."""
        ...

    def sign(self, uow: UnitOfWork, loan_id: str, agreement_hash: str, signer: Signer) -> None:
        """Sign the loan, storing the agreement whose hash the borrower saw (anything else
        is a Conflict), start the disbursement, and authorise the instalment debits from
        the borrower's card when there is one."""
        ...

    def loan_status(self, uow: UnitOfWork, loan_id: str) -> dict[str, Any]:
        """Where the loan and its disbursement are (status, amounts, payee)."""
        ...

    def repayment_view(self, uow: UnitOfWork, loan_id: str) -> dict[str, Any]:
        """Schedule, next due instalment, outstanding balance, the auto-debit card, what is
        due by today and the latest pay-now debit."""
        ...

    def pay_now(self, uow: UnitOfWork, loan_id: str) -> None:
        """Debit everything due by today from the card on file (the borrower asked to pay)."""
        ...
