"""SM2 signatures: the GB/T 32918.2 example, round trips, and what must not verify."""

from __future__ import annotations

import pytest

from lendbridge.crypto.errors import KeyConfigError
from lendbridge.crypto.sm2 import Sm2KeyPair, Sm2PublicKey
from lendbridge.crypto.sm3 import sm3

# GB/T 32918.2-2016 Annex A.2 / GM/T 0003.5-2012 example on the recommended curve
# (not in ../shared/vectors; also used by OpenSSL's and Tongsuo's SM2 tests).
STD_D = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
STD_PUBLIC = (
    "04"
    "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
)
STD_MESSAGE = b"message digest"
STD_ZA = "b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3"
STD_E = "f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640"
STD_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
STD_SIGNATURE = (
    "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"
    "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa"
)
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123


@pytest.fixture(scope="module")
def pair() -> Sm2KeyPair:
    return Sm2KeyPair.generate()


def test_standard_example_public_key_za_and_digest() -> None:
    key = Sm2KeyPair(STD_D)
    assert key.public_key_hex == STD_PUBLIC
    assert key.public_key.z.hex() == STD_ZA
    assert key.public_key.message_digest(STD_MESSAGE).hex() == STD_E


def test_standard_example_signature_with_its_nonce() -> None:
    key = Sm2KeyPair(STD_D, STD_PUBLIC)
    assert key._sign_digest(bytes.fromhex(STD_E), STD_K) == STD_SIGNATURE


def test_standard_example_signature_verifies_with_public_key_alone() -> None:
    assert Sm2PublicKey(STD_PUBLIC).verify(STD_MESSAGE, STD_SIGNATURE)
    assert Sm2PublicKey(STD_PUBLIC[2:]).verify(STD_MESSAGE, STD_SIGNATURE.upper())


def test_agreement_hash_round_trip(pair: Sm2KeyPair) -> None:
    agreement_hash = sm3("借款合同 loan_01JD3Q8Z6S0M4W2C7V9E5K1T3P".encode())
    signature = pair.sign(agreement_hash)
    assert len(signature) == 128
    assert pair.verify(agreement_hash, signature)
    assert Sm2PublicKey(pair.public_key_hex).verify(agreement_hash, signature)


def test_signatures_use_fresh_nonces(pair: Sm2KeyPair) -> None:
    assert pair.sign(b"same") != pair.sign(b"same")


def test_tampered_data_fails(pair: Sm2KeyPair) -> None:
    signature = pair.sign(b"agreement v1")
    assert not pair.verify(b"agreement v2", signature)


@pytest.mark.parametrize("position", [0, 63, 64, 127])
def test_tampered_signature_fails(pair: Sm2KeyPair, position: int) -> None:
    signature = pair.sign(b"agreement")
    flipped = signature[:position] + ("0" if signature[position] != "0" else "1") + signature[position + 1 :]
    assert not pair.verify(b"agreement", flipped)


def test_other_key_fails(pair: Sm2KeyPair) -> None:
    assert not Sm2KeyPair.generate().verify(b"agreement", pair.sign(b"agreement"))


def test_other_user_id_fails(pair: Sm2KeyPair) -> None:
    signature = pair.sign(b"agreement")
    assert not Sm2PublicKey(pair.public_key_hex, user_id=b"lendbridge").verify(b"agreement", signature)


@pytest.mark.parametrize(
    "signature",
    [
        STD_SIGNATURE[:64] + f"{N:064x}",
        STD_SIGNATURE[:64] + "0" * 64,
        f"{N:064x}" + STD_SIGNATURE[64:],
        "0" * 64 + STD_SIGNATURE[64:],
    ],
    ids=["s=n", "s=0", "r=n", "r=0"],
)
def test_r_and_s_outside_1_to_n_minus_1_are_rejected(signature: str) -> None:
    assert not Sm2PublicKey(STD_PUBLIC).verify(STD_MESSAGE, signature)


@pytest.mark.parametrize("signature", ["", "zz" * 64, "00" * 64, "ab" * 63, "ab" * 65])
def test_malformed_signatures_are_false_not_errors(signature: str) -> None:
    assert not Sm2PublicKey(STD_PUBLIC).verify(STD_MESSAGE, signature)


@pytest.mark.parametrize("d", [11, 6])
def test_keys_whose_x_starts_with_0_or_4_survive_gmssl_lstrip(d: int) -> None:
    # d=11: x starts "04"; d=6: x starts "09". gmssl's lstrip("04") would corrupt both.
    pair = Sm2KeyPair(f"{d:064x}")
    assert pair.public_key_hex[2] in "04"
    assert pair.verify(b"x", pair.sign(b"x"))


def test_private_key_is_validated() -> None:
    for bad in ["", "00" * 32, f"{N - 1:064x}", f"{N:064x}", "g" * 64]:
        with pytest.raises(KeyConfigError):
            Sm2KeyPair(bad)


def test_public_key_must_match_private_key(pair: Sm2KeyPair) -> None:
    with pytest.raises(KeyConfigError, match="does not belong"):
        Sm2KeyPair(STD_D, pair.public_key_hex)


def test_public_key_must_be_on_the_curve() -> None:
    off_curve = STD_PUBLIC[:-1] + ("4" if STD_PUBLIC[-1] != "4" else "5")
    with pytest.raises(KeyConfigError, match="not a point"):
        Sm2PublicKey(off_curve)


def test_private_key_round_trips_as_hex_but_never_appears_in_repr(pair: Sm2KeyPair) -> None:
    assert Sm2KeyPair(pair.private_key_hex).public_key_hex == pair.public_key_hex
    assert pair.private_key_hex not in repr(pair)
