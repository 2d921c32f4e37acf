"""A loan quote: schedule, totals and APR as the JSON the API and `lendbridge quote --json`
print, and as a human-readable table.

Amounts are integer fen, dates ISO 8601, rates decimal strings with 10 places.
`total_fees` counts every fee the borrower bears (scheduled fees plus any upfront fee
withheld from the disbursement); `total_payment` is what the borrower pays back.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TypedDict

from lendbridge.core.money import format_rate, format_yuan
from lendbridge.loans.apr import nominal_and_effective_apr, schedule_cash_flows
from lendbridge.loans.schedules import build_schedule
from lendbridge.loans.terms import LoanTerms, RepaymentMethod


class InstalmentJson(TypedDict):
    number: int
    due_date: str
    principal: int
    interest: int
    fee: int
    payment: int
    remaining_principal: int


class AprJson(TypedDict):
    nominal: str
    effective: str


class QuoteJson(TypedDict):
    instalments: list[InstalmentJson]
    total_interest: int
    total_fees: int
    total_payment: int
    apr: AprJson


def quote(terms: LoanTerms, method: RepaymentMethod, first_due: date | None = None) -> QuoteJson:
    """The quote for `terms` repaid by `method`, APR from the actual cash flows."""
    schedule = build_schedule(terms, method, first_due)
    apr = nominal_and_effective_apr(schedule_cash_flows(terms.principal_received, schedule))
    return {
        "instalments": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "principal": i.principal,
                "interest": i.interest,
                "fee": i.fee,
                "payment": i.payment,
                "remaining_principal": i.remaining_principal,
            }
            for i in schedule
        ],
        "total_interest": schedule.total_interest,
        "total_fees": schedule.total_fees + terms.upfront_fee,
        "total_payment": schedule.total_payment,
        "apr": {"nominal": format_rate(apr.nominal, 10), "effective": format_rate(apr.effective, 10)},
    }


_COLUMNS = ("No.", "Due date", "Principal", "Interest", "Fee", "Payment", "Remaining")


def render_table(data: QuoteJson) -> str:
    """The quote as a plain-text table, amounts in yuan."""
    rows = [
        (
            str(i["number"]),
            i["due_date"],
            format_yuan(i["principal"]),
            format_yuan(i["interest"]),
            format_yuan(i["fee"]),
            format_yuan(i["payment"]),
            format_yuan(i["remaining_principal"]),
        )
        for i in data["instalments"]
    ]
    widths = [max(len(column), *(len(row[n]) for row in rows)) for n, column in enumerate(_COLUMNS)]

    def line(cells: tuple[str, ...]) -> str:
        # First two columns left-aligned, amounts right-aligned.
        return "  ".join(
            c.ljust(w) if n < 2 else c.rjust(w) for n, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [line(_COLUMNS), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]
    summary = (
        ("Total interest", format_yuan(data["total_interest"])),
        ("Total fees", format_yuan(data["total_fees"])),
        ("Total payment", format_yuan(data["total_payment"])),
        ("APR (nominal)", _percent(data["apr"]["nominal"])),
        ("APR (effective)", _percent(data["apr"]["effective"])),
    )
    out.append("")
    out.extend(f"{label + ':':<17}{value}" for label, value in summary)
    return "\n".join(out)


def _percent(rate: str) -> str:
    return f"{format_rate(Decimal(rate) * 100, 4)} %"
