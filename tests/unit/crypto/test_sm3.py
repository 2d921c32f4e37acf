"""SM3 and HMAC-SM3 against ../shared/vectors/sm3.json, with `cryptography` and gmssl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gmssl import sm3 as gmssl_sm3

from lendbridge.core.hashchain import sm3_hex as hashchain_sm3_hex
from lendbridge.crypto.sm3 import HmacSm3, hmac_sm3, sm3, sm3_hex

VECTORS = Path(__file__).resolve().parents[4] / "shared" / "vectors"
CASES: list[dict[str, Any]] = json.loads((VECTORS / "sm3.json").read_text())["cases"]
DIGESTS = [pytest.param(c, id=c["id"]) for c in CASES if c["kind"] == "sm3"]
MACS = [pytest.param(c, id=c["id"]) for c in CASES if c["kind"] == "hmac-sm3"]


def gmssl_digest(data: bytes) -> bytes:
    return bytes.fromhex(gmssl_sm3.sm3_hash(list(data)))


def gmssl_hmac(key: bytes, message: bytes) -> bytes:
    # RFC 2104 over gmssl's SM3, 64-byte blocks.
    if len(key) > 64:
        key = gmssl_digest(key)
    key = key.ljust(64, b"\0")
    inner = gmssl_digest(bytes(b ^ 0x36 for b in key) + message)
    return gmssl_digest(bytes(b ^ 0x5C for b in key) + inner)


@pytest.mark.parametrize("case", DIGESTS)
def test_sm3_matches_vectors(case: dict[str, Any]) -> None:
    message = bytes.fromhex(case["message_hex"])
    assert sm3(message).hex() == case["digest"]
    assert sm3_hex(message) == hashchain_sm3_hex(message) == case["digest"]


@pytest.mark.parametrize("case", DIGESTS)
def test_gmssl_sm3_matches_vectors(case: dict[str, Any]) -> None:
    assert gmssl_digest(bytes.fromhex(case["message_hex"])).hex() == case["digest"]


@pytest.mark.parametrize("case", MACS)
def test_hmac_sm3_matches_vectors(case: dict[str, Any]) -> None:
    key, message = bytes.fromhex(case["key"]), bytes.fromhex(case["message_hex"])
    assert hmac_sm3(key, message).hex() == case["mac"]
    keyed = HmacSm3(key)
    assert keyed.digest(message).hex() == case["mac"]
    assert keyed.digest(message).hex() == case["mac"], "a keyed context is reusable"
    assert keyed.verify(message, bytes.fromhex(case["mac"]))


@pytest.mark.parametrize("case", MACS)
def test_gmssl_hmac_sm3_matches_vectors(case: dict[str, Any]) -> None:
    assert gmssl_hmac(bytes.fromhex(case["key"]), bytes.fromhex(case["message_hex"])).hex() == case["mac"]


def test_hmac_sm3_hashes_keys_longer_than_a_block_like_gmssl() -> None:
    key, message = bytes(range(100)), b"long key"
    assert hmac_sm3(key, message) == gmssl_hmac(key, message)


def test_hmac_verify_rejects_other_mac() -> None:
    keyed = HmacSm3(b"k" * 32)
    mac = bytearray(keyed.digest(b"data"))
    mac[0] ^= 1
    assert not keyed.verify(b"data", bytes(mac))
