"""`ServicesLending`: the widget's `Lending` port over the other areas' services.

identity creates the borrower and records consents; products and loans price the
indicative quote; risk creates, decides and accepts the application; loans renders and
signs the agreement; payments disburses. Each method is a translation, nothing more.
Other areas are imported inside the methods so that importing the widget stays cheap and
free of cycles.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask import current_app

from lendbridge.core.errors import Conflict, NotFound
from lendbridge.core.money import Fen, format_rate
from lendbridge.tenancy.models import Tenant
from lendbridge.uow import UnitOfWork
from lendbridge.widget.ports import (
    Agreement,
    ApplicantRequest,
    ApplicationRequest,
    ApplicationResult,
    Identified,
    IdentityCheck,
    Signer,
)

TERM = 12  # "pay in 12 instalments"
PURPOSE = "education"
# Whatever the lender publishes, borrowers can always complain to the regulator
# (国家金融监督管理总局 consumer complaints hotline).
REGULATOR_HOTLINE = "12378"
_RISK_SCENARIO_FIELDS = ("course_id", "tuition", "merchant_id", "disburse_to_merchant")
_DISBURSED = ("active", "overdue", "paid_off", "charged_off")


def _available_products(uow: UnitOfWork) -> list[Any]:
    """Every product the partner may lend under (products walks the allow-lists)."""
    from lendbridge.core.pagination import PageRequest
    from lendbridge.products import services as products

    found: list[Any] = []
    cursor: str | None = None
    while True:
        page = products.list_available_products(uow, PageRequest(limit=100, starting_after=cursor))
        found.extend(page.data)
        if not page.has_more or not page.data:
            return found
        cursor = page.data[-1].id


def _institution(uow: UnitOfWork, institution_id: str) -> Tenant | None:
    return uow.session.get(Tenant, institution_id)


def _lender(uow: UnitOfWork, institution_id: str) -> dict[str, Any]:
    """Name, custody bank and complaint channel of the lending institution."""
    from lendbridge.payments import services as payments

    tenant = _institution(uow, institution_id)
    settings = (tenant.settings or {}) if tenant is not None else {}
    try:
        custody_bank: str | None = payments.primary_custody_account(uow, institution_id).bank_name
    except Conflict:
        custody_bank = settings.get("custody_bank")
    channel = settings.get("complaint_channel") or {}
    return {
        "lender_name": tenant.name if tenant is not None else institution_id,
        "custody_bank_name": custody_bank,
        "complaint_channel": {
            "phone": channel.get("phone"),
            "email": channel.get("email"),
            "url": channel.get("url"),
            "regulator_hotline": REGULATOR_HOTLINE,
        },
    }


def _offer_body(
    uow: UnitOfWork, offer: Mapping[str, Any], lenders: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """risk's offer object -> what the widget shows for one offer."""
    institution = str(offer["institution"])
    if institution not in lenders:
        lenders[institution] = _lender(uow, institution)
    schedule = offer.get("schedule") or []
    return {
        "id": offer["id"],
        "amount": offer["amount"],
        "term": offer["term"],
        "method": offer["method"],
        "instalment_amount": schedule[0]["payment"] if schedule else None,
        "annual_rate": str(offer["annual_rate"]),
        "apr": str(offer["apr"]["nominal"]),
        "total_interest": offer["total_interest"],
        "total_fees": offer["total_fees"],
        "total_cost": offer["total_interest"] + offer["total_fees"],
        "total_payment": offer["total_payment"],
        "expires_at": offer.get("expires_at"),
        **lenders[institution],
    }


def _result(uow: UnitOfWork, application: Mapping[str, Any]) -> ApplicationResult:
    lenders: dict[str, dict[str, Any]] = {}
    status = str(application["status"])
    offers = (application.get("offers") or []) if status == "approved" else []
    return ApplicationResult(
        borrower_id=str(application["borrower"]),
        application_id=str(application["id"]),
        status=status if status in ("approved", "review", "declined") else "review",
        reason_codes=tuple(application.get("reason_codes") or ()),
        offers=tuple(_offer_body(uow, o, lenders) for o in offers if o.get("status") == "open"),
    )


