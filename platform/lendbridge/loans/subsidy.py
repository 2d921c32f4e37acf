"""Merchant-subsidised 0 % instalments (免息分期): the merchant pays the interest.

The borrower repays exactly the price in instalments, so the borrower's APR is 0. The
institution still earns its target rate: it pays the merchant the present value of the
borrower's payments at that rate, and the difference from the principal is the merchant's
subsidy. The institution's yield on what it actually paid out therefore equals the target
rate (up to the rounding of the subsidy to a fen). The subsidy is received at once but
earned over the loan's life, so it is deferred and recognised period by period with the
effective-interest method (`recognition_schedule`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen, round_fen
from lendbridge.loans.apr import Apr, CashFlow, nominal_and_effective_apr, schedule_cash_flows
from lendbridge.loans.interest import MONTHS_PER_YEAR, PRECISION
from lendbridge.loans.schedules import Schedule, build_schedule
from lendbridge.loans.terms import LoanTerms, RepaymentMethod, require_rate


@dataclass(frozen=True)
class SubsidisedLoan:
    schedule: Schedule  # what the borrower repays: principal only
    subsidy: Fen  # borne by the merchant, withheld from its disbursement
    merchant_disbursement: Fen  # principal - subsidy
    borrower_apr: Apr  # zero
    institution_apr: Apr  # on merchant_disbursement: the target rate

    @property
    def principal(self) -> Fen:
        return self.schedule.principal


def subsidise(terms: LoanTerms, method: RepaymentMethod, target_annual_rate: Decimal) -> SubsidisedLoan:
    """Price a 0 % instalment loan so the institution earns `target_annual_rate` (nominal)."""
    require_rate(target_annual_rate, "target_rate")
    if target_annual_rate == 0:
        raise InvalidParameter("a subsidised loan needs a positive target rate", param="target_rate")
    if terms.annual_rate != 0 or terms.monthly_fee_rate != 0 or terms.upfront_fee != 0:
        raise InvalidParameter(
            "a subsidised 0 % loan charges the borrower no interest and no fees", param="annual_rate"
        )
    schedule = build_schedule(terms, method)
    flows = schedule_cash_flows(terms.principal, schedule)
    with localcontext(prec=PRECISION):
        discount = 1 + target_annual_rate / MONTHS_PER_YEAR
        present_value = sum((Decimal(f.amount) / discount**f.period for f in flows[1:]), Decimal(0))
        subsidy = round_fen(terms.principal - present_value)
    disbursed = Fen(terms.principal - subsidy)
    return SubsidisedLoan(
        schedule=schedule,
        subsidy=subsidy,
        merchant_disbursement=disbursed,
        borrower_apr=nominal_and_effective_apr(flows),
        institution_apr=nominal_and_effective_apr((CashFlow(0, -disbursed), *flows[1:])),
    )


def recognition_schedule(loan: SubsidisedLoan) -> tuple[Fen, ...]:
    """Subsidy income earned in each instalment period (effective-interest method).

    Income = carrying amount x the institution's periodic yield; the carrying amount
    starts at what was paid out and falls by each payment. The last period takes the
    rounding, so the amounts add up to the subsidy exactly.
    """
    carrying = Decimal(loan.merchant_disbursement)
    amounts: list[Fen] = []
    instalments = loan.schedule.instalments
    with localcontext(prec=PRECISION):
        for instalment in instalments[:-1]:
            growth = (1 + loan.institution_apr.monthly_irr) ** instalment.months - 1
            income = round_fen(carrying * growth)
            amounts.append(income)
            carrying += income - instalment.payment
    amounts.append(Fen(loan.subsidy - sum(amounts)))
    return tuple(amounts)
