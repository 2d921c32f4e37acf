"""SM2 signatures (GB/T 32918.2) over the recommended curve, for signing loan agreements.

The platform signs each agreement's SM3 hash: `Sm2KeyPair.sign(agreement_hash)`. As the
standard requires, the signed value is e = SM3(Z_A || message), where
Z_A = SM3(ENTL || user id || a || b || x_G || y_G || x_A || y_A) binds the signer's public
key and user id (default "1234567812345678", GM/T 0009).

`cryptography` has no SM2, so the curve arithmetic comes from gmssl, and only that: its
nonce generator is `random.choice` (not a CSPRNG), its public-key parsing uses
`str.lstrip("04")` (corrupting keys whose x begins with 0 or 4), and its verifier does
not range-check r and s. So the nonce comes from `secrets`, Z_A and e are computed here
with `cryptography`'s SM3, keys are validated (on the curve, scalars in range), and r, s
are range-checked before gmssl sees them.

Signatures are hex r || s (128 characters), the form gmssl and most Chinese APIs use.
"""

from __future__ import annotations

import re
import secrets

from gmssl import sm2 as _gmssl_sm2

from lendbridge.crypto.errors import KeyConfigError
from lendbridge.crypto.sm3 import sm3

DEFAULT_USER_ID = b"1234567812345678"

_CURVE = _gmssl_sm2.default_ecc_table
_P = int(_CURVE["p"], 16)
_A = int(_CURVE["a"], 16)
_B = int(_CURVE["b"], 16)
_N = int(_CURVE["n"], 16)
_G_HEX = _CURVE["g"].lower()
_CURVE_BYTES = bytes.fromhex(_CURVE["a"] + _CURVE["b"] + _CURVE["g"])
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_HEX128 = re.compile(r"[0-9a-fA-F]{128}")


def _engine(private_hex: str, public_xy_hex: str) -> _gmssl_sm2.CryptSM2:
    engine = _gmssl_sm2.CryptSM2(private_key=private_hex, public_key=public_xy_hex)
    # Set after construction: the constructor strips leading "0"/"4" characters.
    engine.public_key = public_xy_hex
    return engine


def _parse_public_key(public_key_hex: str) -> str:
    """x || y as 128 lowercase hex characters, after checking the point is on the curve."""
    text = public_key_hex.strip()
    if len(text) == 130 and text[:2] == "04":
        text = text[2:]
    if not _HEX128.fullmatch(text):
        raise KeyConfigError("SM2 public key must be 04 || x || y in hex")
    x, y = int(text[:64], 16), int(text[64:], 16)
    if x >= _P or y >= _P or (y * y - (x * x * x + _A * x + _B)) % _P != 0:
        raise KeyConfigError("SM2 public key is not a point on the curve")
    return text.lower()


def _parse_private_key(private_key_hex: str) -> int:
    text = private_key_hex.strip()
    if not _HEX64.fullmatch(text):
        raise KeyConfigError("SM2 private key must be 64 hex characters")
    d = int(text, 16)
    # d = n - 1 is excluded because signing needs (1 + d)^-1 mod n.
    if not 1 <= d <= _N - 2:
        raise KeyConfigError("SM2 private key out of range")
    return d


def _multiply_base(d: int) -> str:
    point: str = _engine("00", "00")._kg(d, _G_HEX)
    return point


class Sm2PublicKey:
    """Verifies SM2 signatures; institutions and auditors need only this half."""

    __slots__ = ("_engine", "_xy", "_z")

    def __init__(self, public_key_hex: str, *, user_id: bytes = DEFAULT_USER_ID) -> None:
        if len(user_id) >= 8192:
            raise KeyConfigError("SM2 user id too long")
        self._xy = _parse_public_key(public_key_hex)
        self._engine = _engine("00", self._xy)
        entl = (len(user_id) * 8).to_bytes(2, "big")
        self._z = sm3(entl + user_id + _CURVE_BYTES + bytes.fromhex(self._xy))

    @property
    def hex(self) -> str:
        """Uncompressed form: "04" || x || y (130 hex characters)."""
        return "04" + self._xy

    @property
    def z(self) -> bytes:
        """Z_A, the hash binding this key and its user id into every signature."""
        return self._z

    def message_digest(self, data: bytes) -> bytes:
        """e = SM3(Z_A || data), the value the signature is computed over."""
        return sm3(self._z + data)

    def verify(self, data: bytes, signature: str) -> bool:
        """Whether `signature` (hex r || s) is a valid signature of `data` by this key."""
        if not isinstance(signature, str) or not _HEX128.fullmatch(signature):
            return False
        r, s = int(signature[:64], 16), int(signature[64:], 16)
        if not (1 <= r < _N and 1 <= s < _N):
            return False
        try:
            return bool(self._engine.verify(signature, self.message_digest(data)))
        except (ValueError, TypeError, IndexError):
            return False

    def __repr__(self) -> str:
        return f"Sm2PublicKey({self.hex[:18]}...)"


class Sm2KeyPair:
    """An SM2 private/public key pair in hex; signs with a fresh CSPRNG nonce each time."""

    __slots__ = ("_d", "_engine", "public_key")

    def __init__(
        self, private_key_hex: str, public_key_hex: str | None = None, *, user_id: bytes = DEFAULT_USER_ID
    ) -> None:
        self._d = _parse_private_key(private_key_hex)
        derived = _multiply_base(self._d)
        if public_key_hex is not None and _parse_public_key(public_key_hex) != derived:
            raise KeyConfigError("SM2 public key does not belong to the private key")
        self.public_key = Sm2PublicKey(derived, user_id=user_id)
        self._engine = _engine(f"{self._d:064x}", derived)

    @classmethod
    def generate(cls, *, user_id: bytes = DEFAULT_USER_ID) -> Sm2KeyPair:
        return cls(f"{secrets.randbelow(_N - 2) + 1:064x}", user_id=user_id)

    @property
    def private_key_hex(self) -> str:
        return f"{self._d:064x}"

    @property
    def public_key_hex(self) -> str:
        return self.public_key.hex

    def sign(self, data: bytes) -> str:
        """Signature of `data` (for agreements: their SM3 hash) as hex r || s."""
        digest = self.public_key.message_digest(data)
        while True:
            signature = self._sign_digest(digest, secrets.randbelow(_N - 1) + 1)
            if signature is not None:
                return signature

    def _sign_digest(self, digest: bytes, k: int) -> str | None:
        # None when r = 0, r + k = n or s = 0; the caller draws another k.
        signature: str | None = self._engine.sign(digest, f"{k:064x}")
        return signature

    def verify(self, data: bytes, signature: str) -> bool:
        return self.public_key.verify(data, signature)

    def __repr__(self) -> str:
        return f"Sm2KeyPair(public_key={self.public_key_hex[:18]}...)"
