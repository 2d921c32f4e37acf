"""Risk test helpers: products, applicants, in-memory fakes of every risk port, and
ready-to-apply borrowers through the real identity API."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from lendbridge.core.ids import new_id
from lendbridge.risk import scorecard as sc
from lendbridge.risk.bureau import parse_report
from lendbridge.risk.counters import MemoryCounterStore
from lendbridge.risk.decision import Models, Ports
from lendbridge.risk.graph import MemoryNodeStore
from lendbridge.risk.ports import (
    Applicant,
    BureauReport,
    BureauRequest,
    BureauUnavailable,
    LoanRequest,
    OriginatedLoan,
    ProductTerms,
)
from lendbridge.uow import UnitOfWork
from lendbridge_sandbox.bureau import report_for
from tests.factories.identity import create_borrower, person
from tests.factories.tenancy import auth

GRID = {
    "A": Decimal("0.0720"),
    "B": Decimal("0.0960"),
    "C": Decimal("0.1280"),
    "D": Decimal("0.1650"),
    "E": Decimal("0.2100"),
}
_seq = itertools.count(1)


def product(**overrides: Any) -> ProductTerms:
    """A general consumer instalment product (individuals, ¥5,000-¥200,000, 3-36 months)."""
    base = ProductTerms(
        product_id=f"prod_{next(_seq):04d}",
        institution_id="ten_bank",
        name="Consumer instalment",
        kind="instalment",
        borrower_type="individual",
        methods=("equal_instalment", "equal_principal"),
        min_amount=500_000,
        max_amount=20_000_000,
        min_term=3,
        max_term=36,
        min_rate=Decimal("0.0600"),
        max_rate=Decimal("0.2300"),
        rate_grid=dict(GRID),
        min_age=18,
        max_age=60,
    )
    return replace(base, **overrides)


def provident_fund_product(**overrides: Any) -> ProductTerms:
    """Lends against the housing provident fund: teachers, civil servants, doctors."""
    return product(
        name="Provident-fund loan",
        occupations=("teacher", "civil_servant", "doctor", "nurse"),
        basis="provident_fund",
        rate_grid={g: r - Decimal("0.01") for g, r in GRID.items()},
        **overrides,
    )


def pos_flow_line(**overrides: Any) -> ProductTerms:
    """A business credit line against the shop's POS takings."""
    return product(
        name="POS-flow business line",
        kind="credit_line",
        borrower_type="business",
        methods=("interest_first",),
        min_amount=10_000_000,
        max_amount=500_000_000,
        min_term=12,
        max_term=12,
        occupations=(),
        basis="pos_flow",
        min_age=None,
        max_age=None,
        **overrides,
    )


def applicant(**overrides: Any) -> Applicant:
    n = next(_seq)
    base = Applicant(
        borrower_id=f"brw_{n:06d}",
        type="individual",
        kyc_status="verified",
        age=35,
        sex="female",
        region_code="310115",
        occupation="teacher",
        employer_known=True,
        address_city="上海市",
        id_index=f"idx{n:013d}",
        phone_index=f"phn{n:013d}",
        card_index=f"crd{n:013d}",
    )
    return replace(base, **overrides)


@dataclass
class FakeConsents:
    missing: set[tuple[str, str]] = field(default_factory=set)

    def consents_in_force(self, borrower_id: str, kinds: Collection[str], at: datetime) -> frozenset[str]:
        return frozenset(k for k in kinds if (borrower_id, k) not in self.missing)


CLEAN_FILE = {
    "accounts": [
        {
            "kind": "credit_card",
            "lender": "bank",
            "limit": 3_000_000,
            "balance": 600_000,
            "monthly_payment": 60_000,
            "status": "current",
            "worst_dpd_24m": 0,
        },
        {
            "kind": "consumer_loan",
            "lender": "bank",
            "limit": 5_000_000,
            "balance": 0,
            "monthly_payment": 0,
            "status": "closed",
            "worst_dpd_24m": 0,
        },
    ],
    "inquiries_3m": 1,
    "inquiries_6m": 2,
    "telecom_monthly_spend": 19_900,
    "estimated_monthly_income": 1_800_000,
}


