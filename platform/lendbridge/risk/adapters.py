"""Adapters from the risk ports to the other areas' services.

Each adapter is a thin translation: it calls one service function of identity, products
or loans inside the caller's unit of work and converts the answer into the risk port's
value types, so the decision pipeline never depends on another area's models.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from lendbridge.risk.ports import Applicant, LoanRequest, OriginatedLoan, ProductTerms
from lendbridge.uow import UnitOfWork


def applicant_from_facts(facts: Any) -> Applicant:
    """identity's BorrowerFacts -> Applicant (the ID number or USCC appears only as its
    blind index and the last four characters its mask already shows)."""
    indexes: Mapping[str, str] = facts.blind_indexes or {}
    masked_id = (facts.masked or {}).get("id_number") or (facts.masked or {}).get("uscc")
    return Applicant(
        borrower_id=facts.borrower_id,
        type=facts.type,
        kyc_status=facts.kyc_status,
        age=facts.age,
        sex=facts.sex,
        region_code=facts.region_code,
        occupation=facts.occupation,
        employer_known=bool(facts.employer),
        address_city=facts.address_city,
        id_index=indexes.get("id_number") or indexes.get("uscc"),
        phone_index=indexes.get("phone"),
        card_index=indexes.get("bank_card"),
        id_tail=masked_id[-4:] if masked_id and len(masked_id) == 18 else None,
        erased=bool(facts.erased),
        test_clock_id=facts.test_clock_id,
    )


class IdentityFacts:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def applicant(self, borrower_id: str) -> Applicant:
        from lendbridge.core.errors import NotFound
        from lendbridge.identity import services as identity

        try:
            facts = identity.borrower_facts(self.uow, borrower_id)
        except NotFound as exc:
            raise NotFound(f"No such borrower: '{borrower_id}'", param="borrower") from exc
        return applicant_from_facts(facts)


class IdentityConsents:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def consents_in_force(self, borrower_id: str, kinds: Collection[str], at: datetime) -> frozenset[str]:
        from lendbridge.identity import services as identity

        return identity.consents_in_force(self.uow, borrower_id, kinds, at)


def _decimal(value: Any, default: str = "0") -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(default)


def product_terms(p: Any) -> ProductTerms:
    """A products.models.Product row -> ProductTerms, eligibility as products stores it."""
    elig: Mapping[str, Any] = p.eligibility or {}
    reward: Mapping[str, Any] = p.pricing_reward or {}
    return ProductTerms(
        product_id=p.id,
        institution_id=p.tenant_id,
        name=p.name,
        kind=p.kind,
        borrower_type=p.borrower_type,
        methods=tuple(p.methods or ()),
        min_amount=p.amount_min,
        max_amount=p.amount_max,
        min_term=p.term_min,
        max_term=p.term_max,
        min_rate=_decimal(p.rate_min),
        max_rate=_decimal(p.rate_max),
        rate_grid={str(g): _decimal(r) for g, r in (p.rate_grid or {}).items()},
        regions=tuple(str(r) for r in elig.get("regions") or ()),
        occupations=tuple(str(o).strip().lower() for o in elig.get("occupations") or ()),
        min_age=elig.get("min_age"),
        max_age=elig.get("max_age"),
        min_score=elig.get("min_score"),
        min_grade=elig.get("min_grade"),
        monthly_fee_rate=_decimal(p.monthly_fee_rate),
        upfront_fee_rate=_decimal(p.upfront_fee_rate),
        upfront_fee=int(p.upfront_fee or 0),
        on_time_discount=_decimal(reward.get("rate_reduction"), "0.005"),
        on_time_instalments=int(reward.get("after_on_time_instalments", 6)),
        days_in_year=360 if p.day_count == "act/360" else 365,
    )


class AreaIntegrations:
    """The production wiring: identity for facts and consents, products for the catalogue,
    loans for history and origination."""

    def facts(self, uow: UnitOfWork) -> IdentityFacts:
        return IdentityFacts(uow)

    def consents(self, uow: UnitOfWork) -> IdentityConsents:
        return IdentityConsents(uow)

    def catalog(self, uow: UnitOfWork) -> ProductsCatalog:
        return ProductsCatalog(uow)

    def history(self, uow: UnitOfWork) -> LoansHistory:
        return LoansHistory(uow)

    def originator(self, uow: UnitOfWork) -> LoansOriginator:
        return LoansOriginator(uow)


# Partner and mode -> (expires at, catalogue version, products). Products are only ever
# added (an accepted offer re-checks its product anyway), so a copy a few seconds old can
# at worst miss a product published by another server process meanwhile.
CATALOGUE_TTL = 5.0
_catalogue_cache: dict[tuple[str | None, bool], tuple[float, int, tuple[ProductTerms, ...]]] = {}


class ProductsCatalog:
    """products.list_available_products: active, same mode, the partner on any allow-list;
    kept per process for CATALOGUE_TTL seconds."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def available_products(self) -> Sequence[ProductTerms]:
        from lendbridge.products import services as products

        key = (self.uow.ctx.tenant_id, self.uow.ctx.livemode)
        version = products.catalogue_version()
        hit = _catalogue_cache.get(key)
        if hit is not None and hit[0] > time.monotonic() and hit[1] == version:
            return hit[2]
        found = self._read()
        if len(_catalogue_cache) > 10_000:
            _catalogue_cache.clear()
        _catalogue_cache[key] = (time.monotonic() + CATALOGUE_TTL, version, found)
        return found

    def _read(self) -> tuple[ProductTerms, ...]:
        from lendbridge.core.pagination import PageRequest
        from lendbridge.products import services as products

        found: list[ProductTerms] = []
        cursor: str | None = None
        while True:
            page = products.list_available_products(self.uow, PageRequest(limit=100, starting_after=cursor))
            found.extend(product_terms(p) for p in page.data)
            if not page.has_more or not page.data:
                return tuple(found)
            cursor = page.data[-1].id


class LoansHistory:
    """On-time instalments as the loan engine counts them (its reward counter), best loan."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def consecutive_on_time_instalments(self, borrower_id: str) -> int:
        from lendbridge.core.pagination import PageRequest
        from lendbridge.loans import services as loans

        page = loans.list_loans(self.uow, PageRequest(limit=100), borrower_id=borrower_id)
        return max((int(loan.on_time_instalments or 0) for loan in page.data), default=0)


class LoansOriginator:
    """loans.create_loan (awaiting signature) or loans.open_credit_line for business lines;
    both emit their own created event."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def originate(self, request: LoanRequest) -> OriginatedLoan:
        from lendbridge.loans import schemas as loan_schemas
        from lendbridge.loans import services as loans

        if request.kind == "credit_line":
            line = loans.open_credit_line(
                self.uow,
                borrower_id=request.borrower_id,
                product_id=request.product_id,
                limit=request.principal,
                annual_rate=request.annual_rate,
                term=request.term,
                application_id=request.application_id,
                test_clock_id=request.test_clock_id,
            )
            return OriginatedLoan(line.id, line.status, loan_schemas.credit_line_body(line), True)
        loan = loans.create_loan(
            self.uow,
            borrower_id=request.borrower_id,
            product_id=request.product_id,
            principal=request.principal,
            term=request.term,
            method=request.method,
            annual_rate=request.annual_rate,
            start_date=request.start_date,
            application_id=request.application_id,
            offer_id=request.offer_id,
            disburse_to=request.disburse_to,
            merchant=dict(request.merchant) if request.merchant else None,
            test_clock_id=request.test_clock_id,
        )
        return OriginatedLoan(loan.id, loan.status, loan_schemas.loan_body(loan), True)
