"""What other areas call: borrower_facts, payout_account (audited), has_valid_consent."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from lendbridge.audit.models import AuditRecord
from lendbridge.core.errors import Conflict, NotFound
from lendbridge.db import TenantContext
from lendbridge.identity import services as identity
from lendbridge.uow import UnitOfWork
from tests.factories.identity import company, create_borrower, person
from tests.factories.tenancy import make_tenant


def _uow(app: Flask, tenant_id: str, *, write: bool = False) -> UnitOfWork:
    svc = app.extensions["lendbridge"]
    return UnitOfWork(svc.db, TenantContext(tenant_id, False), write=write, clock=svc.clock)


def test_facts_of_an_individual_are_derived_from_decrypted_data(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    body = person(
        id_number="11010519491231002X",
        address="广东省深圳市南山区科技园8号",
        occupation="engineer",
        employer="深圳某科技公司",
    )
    created = create_borrower(any_app.test_client(), keys.test_key, body)
    with _uow(any_app, keys.tenant_id) as uow:
        facts = identity.borrower_facts(uow, created.id, on=date(2026, 11, 25))
        today = identity.borrower_facts(uow, created.id)
    assert facts.type == "individual" and facts.kyc_status == "pending" and not facts.erased
    assert facts.age == 76 and facts.sex == "female"
    assert facts.region_code == "110105" and facts.province_code == "11"
    assert facts.age_on(date(2026, 12, 31)) == 77
    assert (facts.address_province, facts.address_city) == ("广东省", "深圳市")
    assert facts.occupation == "engineer" and facts.employer == "深圳某科技公司"
    assert facts.masked["id_number"] == "110105********002X"
    assert facts.masked["phone"].count("*") == 4
    assert set(facts.blind_indexes) == {"id_number", "phone", "bank_card"}
    assert facts.has_payout_account is True
    assert today.age is not None and today.age >= 76
    assert body["id_number"] not in repr(facts)


def test_blind_indexes_in_facts_link_borrowers_sharing_a_phone(app: Flask) -> None:
    keys = make_tenant(app)
    client = app.test_client()
    a = create_borrower(client, keys.test_key)
    b = create_borrower(client, keys.test_key, person(phone=a.body["phone"]))
    c = create_borrower(client, keys.test_key)
    with _uow(app, keys.tenant_id) as uow:
        fa, fb, fc = (identity.borrower_facts(uow, x.id) for x in (a, b, c))
    assert fa.blind_indexes["phone"] == fb.blind_indexes["phone"] != fc.blind_indexes["phone"]
    assert fa.blind_indexes["id_number"] != fb.blind_indexes["id_number"]


def test_facts_of_a_business(app: Flask) -> None:
    keys = make_tenant(app)
    created = create_borrower(app.test_client(), keys.test_key, company(uscc="91350100M000100Y43"))
    with _uow(app, keys.tenant_id) as uow:
        facts = identity.borrower_facts(uow, created.id)
    assert facts.type == "business" and facts.region_code == "350100" and facts.age is None
    assert facts.masked["uscc"] == "91************0Y43"
    assert set(facts.blind_indexes) == {"uscc", "phone"}
    assert (facts.address_province, facts.address_city) == ("北京市", "北京市")


def test_payout_account_returns_the_full_account_and_audits_it(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    individual = create_borrower(client, keys.test_key)
    business = create_borrower(client, keys.test_key, company())
    with _uow(any_app, keys.tenant_id, write=True) as uow:
        card = identity.payout_account(uow, individual.id)
        account = identity.payout_account(uow, business.id)
        uow.commit()
    assert (card.kind, card.account_number, card.holder_name) == (
        "bank_card",
        individual.body["bank_card"],
        individual.body["name"],
    )
    assert (account.kind, account.account_number, account.holder_name) == (
        "settlement_account",
        business.body["settlement_account"],
        business.body["company_name"],
    )
    assert individual.body["bank_card"] not in repr(card)
    with any_app.extensions["lendbridge"].db.reader() as s:
        audited = s.execute(
            select(AuditRecord.object_id).where(AuditRecord.action == "pii.used_for_payment")
        ).scalars()
        assert sorted(audited) == sorted([individual.id, business.id])


def test_payout_account_refuses_a_read_unit_of_work_and_a_missing_account(app: Flask) -> None:
    keys = make_tenant(app)
    body = person()
    del body["bank_card"]
    created = create_borrower(app.test_client(), keys.test_key, body)
    with _uow(app, keys.tenant_id) as uow, pytest.raises(RuntimeError, match="write unit of work"):
        identity.payout_account(uow, created.id)
    with _uow(app, keys.tenant_id, write=True) as uow, pytest.raises(Conflict) as exc:
        identity.payout_account(uow, created.id)
    assert exc.value.code == "payout_account_missing"


def test_facts_are_tenant_scoped(app: Flask) -> None:
    keys = make_tenant(app)
    other = make_tenant(app, name="Other")
    created = create_borrower(app.test_client(), keys.test_key)
    with _uow(app, other.tenant_id, write=True) as uow:
        with pytest.raises(NotFound):
            identity.borrower_facts(uow, created.id)
        with pytest.raises(NotFound):
            identity.payout_account(uow, created.id)
