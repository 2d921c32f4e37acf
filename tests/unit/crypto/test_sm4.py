"""SM4 against ../shared/vectors/sm4.json, with `cryptography` and independently with gmssl.

`cryptography` covers ECB/CBC/OFB/CTR/GCM (it has no SM4-CCM). The independent check
runs gmssl's pure-Python block function under mode code written here, so every mode,
CCM included, is confirmed by a second SM4 implementation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.decrepit.ciphers.modes import OFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl import sm4 as gmssl_sm4

from lendbridge.crypto.errors import DecryptionError, KeyConfigError
from lendbridge.crypto.sm4 import Sm4Gcm

VECTORS = Path(__file__).resolve().parents[4] / "shared" / "vectors"
CASES: list[dict[str, Any]] = json.loads((VECTORS / "sm4.json").read_text())["cases"]
Block = Callable[[bytes], bytes]


def cases(*modes_: str) -> list[Any]:
    return [pytest.param(c, id=c["id"]) for c in CASES if c["mode"] in modes_]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def gmssl_block(key: bytes, decrypt: bool = False) -> Block:
    engine = gmssl_sm4.CryptSM4()
    engine.set_key(key, gmssl_sm4.SM4_DECRYPT if decrypt else gmssl_sm4.SM4_ENCRYPT)
    return lambda block: bytes(engine.one_round(engine.sk, list(block)))


def cryptography_block(key: bytes) -> Block:
    # One-block ECB is the bare block function the mode oracles are built on.
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update


def xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=False))


def blocks(data: bytes) -> list[bytes]:
    return [data[i : i + 16] for i in range(0, len(data), 16)]


# --- mode code over a bare block function (test oracle only) -------------------------


def ofb(block: Block, iv: bytes, data: bytes) -> bytes:
    out, state = b"", iv
    for chunk in blocks(data):
        state = block(state)
        out += xor(chunk, state)
    return out


def ctr(block: Block, counter: bytes, data: bytes, width: int = 128) -> bytes:
    out, value = b"", int.from_bytes(counter, "big")
    prefix_mask = ((1 << 128) - 1) ^ ((1 << width) - 1)
    for chunk in blocks(data):
        out += xor(chunk, block(value.to_bytes(16, "big")))
        value = (value & prefix_mask) | ((value + 1) & ((1 << width) - 1))
    return out


def gf128_mul(x: int, y: int) -> int:
    result, r = 0, 0xE1 << 120
    for bit in range(127, -1, -1):
        if (y >> bit) & 1:
            result ^= x
        x = (x >> 1) ^ r if x & 1 else x >> 1
    return result


def ghash(hkey: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    h_int, y = int.from_bytes(hkey, "big"), 0
    padded = aad + b"\0" * (-len(aad) % 16) + ciphertext + b"\0" * (-len(ciphertext) % 16)
    padded += (len(aad) * 8).to_bytes(8, "big") + (len(ciphertext) * 8).to_bytes(8, "big")
    for chunk in blocks(padded):
        y = gf128_mul(y ^ int.from_bytes(chunk, "big"), h_int)
    return y.to_bytes(16, "big")


def gcm_encrypt(block: Block, nonce: bytes, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    j0 = nonce + b"\0\0\0\1"
    ciphertext = ctr(block, (int.from_bytes(j0, "big") + 1).to_bytes(16, "big"), plaintext, width=32)
    tag = xor(block(j0), ghash(block(b"\0" * 16), aad, ciphertext))
    return ciphertext, tag


def ccm_encrypt(
    block: Block, nonce: bytes, plaintext: bytes, aad: bytes, tag_len: int = 16
) -> tuple[bytes, bytes]:
    q = 15 - len(nonce)  # SP 800-38C: L = q
    b0 = (
        bytes([(0x40 if aad else 0) | ((tag_len - 2) // 2) << 3 | (q - 1)])
        + nonce
        + len(plaintext).to_bytes(q, "big")
    )
    header = len(aad).to_bytes(2, "big") + aad if aad else b""
    mac_input = b0 + header + b"\0" * (-len(header) % 16) + plaintext + b"\0" * (-len(plaintext) % 16)
    mac = b"\0" * 16
    for chunk in blocks(mac_input):
        mac = block(xor(mac, chunk))
    counter0 = bytes([q - 1]) + nonce + b"\0" * q
    ciphertext = ctr(block, (int.from_bytes(counter0, "big") + 1).to_bytes(16, "big"), plaintext)
    return ciphertext, xor(mac[:tag_len], block(counter0))


# --- cryptography -------------------------------------------------------------------


def cryptography_mode(case: dict[str, Any]) -> Any:
    mode = case["mode"]
    if mode == "ecb":
        return modes.ECB()  # noqa: S305 - the standard's known-answer tests are ECB
    if mode == "cbc":
        return modes.CBC(h(case["iv"]))
    if mode == "ofb":
        # cryptography moved OFB to its "decrepit" namespace.
        return OFB(h(case["iv"]))
    return modes.CTR(h(case["iv"]))


@pytest.mark.parametrize("case", cases("ecb", "cbc", "ofb", "ctr"))
def test_cryptography_block_modes_match_vectors(case: dict[str, Any]) -> None:
    cipher = Cipher(algorithms.SM4(h(case["key"])), cryptography_mode(case))
    encryptor, decryptor = cipher.encryptor(), cipher.decryptor()
    assert (encryptor.update(h(case["plaintext"])) + encryptor.finalize()).hex() == case["ciphertext"]
    assert (decryptor.update(h(case["ciphertext"])) + decryptor.finalize()).hex() == case["plaintext"]


@pytest.mark.parametrize("case", cases("gcm"))
def test_sm4_gcm_matches_rfc8998(case: dict[str, Any]) -> None:
    gcm = Sm4Gcm(h(case["key"]))
    sealed = gcm.encrypt(h(case["iv"]), h(case["plaintext"]), h(case["aad"]))
    assert sealed.hex() == case["ciphertext"] + case["tag"]
    assert gcm.decrypt(h(case["iv"]), sealed, h(case["aad"])).hex() == case["plaintext"]


@pytest.mark.slow
@pytest.mark.parametrize("case", cases("ecb-iterated"))
def test_cryptography_ecb_iterated_million_times(case: dict[str, Any]) -> None:
    update = Cipher(algorithms.SM4(h(case["key"])), modes.ECB()).encryptor().update  # noqa: S305
    block = h(case["plaintext"])
    for _ in range(case["iterations"]):
        block = update(block)
    assert block.hex() == case["ciphertext"]


# --- gmssl (independent implementation) -----------------------------------------------


@pytest.mark.parametrize("case", cases("ecb"))
def test_gmssl_ecb_matches_vectors(case: dict[str, Any]) -> None:
    key, plaintext = h(case["key"]), h(case["plaintext"])
    engine = gmssl_sm4.CryptSM4()
    engine.set_key(key, gmssl_sm4.SM4_ENCRYPT)
    # crypt_ecb always appends a PKCS#7 block; the vector is the leading blocks.
    assert engine.crypt_ecb(plaintext)[: len(plaintext)].hex() == case["ciphertext"]
    decrypt = gmssl_block(key, decrypt=True)
    assert b"".join(decrypt(b) for b in blocks(h(case["ciphertext"]))).hex() == case["plaintext"]


@pytest.mark.parametrize("case", cases("cbc"))
def test_gmssl_cbc_matches_vectors(case: dict[str, Any]) -> None:
    key, iv, plaintext = h(case["key"]), h(case["iv"]), h(case["plaintext"])
    engine = gmssl_sm4.CryptSM4()
    engine.set_key(key, gmssl_sm4.SM4_ENCRYPT)
    assert engine.crypt_cbc(iv, plaintext)[: len(plaintext)].hex() == case["ciphertext"]
    decrypt, previous, recovered = gmssl_block(key, decrypt=True), iv, b""
    for chunk in blocks(h(case["ciphertext"])):
        recovered += xor(decrypt(chunk), previous)
        previous = chunk
    assert recovered.hex() == case["plaintext"]


@pytest.mark.parametrize("case", cases("ofb", "ctr"))
def test_gmssl_block_with_own_stream_modes_matches_vectors(case: dict[str, Any]) -> None:
    block, iv, plaintext = gmssl_block(h(case["key"])), h(case["iv"]), h(case["plaintext"])
    produced = ofb(block, iv, plaintext) if case["mode"] == "ofb" else ctr(block, iv, plaintext)
    assert produced.hex() == case["ciphertext"]


@pytest.mark.parametrize("case", cases("gcm", "ccm"))
@pytest.mark.parametrize("backend", ["gmssl", "cryptography-ecb"])
def test_own_aead_modes_over_both_block_functions_match_vectors(case: dict[str, Any], backend: str) -> None:
    key = h(case["key"])
    block = gmssl_block(key) if backend == "gmssl" else cryptography_block(key)
    encrypt = gcm_encrypt if case["mode"] == "gcm" else ccm_encrypt
    ciphertext, tag = encrypt(block, h(case["iv"]), h(case["plaintext"]), h(case["aad"]))
    assert (ciphertext.hex(), tag.hex()) == (case["ciphertext"], case["tag"])


# --- Sm4Gcm behaviour -----------------------------------------------------------------


def test_seal_and_open_round_trip_with_random_nonces() -> None:
    gcm = Sm4Gcm(Sm4Gcm.generate_key())
    first, second = gcm.seal(b"same", b"aad"), gcm.seal(b"same", b"aad")
    assert first != second
    assert gcm.open(first, b"aad") == gcm.open(second, b"aad") == b"same"


@pytest.mark.parametrize("position", [0, 12, -1])
def test_any_flipped_byte_fails_authentication(position: int) -> None:
    gcm = Sm4Gcm(Sm4Gcm.generate_key())
    sealed = bytearray(gcm.seal(b"personal data", b"ctx"))
    sealed[position] ^= 1
    with pytest.raises(DecryptionError):
        gcm.open(bytes(sealed), b"ctx")


def test_other_associated_data_fails_authentication() -> None:
    gcm = Sm4Gcm(Sm4Gcm.generate_key())
    with pytest.raises(DecryptionError):
        gcm.open(gcm.seal(b"x", b"ten_1|brw_1|name"), b"ten_1|brw_2|name")


def test_truncated_input_fails_authentication() -> None:
    gcm = Sm4Gcm(Sm4Gcm.generate_key())
    with pytest.raises(DecryptionError):
        gcm.open(gcm.seal(b"")[:20])


@pytest.mark.parametrize("size", [0, 15, 17, 32])
def test_key_must_be_16_bytes(size: int) -> None:
    with pytest.raises(KeyConfigError):
        Sm4Gcm(b"k" * size)


def test_nonce_must_be_12_bytes() -> None:
    with pytest.raises(ValueError, match="12 bytes"):
        Sm4Gcm(Sm4Gcm.generate_key()).encrypt(b"\0" * 16, b"x")
