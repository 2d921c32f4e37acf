"""Features of an application, and their mapping onto the scorecard's inputs.

The scorecard was trained on the German credit data (see docs/risk.md); its attributes
are not ours. `scorecard_inputs` states the mapping explicitly, one line per attribute,
and leaves an attribute missing (0 points) when we have nothing that corresponds.

Alternative data does not enter the statistical model (the German data has nothing like
it); it adjusts the score through small, documented policy overlays instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from lendbridge.risk.ports import Applicant, BureauReport
from lendbridge.risk.rules import Policy

# LendBridge purposes -> German credit `purpose` categories.
PURPOSES: dict[str, str] = {
    "education": "education",
    "training": "retraining",
    "car": "car (new)",
    "used_car": "car (used)",
    "furniture": "furniture/equipment",
    "electronics": "radio/television",
    "appliances": "domestic appliances",
    "renovation": "repairs",
    "business": "business",
    "working_capital": "business",
    "medical": "others",
    "travel": "others",
    "other": "others",
}

# Occupations -> German credit `job` categories.
_JOB_MANAGEMENT = "management/ self-employed/ highly qualified employee/ officer"
_JOB_SKILLED = "skilled employee / official"
_JOB_UNSKILLED = "unskilled - resident"
_JOB_NONE = "unemployed/ unskilled - non-resident"
OCCUPATIONS: dict[str, str] = {
    "manager": _JOB_MANAGEMENT,
    "doctor": _JOB_MANAGEMENT,
    "engineer": _JOB_MANAGEMENT,
    "lawyer": _JOB_MANAGEMENT,
    "shop_owner": _JOB_MANAGEMENT,
    "self_employed": _JOB_MANAGEMENT,
    "teacher": _JOB_SKILLED,
    "civil_servant": _JOB_SKILLED,
    "nurse": _JOB_SKILLED,
    "clerk": _JOB_SKILLED,
    "technician": _JOB_SKILLED,
    "sales": _JOB_SKILLED,
    "worker": _JOB_UNSKILLED,
    "driver": _JOB_UNSKILLED,
    "courier": _JOB_UNSKILLED,
    "farmer": _JOB_UNSKILLED,
    "service": _JOB_UNSKILLED,
    "student": _JOB_NONE,
    "unemployed": _JOB_NONE,
    "retired": _JOB_NONE,
}


def normalise_occupation(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip().lower().replace(" ", "_").replace("-", "_")


def dti_band(dti: Decimal | None) -> int | None:
    """German `installment_rate_in_percentage_of_disposable_income` (1 low .. 4 high)."""
    if dti is None:
        return None
    if dti < Decimal("0.20"):
        return 1
    if dti < Decimal("0.25"):
        return 2
    if dti < Decimal("0.35"):
        return 3
    return 4


def credit_history(report: BureauReport | None) -> str | None:
    """German `credit_history` from the bureau report.

    A thin file (no accounts) stays missing: the German category "no credits taken/ all
    credits paid back duly" lumps it together with a spotless history, so neither reading
    of it would be honest.
    """
    if report is None or not report.accounts:
        return None
    if report.max_dpd_24m > 0 or report.current_overdue:
        return "delay in paying off in the past"
    if all(a.status == "closed" for a in report.accounts):
        return "all credits at this bank paid back duly"
    if any(a.lender != "bank" for a in report.open_accounts):
        return "critical account/ other credits existing (not at this bank)"
    return "existing credits paid back duly till now"


def other_instalment_plans(report: BureauReport | None) -> str | None:
    """German `other_installment_plans`: open instalment debts at banks or at 'stores'."""
    if report is None:
        return None
    kinds = {(a.kind, a.lender) for a in report.open_accounts if a.kind != "credit_card"}
    if any(lender == "bank" for _, lender in kinds):
        return "bank"
    if kinds:
        return "stores"
    return "none"


def level_payment(amount: int, annual_rate: Decimal, term: int) -> int:
    """The equal-instalment payment: an estimate used before a product is priced."""
    r = annual_rate / 12
    if r == 0:
        return -(-amount // term)
    factor = (1 + r) ** term
    return int((Decimal(amount) * r * factor / (factor - 1)).to_integral_value(ROUND_HALF_UP))


@dataclass(frozen=True)
class AddressCheck:
    consistent: bool | None  # None: fewer than two places known
    places: Mapping[str, str]  # source -> city-level code (4 digits)


def address_consistency(
    id_region: str | None, delivery_city: str | None, lbs_city: str | None, ip_city: str | None
) -> AddressCheck:
    """Compare the city-level (4-digit) region of the ID, delivery address and device.

    Consistent: every known place agrees (at least two known). Inconsistent: the delivery
    city and the device's city disagree. An ID region that differs from where the
    borrower is now proves little on its own (the ID records the household registration;
    hundreds of millions live elsewhere), so that alone is neither.
    """
    places = {
        source: code[:4]
        for source, code in (
            ("id", id_region),
            ("delivery", delivery_city),
            ("lbs", lbs_city),
            ("ip", ip_city),
        )
        if code
    }
    device = places.get("lbs") or places.get("ip")
    delivery = places.get("delivery")
    if delivery and device and delivery != device:
        return AddressCheck(False, places)
    known = [c for c in (places.get("id"), delivery, device) if c]
    if len(known) >= 2 and len(set(known)) == 1:
        return AddressCheck(True, places)
    return AddressCheck(None, places)


def build_features(
    *,
    applicant: Applicant,
    report: BureauReport | None,
    amount: int,
    term: int,
    purpose: str,
    monthly_income: int | None,
    enrolment_confirmed: bool | None,
    address: AddressCheck,
    on_time_instalments: int,
    policy: Policy,
) -> dict[str, object]:
    """The application's features (JSON-able: they go into the decision record)."""
    income = monthly_income if monthly_income else (report.estimated_monthly_income if report else None)
    existing_debt = report.monthly_debt_payment if report else 0
    estimate = level_payment(amount, policy.reference_rate, term)
    dti = (
        (Decimal(existing_debt + estimate) / income).quantize(Decimal("0.0001"))
        if income and income > 0
        else None
    )
    telecom = report.telecom_monthly_spend if report else None
    return {
        "amount": amount,
        "term": term,
        "purpose": purpose,
        "age": applicant.age,
        "occupation": normalise_occupation(applicant.occupation),
        "monthly_income": income,
        "income_source": "declared" if monthly_income else ("bureau_estimate" if income else None),
        "existing_monthly_debt": existing_debt,
        "estimated_instalment": estimate,
        "dti": str(dti) if dti is not None else None,
        "open_accounts": len(report.open_accounts) if report else None,
        "max_dpd_24m": report.max_dpd_24m if report else None,
        "current_overdue_accounts": report.current_overdue if report else None,
        "inquiries_3m": report.inquiries_3m if report else None,
        "utilisation": str(report.utilisation) if report and report.utilisation is not None else None,
        "telecom_monthly_spend": telecom,
        "telecom_spend_positive": telecom is not None and telecom >= policy.telecom_spend_min,
        "address_consistent": address.consistent,
        "address_places": dict(address.places),
        "enrolment_confirmed": enrolment_confirmed,
        "on_time_instalments": on_time_instalments,
        "credit_history": credit_history(report),
        "other_installment_plans": other_instalment_plans(report),
    }


