"""Blind indexes: normalisation, field and tenant separation, compact output."""

from __future__ import annotations

import re

import pytest

from lendbridge.crypto.blind_index import BlindIndexer, normalise_id_number, normalise_name, normalise_phone
from lendbridge.crypto.envelope import DataKey, new_data_key, new_index_key
from lendbridge.crypto.errors import KeyConfigError

KEY = DataKey("bik_test", bytes(range(32)))


@pytest.fixture
def indexer() -> BlindIndexer:
    return BlindIndexer(KEY, "ten_1")


@pytest.mark.parametrize(
    ("field", "variants"),
    [
        (
            "phone",
            ["13812345678", "+86 138-1234-5678", "86 13812345678", "0086 138 1234 5678", "(138) 1234 5678"],
        ),
        ("phone", ["１３８１２３４５６７８", "+８６ 138 1234 5678"]),
        (
            "id_number",
            [
                "11010519491231002X",
                "11010519491231002x",
                " 110105 19491231 002X ",
                "１１０１０５19491231002ｘ",
            ],
        ),
        ("bank_card", ["6222021234567890128", "6222 0212 3456 7890 128", "6222-0212-3456-7890-128"]),
        ("name", ["张晓雯", " 张晓雯 ", "张晓雯\u3000"]),
        ("name", ["Zhang  Xiaowen", "Zhang Xiaowen", "Ｚｈａｎｇ Xiaowen"]),
        ("uscc", ["91350100M000100Y43", "91350100m000100y43", "9135 0100 M000 100Y 43"]),
    ],
)
def test_equivalent_inputs_share_an_index(indexer: BlindIndexer, field: str, variants: list[str]) -> None:
    assert len({indexer.index(field, v) for v in variants}) == 1


def test_different_values_get_different_indexes(indexer: BlindIndexer) -> None:
    assert indexer.index("phone", "13812345678") != indexer.index("phone", "13812345679")


def test_same_value_in_two_fields_is_unlinkable() -> None:
    indexer = BlindIndexer(
        KEY, "ten_1", fields={"phone": normalise_phone, "emergency_phone": normalise_phone}
    )
    assert indexer.index("phone", "13812345678") != indexer.index("emergency_phone", "13812345678")


def test_uscc_and_id_number_are_separate_domains(indexer: BlindIndexer) -> None:
    assert indexer.index("uscc", "91350100M000100Y43") != indexer.index("id_number", "91350100M000100Y43")


def test_tenants_are_separated_even_with_the_same_key() -> None:
    a, b = BlindIndexer(KEY, "ten_1"), BlindIndexer(KEY, "ten_2")
    assert a.index("id_number", "11010519491231002X") != b.index("id_number", "11010519491231002X")


def test_different_keys_give_different_indexes() -> None:
    a, b = BlindIndexer(new_index_key(), "ten_1"), BlindIndexer(new_index_key(), "ten_1")
    assert a.index("phone", "13812345678") != b.index("phone", "13812345678")


def test_index_is_deterministic_compact_and_free_of_plaintext(indexer: BlindIndexer) -> None:
    first = indexer.index("id_number", "11010519491231002X")
    assert first == BlindIndexer(KEY, "ten_1").index("id_number", "11010519491231002X")
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", first)
    assert "1101" not in first


def test_unknown_field_and_empty_value_are_rejected(indexer: BlindIndexer) -> None:
    with pytest.raises(ValueError, match="no blind index"):
        indexer.index("favourite_colour", "blue")
    with pytest.raises(ValueError, match="empty"):
        indexer.index("phone", " - ")


def test_encryption_keys_cannot_be_index_keys() -> None:
    with pytest.raises(KeyConfigError):
        BlindIndexer(new_data_key(), "ten_1")


def test_normalisers() -> None:
    assert normalise_phone("+86 138-1234-5678") == "13812345678"
    assert normalise_phone("010-8888 6666") == "01088886666", "landlines keep their area code"
    assert normalise_id_number(" 11010519491231002x ") == "11010519491231002X"
    assert normalise_name("  欧阳  娜娜 ") == "欧阳 娜娜"
