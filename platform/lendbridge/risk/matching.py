"""Product matching: which of the partner's products fit an application, and why not.

Every product gets a verdict with reason codes from the catalogue, so a decision can say
"product A: region not served; product B: matched". Matched products are ranked by the
rate their grid gives the applicant's grade, then by the largest amount they allow.

The region that counts is where the borrower is (LBS city, else the IP's city), falling
back to the region of the ID number or business licence; the record says which was used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lendbridge.risk.ports import ProductTerms


@dataclass(frozen=True)
class MatchRequest:
    borrower_type: str
    amount: int | None  # None for a credit line: any amount the product allows
    term: int | None
    credit_line: bool
    age: int | None
    region_code: str | None
    region_source: str | None
    occupation: str | None
    score: int
    grade: str
    merchant_id: str | None
    to_merchant: bool = False


@dataclass(frozen=True)
class Candidate:
    product: ProductTerms
    matched: bool
    reasons: tuple[str, ...]  # reason codes of the failed checks (empty when matched)
    checks: tuple[str, ...]  # human-readable explanation, one line per check

    def explain(self) -> dict[str, object]:
        return {
            "product": self.product.product_id,
            "institution": self.product.institution_id,
            "matched": self.matched,
            "reasons": list(self.reasons),
            "checks": list(self.checks),
        }


def choose_region(
    lbs_city: str | None, ip_city: str | None, id_region: str | None
) -> tuple[str | None, str | None]:
    for source, code in (("lbs", lbs_city), ("ip", ip_city), ("id", id_region)):
        if code:
            return code, source
    return None, None


def evaluate(product: ProductTerms, req: MatchRequest) -> Candidate:
    fails: list[str] = []
    checks: list[str] = []

    def check(ok: bool, code: str, text: str) -> None:
        checks.append(("ok: " if ok else "no: ") + text)
        if not ok and code not in fails:
            fails.append(code)

    wants_line = req.credit_line
    is_line = product.kind == "credit_line"
    check(
        wants_line == is_line,
        "no_eligible_product",
        f"kind {product.kind} {'fits' if wants_line == is_line else 'does not fit'} "
        f"a {'credit line' if wants_line else 'loan'} request",
    )
    check(
        product.borrower_type == req.borrower_type,
        "borrower_type_mismatch",
        f"borrower type {req.borrower_type} (product: {product.borrower_type})",
    )
    if product.kind == "merchant_subsidized":
        ok = (
            req.merchant_id is not None
            and req.to_merchant
            and (not product.merchants or req.merchant_id in product.merchants)
        )
        check(
            ok,
            "no_eligible_product",
            "subsidised by the merchant, who is paid directly"
            if ok
            else "a subsidised product needs its merchant and a payout to that merchant",
        )
    if req.amount is not None:
        if req.amount > product.max_amount:
            check(False, "amount_above_limit", f"amount {req.amount} above the maximum {product.max_amount}")
        elif req.amount < product.min_amount:
            check(
                False, "amount_below_minimum", f"amount {req.amount} below the minimum {product.min_amount}"
            )
        else:
            check(True, "", f"amount within {product.min_amount}-{product.max_amount}")
    if req.term is not None:
        ok = product.min_term <= req.term <= product.max_term
        check(
            ok,
            "term_not_offered",
            f"term {req.term} months {'within' if ok else 'outside'} {product.min_term}-{product.max_term}",
        )
    if product.min_age is not None or product.max_age is not None:
        lo, hi = product.min_age or 0, product.max_age or 200
        ok = req.age is not None and lo <= req.age <= hi
        check(
            ok,
            "age_out_of_range",
            f"age {'unknown' if req.age is None else req.age} {'within' if ok else 'outside'} {lo}-{hi}",
        )
    if product.regions:
        ok = req.region_code is not None and any(req.region_code.startswith(p) for p in product.regions)
        check(
            ok,
            "region_not_served",
            f"region {req.region_code or 'unknown'} (from {req.region_source or '-'}) "
            f"{'in' if ok else 'not in'} {', '.join(product.regions)}",
        )
    if product.occupations:
        ok = req.occupation is not None and req.occupation in product.occupations
        basis = f" ({product.basis}-based)" if product.basis else ""
        check(
            ok,
            "occupation_not_eligible",
            f"occupation {req.occupation or 'unknown'} "
            f"{'eligible' if ok else 'not eligible'} for {', '.join(product.occupations)}{basis}",
        )
    if product.min_score is not None:
        ok = req.score >= product.min_score
        check(ok, "score_below_min", f"score {req.score} {'>=' if ok else '<'} minimum {product.min_score}")
    if product.min_grade is not None:
        ok = req.grade <= product.min_grade
        check(
            ok,
            "score_below_min",
            f"grade {req.grade} {'within' if ok else 'below'} minimum {product.min_grade}",
        )
    ok = req.grade in product.rate_grid
    check(ok, "score_below_min", f"grade {req.grade} {'priced' if ok else 'not priced'} by the rate grid")
    return Candidate(product, not fails, tuple(fails), tuple(checks))


def match(products: Sequence[ProductTerms], req: MatchRequest) -> list[Candidate]:
    """Every product with its verdict; matched ones first, best first."""
    candidates = [evaluate(p, req) for p in products]

    def rank(c: Candidate) -> tuple[int, object, int, str]:
        rate = c.product.rate_grid.get(req.grade)
        return (
            0 if c.matched else 1,
            rate if rate is not None else 0,
            -c.product.max_amount,
            c.product.product_id,
        )

    return sorted(candidates, key=rank)


def decline_reasons(candidates: Sequence[Candidate]) -> list[str]:
    """Why nothing matched: `no_eligible_product` plus the reasons common to the candidates."""
    codes = ["no_eligible_product"]
    for c in candidates:
        for code in c.reasons:
            if code not in codes:
                codes.append(code)
    return codes
