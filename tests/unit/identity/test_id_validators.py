"""Identity validators against ../shared/vectors/{cn_id,uscc,bank_card}.json, plus mobile numbers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendbridge.core.errors import InvalidParameter
from lendbridge.identity.validators import (
    IdentityInvalid,
    cn_id_check_char,
    upgrade_cn_id_15,
    validate_bank_card,
    validate_cn_id,
    validate_cn_mobile,
    validate_uscc,
)

VECTORS = Path(__file__).resolve().parents[4] / "shared" / "vectors"
TODAY = date(2025, 6, 1)


def load(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((VECTORS / name).read_text())["cases"]
    return cases


CN_IDS = load("cn_id.json")
USCCS = load("uscc.json")
CARDS = load("bank_card.json")


def params(cases: list[dict[str, Any]], key: str, valid: bool) -> list[Any]:
    return [pytest.param(c, id=c[key]) for c in cases if c["expected_valid"] is valid]


def card_reason(case: dict[str, Any]) -> str:
    # bank_card.json gives the two checks rather than a reason; length is checked first.
    return "length" if not 16 <= case["length"] <= 19 else "check_digit"


# --- citizen ID -----------------------------------------------------------------------


@pytest.mark.parametrize("case", params(CN_IDS, "number", True))
def test_valid_cn_ids_decode_like_the_vectors(case: dict[str, Any]) -> None:
    cn_id = validate_cn_id(case["number"], strict=True, today=TODAY)
    decoded = case["decoded"]
    assert cn_id.number == case["number"]
    assert cn_id.region_code == decoded["region_code"]
    assert cn_id.birth_date.isoformat() == decoded["birth_date"]
    assert cn_id.sequence == decoded["sequence"]
    assert cn_id.sex == decoded["sex"]
    assert cn_id.check_char == decoded["check_char"] == case["correct_check_char"]


@pytest.mark.parametrize("case", params(CN_IDS, "number", False))
def test_invalid_cn_ids_fail_for_the_vector_reason(case: dict[str, Any]) -> None:
    with pytest.raises(IdentityInvalid) as raised:
        validate_cn_id(case["number"], strict=True, today=TODAY)
    error = raised.value
    assert error.reason == case["reason"]
    assert error.code == f"id_number_{case['reason']}"
    assert error.param == "id_number" and error.status == 422
    assert isinstance(error, InvalidParameter)


@pytest.mark.parametrize(
    "case", [c for c in CN_IDS if c.get("valid_after_uppercasing")], ids=lambda c: c["number"]
)
def test_lowercase_x_is_accepted_by_default_and_normalised(case: dict[str, Any]) -> None:
    assert validate_cn_id(case["number"], today=TODAY).number == case["number"].upper()


@pytest.mark.parametrize("case", [c for c in CN_IDS if "upgraded_18" in c], ids=lambda c: c["number"])
def test_fifteen_digit_numbers_upgrade_to_the_vector(case: dict[str, Any]) -> None:
    assert upgrade_cn_id_15(case["number"]) == case["upgraded_18"]
    assert validate_cn_id(case["number"], allow_15=True, today=TODAY).number == case["upgraded_18"]
    with pytest.raises(IdentityInvalid, match="18 characters"):
        validate_cn_id(case["number"], today=TODAY)


def test_input_noise_is_normalised() -> None:
    assert validate_cn_id(" 110105 19491231 002x ", today=TODAY).number == "11010519491231002X"
    assert validate_cn_id("１１０１０５１９４９１２３１００２Ｘ", today=TODAY).number == "11010519491231002X"


def test_future_birth_date_is_rejected() -> None:
    body = "110105" + "20250602" + "002"
    number = body + cn_id_check_char(body)
    with pytest.raises(IdentityInvalid) as raised:
        validate_cn_id(number, today=TODAY)
    assert raised.value.reason == "birth_date"
    assert validate_cn_id(number, today=date(2025, 6, 2)).birth_date == date(2025, 6, 2)


def test_default_today_is_the_current_business_date() -> None:
    assert validate_cn_id("11010519491231002X").sex == "female"


def test_residence_permits_only_when_allowed() -> None:
    body = "830000" + "19900101" + "001"
    number = body + cn_id_check_char(body)
    with pytest.raises(IdentityInvalid, match="region"):
        validate_cn_id(number, today=TODAY)
    assert validate_cn_id(number, allow_permits=True, today=TODAY).region_code == "830000"


def test_caller_names_the_field() -> None:
    with pytest.raises(IdentityInvalid) as raised:
        validate_cn_id("110105194912310021", param="legal_representative.id_number", today=TODAY)
    assert raised.value.param == "legal_representative.id_number"
    assert raised.value.code == "id_number_check_digit"


def test_age_on() -> None:
    cn_id = validate_cn_id("11010519491231002X", today=TODAY)
    assert cn_id.age_on(date(2025, 12, 30)) == 75
    assert cn_id.age_on(date(2025, 12, 31)) == 76


@pytest.mark.parametrize("value", [None, 11010519491231002, ["11010519491231002X"]])
def test_non_string_input_is_a_format_error(value: Any) -> None:
    with pytest.raises(IdentityInvalid) as raised:
        validate_cn_id(value)
    assert raised.value.reason == "format"


# --- USCC -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", params(USCCS, "code", True))
def test_valid_usccs_split_like_the_vectors(case: dict[str, Any]) -> None:
    uscc = validate_uscc(case["code"], strict=True)
    parts = case["parts"]
    assert uscc.code == case["code"]
    assert (uscc.registration_authority, uscc.category) == (
        parts["registration_authority"],
        parts["category"],
    )
    assert (uscc.region_code, uscc.org_code) == (parts["region"], parts["org_code"])
    assert uscc.check_char == case["correct_check_char"]


@pytest.mark.parametrize("case", params(USCCS, "code", False))
def test_invalid_usccs_fail_for_the_vector_reason(case: dict[str, Any]) -> None:
    with pytest.raises(IdentityInvalid) as raised:
        validate_uscc(case["code"], strict=True)
    assert raised.value.reason == case["reason"]
    assert raised.value.code == f"uscc_{case['reason']}"
    assert raised.value.param == "uscc"


@pytest.mark.parametrize(
    "case", [c for c in USCCS if c.get("valid_after_uppercasing")], ids=lambda c: c["code"]
)
def test_lowercase_uscc_is_accepted_by_default(case: dict[str, Any]) -> None:
    assert validate_uscc(case["code"]).code == case["code"].upper()


def test_uscc_with_spaces_is_accepted_by_default() -> None:
    assert validate_uscc("9135 0100 M000 100Y 43").code == "91350100M000100Y43"


# --- bank card ------------------------------------------------------------------------


@pytest.mark.parametrize("case", params(CARDS, "number", True))
def test_valid_cards(case: dict[str, Any]) -> None:
    card = validate_bank_card(case["number"])
    assert card.number == case["number"].replace(" ", "")
    assert len(card.number) == case["length"]
    assert card.last4 == card.number[-4:] and card.number.endswith(case["correct_last_digit"])


@pytest.mark.parametrize("case", params(CARDS, "number", False))
def test_invalid_cards_fail_on_length_or_luhn(case: dict[str, Any]) -> None:
    with pytest.raises(IdentityInvalid) as raised:
        validate_bank_card(case["number"])
    assert raised.value.reason == card_reason(case)
    assert raised.value.code == f"bank_card_{card_reason(case)}"
    assert raised.value.param == "bank_card"


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize("value", ["6200-0000-0000-0005", "6200000000000005".translate(FULL_WIDTH)])
def test_card_separators_and_full_width_digits(value: str) -> None:
    assert validate_bank_card(value).number == "6200000000000005"


@pytest.mark.parametrize("value", ["", "6200 0000 0000 000a", "6200.0000.0000.0005"])
def test_card_format(value: str) -> None:
    with pytest.raises(IdentityInvalid) as raised:
        validate_bank_card(value)
    assert raised.value.reason == "format"


# --- mobile ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+86 138-1234-5678",
        "+8613812345678",
        "0086 138 1234 5678",
        "86 13812345678",
        "(138) 1234-5678",
    ],
)
def test_valid_mobiles(value: str) -> None:
    mobile = validate_cn_mobile(value)
    assert mobile.number == "13812345678" and mobile.e164 == "+8613812345678"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1381234567", "length"),
        ("138123456789", "length"),
        ("12812345678", "format"),
        ("23812345678", "format"),
        ("010-88886666", "format"),
        ("+1 415 555 0100", "format"),
        ("138 1234 567a", "format"),
        ("", "format"),
    ],
)
def test_invalid_mobiles(value: str, reason: str) -> None:
    with pytest.raises(IdentityInvalid) as raised:
        validate_cn_mobile(value)
    assert (raised.value.reason, raised.value.code, raised.value.param) == (
        reason,
        f"phone_{reason}",
        "phone",
    )


# --- no personal data in errors or reprs ------------------------------------------------

INVALID_INPUTS = (
    [("id", c["number"]) for c in CN_IDS if not c["expected_valid"]]
    + [("uscc", c["code"]) for c in USCCS if not c["expected_valid"]]
    + [("card", c["number"]) for c in CARDS if not c["expected_valid"]]
    + [("phone", v) for v in ("1381234567", "12812345678", "138 1234 567a")]
)
VALIDATORS = {
    "id": lambda v: validate_cn_id(v, strict=True, today=TODAY),
    "uscc": lambda v: validate_uscc(v, strict=True),
    "card": validate_bank_card,
    "phone": validate_cn_mobile,
}


def assert_not_echoed(error: IdentityInvalid, value: str) -> None:
    compact = value.replace(" ", "")
    for text in (str(error), error.detail, repr(error), error.code, str(error.param)):
        assert value.strip() not in text or len(value.strip()) < 6
        assert compact not in text or len(compact) < 6
        # Not even a recognisable fragment: no 6-digit run from the value.
        assert not any(compact[i : i + 6] in text for i in range(len(compact) - 5))


@pytest.mark.parametrize(("kind", "value"), INVALID_INPUTS, ids=[f"{k}-{v}" for k, v in INVALID_INPUTS])
def test_error_messages_never_contain_the_value(kind: str, value: str) -> None:
    with pytest.raises(IdentityInvalid) as raised:
        VALIDATORS[kind](value)
    assert_not_echoed(raised.value, value)


@given(value=st.text(alphabet="0123456789Xx +-", min_size=6, max_size=25))
def test_error_messages_never_contain_arbitrary_values(value: str) -> None:
    for validate in VALIDATORS.values():
        try:
            validate(value)
        except IdentityInvalid as error:
            assert_not_echoed(error, value)


def test_value_objects_mask_themselves_in_repr() -> None:
    assert repr(validate_cn_id("11010519491231002X", today=TODAY)) == "CnId(110105********002X)"
    assert repr(validate_uscc("91350100M000100Y43")) == "Uscc(91************0Y43)"
    assert repr(validate_bank_card("6205500000000000004")) == "BankCard(6205 **** **** 0004)"
    assert repr(validate_cn_mobile("13812345678")) == "CnMobile(138****5678)"
    assert str(validate_cn_mobile("+86 13812345678")) == "13812345678"
