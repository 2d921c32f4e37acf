"""Blind indexes: equality search over encrypted fields without storing plaintext.

index = base64url(HMAC-SM3(field key, normalised value)[:12]), where
field key = HMAC-SM3(tenant index key, "lendbridge/blind-index/v1|<tenant id>|<field>").

- The tenant index key is its own 32-byte key, never an encryption key, so exposing an
  index key reveals nothing about ciphertexts and rotating encryption keys leaves the
  indexes valid.
- The per-field key gives domain separation: the same phone number stored as `phone`
  and as `emergency_contact_phone` has unrelated indexes, so columns cannot be joined.
  The tenant id in the derivation separates tenants even if two shared a key by mistake.
- Values are normalised first, so "+86 138-1234-5678" and "13812345678" meet.

Truncation to 96 bits: indexes are exact-match lookups, and ID numbers, phones and card
numbers come from small spaces, so no truncation length hides them from someone holding
the key, and without the key every length is opaque. The remaining tradeoff is
collisions versus size: at 96 bits, a table of 10^9 values has a collision probability
around 10^-11, and a 16-character index keeps the database index small. Callers still
confirm a hit by decrypting, which makes any collision harmless.

Nothing else derived from plaintext leaves this module; there is no unkeyed hash.
Rotating the index key means recomputing every index from decrypted values.
"""

from __future__ import annotations

import base64
import re
import threading
import unicodedata
from collections.abc import Callable

from lendbridge.crypto.envelope import DataKey, make_context
from lendbridge.crypto.errors import KeyConfigError
from lendbridge.crypto.sm3 import HmacSm3, hmac_sm3

INDEX_BYTES = 12
_DERIVATION_LABEL = b"lendbridge/blind-index/v1|"
_NON_DIGITS = re.compile(r"\D", re.ASCII)
_WHITESPACE = re.compile(r"\s+")


def _nfkc(value: str) -> str:
    # Full-width digits and letters, common in Chinese input methods, become ASCII.
    return unicodedata.normalize("NFKC", value)


def normalise_id_number(value: str) -> str:
    """Citizen ID / other document numbers: NFKC, no whitespace, upper case (x -> X)."""
    return _WHITESPACE.sub("", _nfkc(value)).upper()


def normalise_phone(value: str) -> str:
    """Digits only, without a leading +86, 0086 or 86 country code."""
    digits = _NON_DIGITS.sub("", _nfkc(value))
    if len(digits) == 15 and digits.startswith("0086"):
        return digits[4:]
    if len(digits) == 13 and digits.startswith("86"):
        return digits[2:]
    return digits


def normalise_digits(value: str) -> str:
    """Bank cards: digits only."""
    return _NON_DIGITS.sub("", _nfkc(value))


def normalise_name(value: str) -> str:
    """Person and company names: NFKC, trimmed, inner whitespace runs collapsed to one space."""
    return _WHITESPACE.sub(" ", _nfkc(value)).strip()


NORMALISERS: dict[str, Callable[[str], str]] = {
    "id_number": normalise_id_number,
    "uscc": normalise_id_number,
    "phone": normalise_phone,
    "bank_card": normalise_digits,
    "name": normalise_name,
}


class BlindIndexer:
    """Computes one tenant's blind indexes; safe to share between threads.

    `fields` maps each indexed field to its normaliser. Field names are part of the
    index, so `legal_rep_id_number` can reuse `normalise_id_number` and still get its
    own, unlinkable index space.
    """

    def __init__(
        self,
        index_key: DataKey,
        tenant_id: str,
        *,
        fields: dict[str, Callable[[str], str]] | None = None,
    ) -> None:
        if len(index_key.material) != 32:
            raise KeyConfigError("blind-index keys are 32 bytes")
        self.key_id = index_key.key_id
        self._prefix = _DERIVATION_LABEL + make_context(tenant_id).encode() + b"|"
        self._root = index_key.material
        self._normalisers = dict(NORMALISERS if fields is None else fields)
        self._field_macs: dict[str, HmacSm3] = {}
        self._lock = threading.Lock()

    def _mac_for(self, field_name: str) -> HmacSm3:
        mac = self._field_macs.get(field_name)
        if mac is None:
            if "|" in field_name or not field_name:
                raise ValueError("field names must be non-empty and free of '|'")
            with self._lock:
                mac = HmacSm3(hmac_sm3(self._root, self._prefix + field_name.encode()))
                self._field_macs[field_name] = mac
        return mac

    def normalise(self, field_name: str, value: str) -> str:
        try:
            normaliser = self._normalisers[field_name]
        except KeyError:
            raise ValueError(f"no blind index is defined for field {field_name!r}") from None
        return normaliser(value)

    def index(self, field_name: str, value: str) -> str:
        """The 16-character index of `value` in `field_name`; equal after normalisation, equal here."""
        normalised = self.normalise(field_name, value)
        if not normalised:
            raise ValueError(f"empty value for blind-indexed field {field_name!r}")
        digest = self._mac_for(field_name).digest(normalised.encode())
        return base64.urlsafe_b64encode(digest[:INDEX_BYTES]).decode("ascii")