def scorecard_inputs(features: Mapping[str, object]) -> dict[str, object]:
    """LendBridge features -> the German credit attributes the scorecard was trained on."""
    occupation = features.get("occupation")
    dti = features.get("dti")
    purpose = features.get("purpose")
    open_accounts = features.get("open_accounts")
    return {
        # loan term in months: same meaning
        "duration_in_month": features.get("term"),
        # bureau history -> the German history categories (see credit_history)
        "credit_history": features.get("credit_history"),
        # our purposes -> theirs (PURPOSES); unknown purposes are missing
        "purpose": PURPOSES.get(str(purpose)) if purpose else None,
        # (existing debt + estimated instalment) / income -> their 4 instalment-rate bands
        "installment_rate_in_percentage_of_disposable_income": dti_band(Decimal(str(dti)) if dti else None),
        "age_in_years": features.get("age"),
        # open instalment debts at banks / other lenders -> bank / stores / none
        "other_installment_plans": features.get("other_installment_plans"),
        # open accounts at all lenders (theirs: credits at this bank); at least 1 as in the data
        "number_of_existing_credits_at_this_bank": max(1, int(str(open_accounts)))
        if open_accounts is not None
        else None,
        # occupation -> the 4 German job categories (OCCUPATIONS)
        "job": OCCUPATIONS.get(str(occupation)) if occupation else None,
        # telecom spend >= the policy minimum ~ a phone registered in the customer's name
        "telephone": None
        if features.get("telecom_monthly_spend") is None
        else (
            "yes, registered under the customers name" if features.get("telecom_spend_positive") else "none"
        ),
    }


def overlay_points(features: Mapping[str, object], policy: Policy) -> dict[str, int]:
    """Policy overlays from alternative data (expert judgement, not fitted: see docs)."""
    points: dict[str, int] = {}
    if features.get("telecom_spend_positive"):
        points["telecom_spend"] = policy.overlays.telecom_spend
    consistent = features.get("address_consistent")
    if consistent is True:
        points["address_consistent"] = policy.overlays.address_consistent
    elif consistent is False:
        points["address_inconsistent"] = policy.overlays.address_inconsistent
    if features.get("enrolment_confirmed") is True:
        points["enrolment_confirmed"] = policy.overlays.enrolment_confirmed
    return points