@dataclass
class FakeBureau:
    """A clean file by default; `behaviour` other than "clean" takes the simulator's
    deterministic generator (e.g. "delinquent"), without latency."""

    down: bool = False
    behaviour: str = "clean"
    calls: int = 0

    def fetch(self, request: BureauRequest, *, at: datetime) -> BureauReport:
        self.calls += 1
        if self.down:
            raise BureauUnavailable("timeout")
        if self.behaviour == "clean":
            raw = {**CLEAN_FILE, "subject": request.subject, "generated_at": at.isoformat()}
            if not request.include_alt_data:
                raw["telecom_monthly_spend"] = None
        else:
            raw = report_for(
                request.subject,
                seed="unit",
                behaviour=self.behaviour,
                include_alt_data=request.include_alt_data,
                now=at,
            )
        return parse_report(new_id("bur"), raw, cached=False)


@dataclass
class FakeCatalog:
    products: Sequence[ProductTerms] = ()

    def available_products(self) -> Sequence[ProductTerms]:
        return list(self.products)


@dataclass
class FakeHistory:
    on_time: int = 0

    def consecutive_on_time_instalments(self, borrower_id: str) -> int:
        return self.on_time


@dataclass
class FakeOriginator:
    requests: list[LoanRequest] = field(default_factory=list)

    def originate(self, request: LoanRequest) -> OriginatedLoan:
        self.requests.append(request)
        loan_id = new_id("loan")
        body = {
            "object": "loan",
            "id": loan_id,
            "status": "pending_signature",
            "livemode": False,
            "created": int(datetime.now(UTC).timestamp()),
            "principal": request.principal,
            "disburse_to": request.disburse_to,
        }
        return OriginatedLoan(loan_id, "pending_signature", body)


@dataclass
class FakeBlacklist:
    keys: set[str] = field(default_factory=set)

    def hits(self, entries: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, v) for k, v in entries if v in self.keys]


def ports(**overrides: Any) -> Ports:
    base = Ports(
        consents=FakeConsents(),
        bureau=FakeBureau(),
        counters=MemoryCounterStore(),
        catalog=FakeCatalog([product(), provident_fund_product()]),
        history=FakeHistory(),
        graph=MemoryNodeStore(),
        blacklist=FakeBlacklist(),
    )
    return replace(base, **overrides)


def models() -> Models:
    return Models(sc.load(sc.CHAMPION_VERSION), sc.load(sc.CHALLENGER_VERSION))


# -- through the app ------------------------------------------------------------------------
@dataclass
class TestIntegrations:
    """Real identity (facts, consents); products, history and loans faked where the test
    says so. `real_catalog` etc. switch a port to the area's real service."""

    __test__ = False
    catalog_: FakeCatalog = field(default_factory=lambda: FakeCatalog([product(), provident_fund_product()]))
    history_: FakeHistory = field(default_factory=FakeHistory)
    originator_: FakeOriginator = field(default_factory=FakeOriginator)

    def facts(self, uow: UnitOfWork) -> Any:
        from lendbridge.risk.adapters import IdentityFacts

        return IdentityFacts(uow)

    def consents(self, uow: UnitOfWork) -> Any:
        from lendbridge.risk.adapters import IdentityConsents

        return IdentityConsents(uow)

    def catalog(self, uow: UnitOfWork) -> FakeCatalog:
        return self.catalog_

    def history(self, uow: UnitOfWork) -> FakeHistory:
        return self.history_

    def originator(self, uow: UnitOfWork) -> FakeOriginator:
        return self.originator_


def use_test_integrations(app: Flask) -> TestIntegrations:
    from lendbridge.risk.runtime import runtime

    integ = TestIntegrations()
    runtime(app).integrations = integ
    return integ


def fast_bureau(app: Flask, latency_ms: tuple[float, float] = (0.0, 1.0)) -> Any:
    from lendbridge.risk.runtime import runtime

    sim = runtime(app).backend
    sim.latency_ms = latency_ms
    return sim


def set_kyc(app: Flask, borrower_id: str, status: str = "verified") -> None:
    """Test setup: mark a borrower's KYC result (the liveness flow has its own tests)."""
    from lendbridge.identity.models import Borrower

    db = app.extensions["lendbridge"].db
    with db.writer() as session, session.begin():
        session.execute(update(Borrower).where(Borrower.id == borrower_id).values(kyc_status=status))


