"""Typed results and lists: field access, immutability, nested objects, auto-pagination."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from sdk_fakes import FakeTransport, Sent, make_client, obj, ok

import lendbridge_sdk as lb

LOAN = obj(
    "loan",
    id="loan_1",
    principal=1_000_000,
    apr="0.0617",
    status="active",
    term=12,
    schedule={"object": "loan_schedule", "instalments": [{"due": "2027-01-15", "amount": 86_066}]},
    borrower_details={"id": "brw_1", "object": "borrower", "type": "individual"},
    metadata={"order": "42"},
)


def test_typed_properties() -> None:
    loan = lb.Loan(LOAN)
    assert (loan.id, loan.object, loan.created, loan.livemode) == ("loan_1", "loan", 1_767_225_600, False)
    assert (loan.principal, loan.apr, loan.status, loan.term) == (1_000_000, "0.0617", "active", 12)
    assert loan.rate is None and loan.deleted is False


def test_item_get_and_attribute_access_to_any_field() -> None:
    loan = lb.Loan(LOAN)
    assert loan["principal"] == loan.get("principal") == 1_000_000
    assert loan.metadata == {"order": "42"} and loan["metadata"]["order"] == "42"
    assert loan.get("missing") is None and loan.get("missing", 7) == 7
    assert "principal" in loan and "missing" not in loan
    assert set(loan) == set(LOAN) and len(loan) == len(LOAN)


def test_missing_fields_raise_attribute_and_key_errors() -> None:
    loan = lb.Loan({"id": "loan_1", "object": "loan"})
    with pytest.raises(AttributeError, match="no field 'principal'"):
        _ = loan.principal
    with pytest.raises(AttributeError, match="no field 'nothing'"):
        _ = loan.nothing
    with pytest.raises(KeyError):
        _ = loan["nothing"]


def test_nested_objects_are_typed_by_their_object_field() -> None:
    loan = lb.Loan(LOAN)
    assert isinstance(loan.borrower_details, lb.Borrower)
    assert loan.borrower_details.type == "individual"
    assert type(loan.schedule) is lb.LendBridgeObject and loan.schedule.instalments[0]["amount"] == 86_066


def test_offers_are_built_as_offer_objects() -> None:
    application = lb.Application(
        obj("application", status="approved", offers=[{"id": "ofr_1", "amount": 500_000, "apr": "0.1200"}])
    )
    (offer,) = application.offers
    assert isinstance(offer, lb.Offer) and offer.amount == 500_000 and offer.apr == "0.1200"
    assert lb.Application(obj("application", status="review")).offers == []


def test_objects_are_read_only() -> None:
    loan = lb.Loan(LOAN)
    with pytest.raises(AttributeError, match="read-only"):
        loan.status = "closed"
    with pytest.raises(AttributeError, match="read-only"):
        loan.anything = 1
    with pytest.raises(TypeError):
        loan["status"] = "closed"


def test_to_dict_is_a_deep_copy() -> None:
    loan = lb.Loan(LOAN)
    plain = loan.to_dict()
    plain["metadata"]["order"] = "changed"
    assert plain != LOAN and loan.to_dict() == LOAN


def test_equality_repr_copy_and_pickle() -> None:
    loan = lb.Loan(LOAN)
    assert loan == lb.Loan(LOAN) and loan == LOAN
    assert repr(loan).startswith("<Loan id='loan_1'> {")
    assert copy.deepcopy(loan).to_dict() == LOAN
    assert pickle.loads(pickle.dumps(loan)).to_dict() == LOAN  # noqa: S301 -- our own bytes


def test_event_data_object_is_typed() -> None:
    event = lb.Event(obj("event", type="loan.disbursed", api_version="2026-11-01", data={"object": LOAN}))
    assert event.type == "loan.disbursed" and event.api_version == "2026-11-01"
    assert isinstance(event.data_object, lb.Loan) and event.data_object.principal == 1_000_000
    assert event.data == {"object": LOAN}


def test_unknown_object_falls_back_to_the_base_class() -> None:
    thing = lb.Loan(obj("loan", nested={"object": "brand_new_thing", "id": "new_1", "x": 1}))
    assert type(thing.nested) is lb.LendBridgeObject and thing.nested.x == 1


def page(ids: list[str], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [obj("loan", id=i, principal=n) for n, i in enumerate(ids)],
        "has_more": has_more,
        "url": "/v1/loans",
    }


def test_auto_pagination_walks_three_pages_with_starting_after() -> None:
    transport = FakeTransport(
        ok(page(["loan_9", "loan_8"], True)),
        ok(page(["loan_7", "loan_6"], True)),
        ok(page(["loan_5"], False)),
    )
    client, _ = make_client(transport)
    first = client.loans.list(limit=2, status="active")
    assert [loan.id for loan in first] == ["loan_9", "loan_8"] and first.has_more and first.url == "/v1/loans"

    ids = [loan.id for loan in first.auto_paging_iter()]

    assert ids == ["loan_9", "loan_8", "loan_7", "loan_6", "loan_5"]
    assert [s.query for s in transport.sent] == [
        {"limit": ["2"], "status": ["active"]},
        {"limit": ["2"], "status": ["active"], "starting_after": ["loan_8"]},
        {"limit": ["2"], "status": ["active"], "starting_after": ["loan_6"]},
    ]
    assert all(isinstance(loan, lb.Loan) for loan in first.auto_paging_iter())


def test_auto_pagination_is_lazy() -> None:
    transport = FakeTransport(ok(page(["loan_9", "loan_8"], True)), ok(page(["loan_7"], False)))
    client, _ = make_client(transport)
    iterator = client.loans.list(limit=2).auto_paging_iter()
    assert next(iterator).id == "loan_9" and len(transport.sent) == 1


def test_auto_pagination_backwards_with_ending_before() -> None:
    transport = FakeTransport(
        ok(page(["loan_5", "loan_4"], True)),
        ok(page(["loan_7", "loan_6"], False)),
    )
    client, _ = make_client(transport)
    ids = [loan.id for loan in client.loans.list(limit=2, ending_before="loan_3").auto_paging_iter()]
    assert ids == ["loan_4", "loan_5", "loan_6", "loan_7"]
    assert transport.sent[1].query == {"limit": ["2"], "ending_before": ["loan_5"]}


def test_auto_pagination_stops_on_an_empty_page_even_if_has_more() -> None:
    transport = FakeTransport(ok(page(["loan_9"], True)), ok(page([], True)))
    client, _ = make_client(transport)
    assert [loan.id for loan in client.loans.list().auto_paging_iter()] == ["loan_9"]
    assert len(transport.sent) == 2


def test_next_page_of_the_last_page_is_empty_without_a_request() -> None:
    transport = FakeTransport(ok(page(["loan_1"], False)))
    client, _ = make_client(transport)
    last = client.loans.list()
    assert last.next_page().is_empty and len(transport.sent) == 1


def test_list_pages_of_sub_resources_keep_their_path() -> None:
    def answer(sent: Sent) -> lb.HTTPResponse:
        more = "starting_after" not in sent.query
        data = [obj("repayment", id="rpy_2" if more else "rpy_1", amount=1)]
        return ok({"object": "list", "data": data, "has_more": more, "url": sent.path})

    transport = FakeTransport(default=answer)
    client, _ = make_client(transport)
    repayments = list(client.loans.list_repayments("loan_1").auto_paging_iter())
    assert [r.id for r in repayments] == ["rpy_2", "rpy_1"]
    assert {s.path for s in transport.sent} == {"/v1/loans/loan_1/repayments"}
    assert all(isinstance(r, lb.Repayment) for r in repayments)


def test_list_object_basics() -> None:
    listing = lb.ListObject(page(["loan_2", "loan_1"], False), lb.Loan)
    assert len(listing) == 2 and listing[0].id == "loan_2" and listing.object == "list"
    assert listing.to_dict() == page(["loan_2", "loan_1"], False)
    assert "ListObject[Loan] 2 items" in repr(listing)
