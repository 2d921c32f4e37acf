"""Borrower facts derived from decrypted fields: age, sex, region, address parts, masks."""

from __future__ import annotations

from datetime import date

import pytest

from lendbridge.identity.facts import BorrowerFacts, PayoutAccount, address_parts, build_facts, masked

PERSON = {
    "name": "张晓雯",
    "id_number": "11010519491231002X",
    "phone": "13812345678",
    "bank_card": "6222021234567890128",
    "address": "浙江省杭州市西湖区文三路100号",
    "occupation": "teacher",
    "employer": "杭州明德学校",
}


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("北京市朝阳区建国路88号", ("北京市", "北京市")),
        ("上海市浦东新区世纪大道1号", ("上海市", "上海市")),
        ("广东省深圳市南山区科技园", ("广东省", "深圳市")),
        ("新疆维吾尔自治区乌鲁木齐市天山区", ("新疆维吾尔自治区", "乌鲁木齐市")),
        ("云南省西双版纳傣族自治州景洪市", ("云南省", "西双版纳傣族自治州")),
        ("香港特别行政区九龙", ("香港特别行政区", None)),
        ("深圳市南山区", (None, "深圳市")),
        ("某某路1号", (None, None)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_address_parts(address: str | None, expected: tuple[str | None, str | None]) -> None:
    assert address_parts(address) == expected


def _facts(on: date, **changes: str) -> BorrowerFacts:
    return build_facts(
        borrower_id="brw_1",
        type="individual",
        kyc_status="verified",
        erased=False,
        test_clock_id=None,
        fields={**PERSON, **changes},
        blind_indexes={"id_number": "abc", "phone": "def"},
        on=on,
    )


def test_individual_facts() -> None:
    facts = _facts(date(2026, 11, 25))
    assert facts.age == 76
    assert facts.sex == "female" and facts.region_code == "110105"
    assert (facts.address_province, facts.address_city) == ("浙江省", "杭州市")
    assert facts.masked == {
        "name": "张*雯",
        "id_number": "110105********002X",
        "phone": "138****5678",
        "bank_card": "6222 **** **** 0128",
        "address": "浙江省杭州市******",
        "occupation": "teacher",
        "employer": "杭****校",
    }
    assert facts.has_payout_account is True
    assert "11010519491231002X" not in repr(facts) and "张晓雯" not in repr(facts)


def test_age_counts_completed_years_around_the_birthday() -> None:
    assert _facts(date(2026, 12, 30)).age == 76
    assert _facts(date(2026, 12, 31)).age == 77
    assert _facts(date(1940, 1, 1)).age is None


def test_male_from_an_odd_sequence_digit() -> None:
    assert _facts(date(2026, 1, 1), id_number="440524188001010014").sex == "male"


def test_erased_borrowers_have_no_personal_facts() -> None:
    facts = build_facts(
        borrower_id="brw_1",
        type="individual",
        kyc_status="verified",
        erased=True,
        test_clock_id=None,
        fields={},
        blind_indexes={},
        on=date(2026, 1, 1),
    )
    assert facts.erased and facts.age is None and facts.masked == {} and not facts.has_payout_account


def test_business_region_comes_from_the_uscc() -> None:
    facts = build_facts(
        borrower_id="brw_2",
        type="business",
        kyc_status="pending",
        erased=False,
        test_clock_id=None,
        fields={"company_name": "北京云上畅游科技有限公司", "uscc": "91350100M000100Y43"},
        blind_indexes={},
        on=date(2026, 1, 1),
    )
    assert facts.region_code == "350100" and facts.age is None and facts.has_payout_account is False


def test_masked_and_payout_repr_hide_values() -> None:
    assert masked("uscc", "91350100M000100Y43") == "91************0Y43"
    assert masked("occupation", "teacher") == "teacher"
    assert masked("name", None) is None
    account = PayoutAccount("brw_1", "bank_card", "6222021234567890128", "张晓雯")
    assert account.masked_account == "6222 **** **** 0128"
    assert "6222021234567890128" not in repr(account) and "张晓雯" not in repr(account)