def grant(client: FlaskClient, key: str, borrower_id: str, kind: str) -> str:
    resp = client.post(
        f"/v1/borrowers/{borrower_id}/consents", json={"kind": kind, "version": "2026-01"}, headers=auth(key)
    )
    assert resp.status_code == 201, resp.get_json()
    return str(resp.get_json()["id"])


def ready_borrower(
    app: Flask,
    client: FlaskClient,
    key: str,
    *,
    kyc: str = "verified",
    consents: Sequence[str] = ("credit_bureau_query", "alt_data"),
    **fields: Any,
) -> tuple[str, list[str]]:
    """A borrower created through the API, KYC marked, consents granted: (id, consent ids)."""
    if fields.get("type", "individual") == "individual":
        fields.setdefault("id_number", magic_id("995"))  # a prime bureau file: decisions are stable
        body = person(**fields)
    else:
        body = fields
    created = create_borrower(client, key, body)
    set_kyc(app, created.id, kyc)
    ids = [grant(client, key, created.id, kind) for kind in consents]
    return created.id, ids


_ip = itertools.count(1)


def application(borrower_id: str, consent_ids: Sequence[str] = (), **overrides: Any) -> dict[str, Any]:
    n = next(_ip)
    body: dict[str, Any] = {
        "borrower": borrower_id,
        "amount": 3_000_000,
        "term": 12,
        "purpose": "education",
        "monthly_income": 4_000_000,
        "consent_ids": list(consent_ids),
        "device": {
            "fingerprint": f"fp-{borrower_id}-{n}",
            "ip": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
            "lbs_city": "310100",
            "ip_city": "310100",
        },
        "scenario": {"course_id": "course-101", "merchant_id": "school_demo", "enrolment_confirmed": True},
    }
    body.update(overrides)
    return body


@dataclass(frozen=True)
class Keys:
    partner: str
    partner_id: str
    other_partner: str
    admin: str
    second_admin: str


def partner_and_operator(app: Flask) -> Keys:
    """A partner with a registered school, a second partner, and two platform staff."""
    from lendbridge.db import SYSTEM
    from lendbridge.tenancy import services as tenancy
    from lendbridge.tenancy.domain import StaffRole, TenantKind
    from tests.factories.tenancy import make_tenant

    svc = app.extensions["lendbridge"]
    operator_id = make_tenant(app, TenantKind.OPERATOR, "Ops").tenant_id
    other = make_tenant(app, TenantKind.PARTNER, "Other partner")
    with UnitOfWork(svc.db, SYSTEM, clock=svc.clock) as uow:
        partner = tenancy.create_tenant(
            uow,
            TenantKind.PARTNER,
            "EduLink",
            {
                "merchants": [
                    {
                        "id": "school_demo",
                        "name": "Mingde Vocational School",
                        "settlement_account": "110060149018000123",
                    }
                ]
            },
        )
        pkey = tenancy.issue_api_key(uow, partner, livemode=False)
        operator = tenancy.get_tenant(uow, operator_id)
        staff = [
            tenancy.create_staff_user(
                uow, operator, f"risk{n}-{operator.id}@example.test", f"Officer {n}", StaffRole.RISK_OFFICER
            )
            for n in (1, 2)
        ]
        admin_keys = [tenancy.issue_api_key(uow, operator, livemode=False, staff_user=s) for s in staff]
        uow.commit()
    return Keys(pkey.secret, partner.id, other.test_key, admin_keys[0].secret, admin_keys[1].secret)


def magic_uscc(sequence: str, region: str = "310115") -> str:
    """A valid, fresh USCC whose characters 15-17 select a bureau simulator behaviour."""
    from lendbridge.identity.validators import USCC_ALPHABET, uscc_check_char

    n = next(_seq)
    org = "".join(USCC_ALPHABET[(n // 31**i + i) % 31] for i in range(6)) + sequence
    body = f"91{region}{org}"
    return body + uscc_check_char(body)


def magic_id(sequence: str, region: str = "310115") -> str:
    """A valid, fresh ID number whose sequence code selects a bureau simulator behaviour."""
    from lendbridge.identity.validators import cn_id_check_char

    n = next(_seq)
    body = f"{region}{1975 + n % 16}{n % 12 + 1:02d}{n % 28 + 1:02d}{sequence}"
    return body + cn_id_check_char(body)
