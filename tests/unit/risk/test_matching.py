from __future__ import annotations

from dataclasses import replace

from lendbridge.risk.matching import MatchRequest, choose_region, decline_reasons, match
from tests.factories.risk import pos_flow_line, product, provident_fund_product

REQ = MatchRequest(
    borrower_type="individual",
    amount=3_000_000,
    term=12,
    credit_line=False,
    age=35,
    region_code="310115",
    region_source="lbs",
    occupation="teacher",
    score=530,
    grade="C",
    merchant_id=None,
)


def test_a_teacher_matches_the_provident_fund_product_and_it_ranks_first() -> None:
    general, fund = product(), provident_fund_product()
    result = match([general, fund], REQ)
    assert [c.product.product_id for c in result] == [fund.product_id, general.product_id]
    assert all(c.matched for c in result)
    assert any("provident_fund-based" in line for line in result[0].checks)


def test_a_shop_owner_is_not_eligible_for_the_provident_fund_product() -> None:
    [c] = match([provident_fund_product()], replace(REQ, occupation="shop_owner"))
    assert not c.matched and c.reasons == ("occupation_not_eligible",)


def test_a_shop_owners_business_asking_for_a_line_matches_the_pos_flow_line() -> None:
    req = replace(
        REQ,
        borrower_type="business",
        credit_line=True,
        amount=None,
        term=None,
        age=None,
        occupation="shop_owner",
    )
    result = match([provident_fund_product(), pos_flow_line()], req)
    assert result[0].matched and result[0].product.basis == "pos_flow"
    assert not result[1].matched and "borrower_type_mismatch" in result[1].reasons


def test_each_failed_check_names_its_reason() -> None:
    p = product(regions=("44",), min_age=22, max_age=55, max_amount=2_000_000, min_score=560)
    [c] = match([p], replace(REQ, age=60))
    assert set(c.reasons) == {
        "region_not_served",
        "age_out_of_range",
        "amount_above_limit",
        "score_below_min",
    }
    assert any("310115 (from lbs) not in 44" in line for line in c.checks)
    explained = c.explain()
    assert explained["matched"] is False and explained["product"] == p.product_id


def test_decline_reasons_lead_with_no_eligible_product() -> None:
    candidates = match([product(regions=("44",))], REQ)
    assert decline_reasons(candidates) == ["no_eligible_product", "region_not_served"]


def test_a_subsidised_product_is_only_for_its_merchants() -> None:
    p = product(kind="merchant_subsidized", merchants=("school_1",))
    assert not match([p], REQ)[0].matched
    assert not match([p], replace(REQ, merchant_id="school_1"))[0].matched  # paid to the borrower
    assert match([p], replace(REQ, merchant_id="school_1", to_merchant=True))[0].matched
    assert not match([p], replace(REQ, merchant_id="school_2", to_merchant=True))[0].matched


def test_a_minimum_grade_excludes_worse_grades() -> None:
    p = product(min_grade="B")
    assert match([p], replace(REQ, grade="B"))[0].matched
    [c] = match([p], replace(REQ, grade="C"))
    assert not c.matched and c.reasons == ("score_below_min",)


def test_the_region_is_where_the_borrower_is() -> None:
    assert choose_region("310100", "440300", "110105") == ("310100", "lbs")
    assert choose_region(None, "440300", "110105") == ("440300", "ip")
    assert choose_region(None, None, "110105") == ("110105", "id")
    assert choose_region(None, None, None) == (None, None)