class ServicesLending:
    # -- offer preview ------------------------------------------------------------------------
    def offer_preview(self, uow: UnitOfWork, *, amount: int, scenario: Mapping[str, Any]) -> dict[str, Any]:
        """The cheapest product the partner may offer for `amount` over 12 months, quoted at
        its lowest grid rate ("as low as"): the decision prices the borrower's actual rate."""
        from lendbridge.loans.quote import quote
        from lendbridge.loans.subsidy import subsidise
        from lendbridge.loans.terms import LoanTerms, RepaymentMethod
        from lendbridge.products import services as products
        from lendbridge.products.domain import BorrowerType, ProductKind

        merchant = scenario.get("merchant_id")
        best: tuple[Decimal, Any, dict[str, Any]] | None = None
        for product in _available_products(uow):
            terms = products.terms_of(product)
            allowed_merchants = (product.eligibility or {}).get("merchants") or []
            if (
                terms.kind is ProductKind.CREDIT_LINE
                or terms.borrower_type is not BorrowerType.INDIVIDUAL
                or not terms.amount_min <= amount <= terms.amount_max
                or not terms.term_min <= TERM <= terms.term_max
                or (allowed_merchants and merchant not in allowed_merchants)
            ):
                continue
            method = (
                RepaymentMethod.EQUAL_INSTALMENT
                if RepaymentMethod.EQUAL_INSTALMENT in terms.methods
                else terms.methods[0]
            )
            rate = max(terms.rate_min, min([*terms.rate_grid.values(), terms.rate_max]))
            loan_terms = LoanTerms(
                principal=Fen(amount),
                annual_rate=rate,
                term=TERM,
                start_date=uow.today(),
                monthly_fee_rate=terms.monthly_fee_rate,
                upfront_fee=terms.upfront_fee_for(amount),
            )
            q: dict[str, Any]
            if terms.kind is ProductKind.MERCHANT_SUBSIDIZED and terms.subsidy_target_rate is not None:
                sub = subsidise(loan_terms, method, terms.subsidy_target_rate)
                first = sub.schedule.instalments[0].payment
                q = {
                    "first": first,
                    "rate": Decimal(0),
                    "apr": sub.borrower_apr.nominal,
                    "total_interest": sub.schedule.total_interest,
                    "total_fees": sub.schedule.total_fees,
                    "total_payment": sub.schedule.total_payment,
                }
            else:
                quoted = quote(loan_terms, method)
                q = {
                    "first": quoted["instalments"][0]["payment"],
                    "rate": rate,
                    "apr": Decimal(quoted["apr"]["nominal"]),
                    "total_interest": quoted["total_interest"],
                    "total_fees": quoted["total_fees"],
                    "total_payment": quoted["total_payment"],
                }
            q["method"] = method.value
            if best is None or q["apr"] < best[0]:
                best = (q["apr"], product, q)
        if best is None:
            raise NotFound(
                "No loan product can finance this amount over 12 months for this partner",
                code="no_eligible_product",
            )
        _, product, q = best
        return {
            "object": "offer_preview",
            "indicative": True,
            "amount": amount,
            "term": TERM,
            "method": q["method"],
            "instalment_amount": q["first"],
            "annual_rate": format_rate(q["rate"], 10),
            "apr": format_rate(q["apr"], 10),
            "total_interest": q["total_interest"],
            "total_fees": q["total_fees"],
            "total_cost": q["total_interest"] + q["total_fees"],
            "total_payment": q["total_payment"],
            "product_id": product.id,
            **_lender(uow, product.tenant_id),
        }

    # -- applicant and identity check ----------------------------------------------------------
    def register_applicant(self, uow: UnitOfWork, request: ApplicantRequest) -> Identified:
        """The borrower with this ID number (a returning student) or a new one, and the
        consents, each recorded with the catalogue's newest version in the shown language.

        A match on the ID number alone is not enough: the name must match too, so that a
        stranger's ID number cannot be used."""
        from lendbridge.core.errors import InvalidParameter
        from lendbridge.core.pagination import PageRequest
        from lendbridge.identity import kyc
        from lendbridge.identity import services as identity

        a = request.applicant
        found = identity.list_borrowers(uow, {"id_number": a.id_number}, PageRequest(limit=1)).data
        if found:
            record = found[0]
            if record.values.get("name", "").strip() != a.name:
                # Worded like a failed real-name check: it says no more than that.
                raise InvalidParameter(
                    "The name and the ID number do not match", param="name", code="identity_mismatch"
                )
        else:
            record = identity.create_borrower(
                uow,
                {
                    "type": "individual",
                    "name": a.name,
                    "id_number": a.id_number,
                    "phone": a.phone,
                    **({"bank_card": a.bank_card} if a.bank_card else {}),
                    "metadata": {"widget_session": request.widget_session_id},
                },
            )
        borrower_id = str(record.borrower.id)
        for kind in request.consents:
            identity.grant_consent(
                uow,
                borrower_id,
                kind=kind,
                version=max(v for k, v in kyc.CONSENT_TEXTS if k == kind),
                language=request.locale,
                ip=request.ip,
                device=request.device.get("fingerprint"),
            )
        return Identified(borrower_id, str(record.borrower.kyc_status))

    def start_identity_check(self, uow: UnitOfWork, borrower_id: str) -> IdentityCheck:
        from lendbridge.identity import services as identity
        from lendbridge.identity.api import providers

        provider = providers(current_app).liveness(uow.ctx.livemode)
        check = identity.start_liveness_check(
            uow,
            borrower_id,
            kind="liveness",
            provider_name=provider.name,
            tasks=current_app.extensions["lendbridge"].tasks,
        )
        return IdentityCheck(check.status, _kyc_status(uow, borrower_id))

    def identity_check(self, uow: UnitOfWork, borrower_id: str) -> IdentityCheck:
        from lendbridge.identity import services as identity
        from lendbridge.identity.api import LIVENESS_KINDS

        checks = identity.list_checks(uow, borrower_id, LIVENESS_KINDS)
        return IdentityCheck(checks[0].status if checks else "none", _kyc_status(uow, borrower_id))

    # -- application --------------------------------------------------------------------------
    def submit_application(self, uow: UnitOfWork, request: ApplicationRequest) -> ApplicationResult:
        from lendbridge.risk import services as risk
        from lendbridge.risk.runtime import runtime
        from lendbridge.risk.schemas import ApplicationCreateSchema

        device = {
            k: v
            for k, v in (("fingerprint", request.device.get("fingerprint")), ("ip", request.ip))
            if v is not None
        }
        args = ApplicationCreateSchema().load(
            {
                "borrower": request.borrower_id,
                "amount": request.amount,
                "term": TERM,
                "purpose": PURPOSE,
                "scenario": {k: request.scenario[k] for k in _RISK_SCENARIO_FIELDS if k in request.scenario},
                "device": device,
            }
        )
        return _result(uow, risk.create_application(uow, runtime(current_app), args))

    def decision(self, uow: UnitOfWork, application_id: str) -> ApplicationResult:
        from lendbridge.risk import services as risk

        return _result(uow, risk.get_application(uow, application_id))

    def accept_offer(self, uow: UnitOfWork, application_id: str, offer_id: str) -> str:
        from lendbridge.risk import services as risk
        from lendbridge.risk.runtime import runtime

        body = risk.accept_offer(uow, runtime(current_app), application_id, offer_id)
        return str(body["loan"])

    # -- agreement and signature --------------------------------------------------------------
    def agreement(self, uow: UnitOfWork, loan_id: str, signer: Signer) -> Agreement:
        from lendbridge.loans import services as loans

        view = loans.agreement_view(uow, loan_id, signer.label)
        return Agreement(view.loan_id, view.hash, view.text, view.version)

    def sign(self, uow: UnitOfWork, loan_id: str, agreement_hash: str, signer: Signer) -> None:
        from lendbridge.loans import services as loans
        from lendbridge.payments import services as payments
        from lendbridge.payments.runtime import runtime as payments_runtime

        # Signed only if the text is still the one the borrower read (409 agreement_changed).
        loan = loans.sign_loan(uow, loan_id, signer=signer.label, ip=signer.ip, expected_hash=agreement_hash)
        ports = payments_runtime(current_app).ports
        payments.disburse_loan(uow, loan_id, ports=ports)
        try:
            # Signing the agreement authorises the instalment debits from the card on file.
            payments.create_mandate(uow, loan_id, ports=ports, signed_at=loan.signed_at)
        except Conflict as exc:
            if exc.code != "payout_account_missing":  # no card given: the borrower pays otherwise
                raise

    # -- loan views ---------------------------------------------------------------------------
    def loan_status(self, uow: UnitOfWork, loan_id: str) -> dict[str, Any]:
        from lendbridge.loans import services as loans
        from lendbridge.payments import services as payments
        from lendbridge.payments.runtime import runtime as payments_runtime

        loan = loans.get_loan(uow, loan_id)
        disbursement: dict[str, Any] | None = None
        try:
            p = payments.disbursement_of(uow, loan_id, ports=payments_runtime(current_app).ports)
        except NotFound:
            p = None
        if p is not None or loan.status in _DISBURSED:
            state = "succeeded" if loan.status in _DISBURSED else (p.state if p is not None else "pending")
            disbursement = {
                "status": state,
                "amount": p.amount if p is not None else loans.disbursement_amount(loan),
                "payee": loan.disburse_to,
                "payee_name": (loan.merchant or {}).get("name") if loan.disburse_to == "merchant" else None,
            }
        return {
            "id": loan.id,
            "status": loan.status,
            "principal": loan.principal,
            "term": loan.term,
            "apr": loan.apr_nominal,
            "disbursement": disbursement,
        }

    def repayment_view(self, uow: UnitOfWork, loan_id: str) -> dict[str, Any]:
        from lendbridge.loans import services as loans
        from lendbridge.loans.schemas import instalment_view
        from lendbridge.payments import services as payments
        from lendbridge.payments.runtime import runtime as payments_runtime

        loan = loans.get_loan(uow, loan_id)
        rows = [instalment_view(r) for r in loans.schedule_rows(uow, loan)]
        instalments = [
            {
                "number": r["number"],
                "due_date": r["due_date"],
                "principal": r["principal"],
                "interest": r["interest"],
                "amount_due": r["outstanding"],
                "status": r["status"],
            }
            for r in rows
        ]
        open_rows = [
            i for i in instalments if i["status"] not in ("paid", "charged_off") and i["amount_due"] > 0
        ]
        try:
            mandate = payments.mandate_of(uow, loan_id, ports=payments_runtime(current_app).ports)
        except NotFound:
            mandate = None
        autodebit = (
            {"bank": mandate.card_bank, "card_last4": mandate.card_last4}
            if mandate is not None and mandate.status == "active"
            else None
        )
        ports = payments_runtime(current_app).ports
        debit = payments.latest_debit_now(uow, loan_id)
        return {
            "loan_id": loan.id,
            "status": loan.status,
            "currency": "CNY",
            "principal": loan.principal,
            "outstanding": loan.principal_outstanding,
            "next_due": open_rows[0] if open_rows else None,
            "due_now": ports.loans.amount_due(uow, loan_id, None),
            "instalments": instalments,
            "lender_name": _lender(uow, loan.institution_id)["lender_name"],
            "autodebit": autodebit,
            "payment": None
            if debit is None
            else {"amount": debit.amount, "status": debit.state, "failure_code": debit.failure_code},
        }

    def pay_now(self, uow: UnitOfWork, loan_id: str) -> None:
        from lendbridge.payments import services as payments
        from lendbridge.payments.runtime import runtime as payments_runtime

        payments.debit_now(uow, loan_id, ports=payments_runtime(current_app).ports)


def _kyc_status(uow: UnitOfWork, borrower_id: str) -> str:
    """The borrower's KYC status, without decrypting their personal data."""
    from lendbridge.identity.models import Borrower

    return str(uow.get(Borrower, borrower_id).kyc_status)
