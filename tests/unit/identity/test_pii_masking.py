"""Display masks: exact forms, and safe output for short or malformed values."""

from __future__ import annotations

import pytest

from lendbridge.identity.masking import (
    mask,
    mask_address,
    mask_bank_card,
    mask_cn_id,
    mask_name,
    mask_phone,
    mask_uscc,
)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("11010519491231002x", "110105********002X"),
        (" 110105 19491231 002X", "110105********002X"),
        ("110105491231002", "11***********02"),
        ("123", "***"),
    ],
)
def test_cn_id(value: str, masked: str) -> None:
    assert mask_cn_id(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("0086 13812345678", "138****5678"),
        ("010-8888666", "01******66"),
        ("5678", "****"),
    ],
)
def test_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("6222021234561234", "6222 **** **** 1234"),
        ("6222021234567890128", "6222 **** **** 0128"),
        ("6222 0212 3456 1234", "6222 **** **** 1234"),
        ("1234", "**** **** **** ****"),
    ],
)
def test_bank_card_has_fixed_width(value: str, masked: str) -> None:
    assert mask_bank_card(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("张晓雯", "张*雯"),
        ("张三", "张*"),
        ("欧阳娜娜", "欧**娜"),
        ("雯", "*"),
        ("", ""),
        (" 张晓雯 ", "张*雯"),
    ],
)
def test_name(value: str, masked: str) -> None:
    assert mask_name(value) == masked


def test_uscc() -> None:
    assert mask_uscc("91350100M000100Y43") == "91************0Y43"
    assert mask_uscc("9135") == "9**5"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("北京市朝阳区建国路88号", "北京市******"),
        ("广东省深圳市南山区科技园路1号", "广东省深圳市******"),
        ("内蒙古自治区呼和浩特市新城区中山路", "内蒙古自治区呼和浩特市******"),
        ("新疆维吾尔自治区乌鲁木齐市天山区", "新疆维吾尔自治区乌鲁木齐市******"),
        ("香港特别行政区中西区皇后大道", "香港特别行政区******"),
        ("浙江省 杭州市 西湖区", "浙江省杭州市******"),
        ("建国路88号院3号楼", "建国******"),
        ("短地址", "******"),
    ],
)
def test_address_keeps_only_province_and_city(value: str, masked: str) -> None:
    assert mask_address(value) == masked


def test_generic_mask() -> None:
    assert mask("abcdefgh") == "a******h"
    assert mask("abcdefgh", 2, 3) == "ab***fgh"
    assert mask("abcdefgh", 2, 0) == "ab******"
    assert mask("abcdefgh", 1, 1, width=3) == "a***h"
    assert mask("ab", 1, 1) == "**"
    with pytest.raises(ValueError):
        mask("abc", -1)
