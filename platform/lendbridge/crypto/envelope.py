"""Envelope encryption of personal data, with key rotation and crypto-shredding.

Key hierarchy (every arrow is SM4-GCM wrapping; every key is 16 random bytes)::

    master key        held by a KeyProvider: LocalKms (env var / key file) or a real KMS
      -> tenant keys  one Keyring per tenant, one key active; stored wrapped by the master
        -> borrower data keys (DEK)  one per borrower; stored wrapped, beside the borrower
          -> field tokens  "v1.<dek id>.<nonce>.<ciphertext+tag>"

    tenant blind-index key  separate 32-byte HMAC-SM3 key, also wrapped by the master key
                            (see blind_index.py); it never encrypts anything

Why a key per borrower: erasing one person (PIPL art. 47) is then deleting one small
wrapped key, after which every copy of that person's ciphertexts - rows, logs of rows,
exports, replicas - is unreadable, without finding and rewriting each of them. The cost
is one extra unwrap per borrower read, which is a local SM4 operation under the already
unwrapped tenant key and is cached by `KeyCache`; only tenant keys go to the KMS.

The master key is 16 bytes because SM4 has only 128-bit keys (GB/T 32907); a longer
secret would add nothing but a derivation step.

Binding: a field token's associated data is the token version, its key id and a caller
context (`field_context(tenant, record, field)`), so a ciphertext copied to another
field, row or tenant fails to decrypt instead of showing the wrong person's data.
Wrapped keys are bound the same way to the wrapping key, the wrapped key's id and a
context (e.g. the tenant and borrower ids).

Rotation:
- tenant key: add a new key to the tenant's Keyring and make it active; new DEKs are
  wrapped under it, old wrapped DEKs keep unwrapping by key id; a background pass calls
  `uses_inactive_key` / `Keyring.rewrap` on each stored DEK (no field is re-encrypted),
  after which the old tenant key can be removed.
- borrower DEK (suspected exposure): give the borrower a Keyring of [old, new active],
  `reencrypt` each of its tokens, then delete the old DEK.
- master key: `LocalKms(new, retired=[old])`, `rewrap` the tenant keys, drop the old one.

Shredding: delete the borrower's wrapped DEK and call `KeyCache.forget(dek_id)`; every
token under it then raises `UnknownKeyError`. Caches in other processes drop it within
their TTL. Backups still hold the wrapped DEK until they expire, so the backup retention
period bounds how long erasure takes. Blind indexes are keyed per tenant, not per
borrower, so erasure must also delete the borrower's index columns.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol

from lendbridge.core.ids import ulid
from lendbridge.crypto.errors import (
    DecryptionError,
    KeyConfigError,
    MalformedTokenError,
    UnknownKeyError,
)
from lendbridge.crypto.sm4 import KEY_SIZE, NONCE_SIZE, Sm4Gcm

FIELD_VERSION = "v1"
WRAP_VERSION = "k1"
MASTER_KEY_ENV = "LENDBRIDGE_MASTER_KEY"

_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# version . key id . nonce (12 bytes) . ciphertext + tag (at least the 16-byte tag)
_FIELD_TOKEN = re.compile(r"v1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22,})")
# version . wrapping key id . wrapped key id . nonce . ciphertext + tag
_WRAPPED_KEY = re.compile(
    r"k1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22,})"
)
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_FIELD_AAD = b"lendbridge/" + FIELD_VERSION.encode() + b"|"
_WRAP_AAD = b"lendbridge/" + WRAP_VERSION.encode() + b"|"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    # Callers have matched the URL-safe alphabet already, so the lenient decoder is safe;
    # bytes.translate + a2b_base64 takes a third of urlsafe_b64decode's time.
    data = text.encode("ascii").translate(_FROM_URLSAFE)
    try:
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except binascii.Error:
        raise MalformedTokenError("token is not valid base64") from None


def _check_key_id(key_id: str) -> str:
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise KeyConfigError("key ids are 1-64 characters of A-Z a-z 0-9 _ -")
    return key_id


@dataclass(frozen=True, eq=False)
class DataKey:
    """A symmetric key and the id stored next to everything it protects.

    16-byte keys encrypt (SM4); 32-byte keys are HMAC-SM3 blind-index keys. The material
    is left out of repr so a logged key shows only its id.
    """

    key_id: str
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_key_id(self.key_id)
        if len(self.material) not in (KEY_SIZE, 32):
            raise KeyConfigError("key material must be 16 (SM4) or 32 (HMAC) bytes")

    def get(self, key_id: str) -> DataKey:
        """A key is also a keyring of one (KeyLookup), so a borrower's DEK decrypts directly."""
        if key_id != self.key_id:
            raise UnknownKeyError(key_id)
        return self

    @cached_property
    def cipher(self) -> Sm4Gcm:
        """The SM4-GCM instance for this key, built once."""
        return Sm4Gcm(self.material)

    @cached_property
    def _field_aad_prefix(self) -> bytes:
        return _FIELD_AAD + self.key_id.encode() + b"|"


def new_data_key(prefix: str = "dek") -> DataKey:
    """A fresh random SM4 key; the id is time-ordered (`dek_01J...`) so keys list by age."""
    return DataKey(f"{prefix}_{ulid()}", secrets.token_bytes(KEY_SIZE))


def new_index_key(prefix: str = "bik") -> DataKey:
    """A fresh random 32-byte HMAC-SM3 key for blind indexes."""
    return DataKey(f"{prefix}_{ulid()}", secrets.token_bytes(32))


class MasterKey(DataKey):
    """The root SM4 key of `LocalKms`: 16 bytes, base64 in an env var or a key file."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.material) != KEY_SIZE:
            raise KeyConfigError(f"master keys are {KEY_SIZE} bytes (SM4)")

    @classmethod
    def generate(cls, key_id: str = "master-1") -> MasterKey:
        return cls(key_id, secrets.token_bytes(KEY_SIZE))

    @classmethod
    def from_base64(cls, value: str, key_id: str = "master-1") -> MasterKey:
        try:
            material = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeyConfigError("master key is not valid base64") from None
        if len(material) != KEY_SIZE:
            raise KeyConfigError(f"master key must decode to {KEY_SIZE} bytes")
        return cls(key_id, material)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], name: str = MASTER_KEY_ENV, key_id: str = "master-1"
    ) -> MasterKey:
        value = environ.get(name)
        if not value:
            raise KeyConfigError(f"{name} is not set")
        return cls.from_base64(value, key_id)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], key_id: str = "master-1") -> MasterKey:
        """A key file holds either the 16 raw bytes or their base64 text."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise KeyConfigError(f"cannot read master key file: {exc.strerror}") from None
        if len(data) == KEY_SIZE:
            return cls(key_id, data)
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise KeyConfigError("master key file is neither 16 raw bytes nor base64") from None
        return cls.from_base64(text, key_id)

    def to_base64(self) -> str:
        """The value to put in the env var or key file when provisioning."""
        return base64.b64encode(self.material).decode("ascii")


class KeyLookup(Protocol):
    def get(self, key_id: str) -> DataKey:
        """The key with this id; raises UnknownKeyError when absent."""
        ...


class KeyProvider(Protocol):
    """Wraps and unwraps keys; `LocalKms` here, a cloud KMS client in production.

    A real KMS maps directly: wrap = Encrypt(plaintext=material, context), unwrap =
    Decrypt. A `Keyring` is itself a KeyProvider (tenant keys wrap borrower DEKs).
    """

    def wrap(self, key: DataKey, context: str) -> str:
        """`key` encrypted for storage, bound to `context`."""
        ...

    def unwrap(self, wrapped: str, context: str) -> DataKey:
        """The key `wrap` produced; DecryptionError if the context differs or it was altered."""
        ...


def make_context(*parts: str) -> str:
    """An unambiguous associated-data string from ids: parts may not contain "|"."""
    if not parts:
        raise ValueError("a context needs at least one part")
    for part in parts:
        if not part or "|" in part:
            raise ValueError("context parts must be non-empty and free of '|'")
    return "|".join(parts)


def field_context(tenant_id: str, record_id: str, field_name: str) -> str:
    """The context binding a field token to its tenant, record and field."""
    return make_context(tenant_id, record_id, field_name)


def _wrap_aad(kek_id: str, key_id: str, context: str) -> bytes:
    return _WRAP_AAD + f"{kek_id}|{key_id}|{context}".encode()


def _wrap(kek: DataKey, key: DataKey, context: str) -> str:
    nonce = os.urandom(NONCE_SIZE)
    sealed = kek.cipher.encrypt(nonce, key.material, _wrap_aad(kek.key_id, key.key_id, context))
    return f"{WRAP_VERSION}.{kek.key_id}.{key.key_id}.{_b64(nonce)}.{_b64(sealed)}"


def _unwrap(keys: KeyLookup, wrapped: str, context: str) -> DataKey:
    match = _WRAPPED_KEY.fullmatch(wrapped) if isinstance(wrapped, str) else None
    if match is None:
        raise MalformedTokenError("not a wrapped key")
    kek_id, key_id, nonce_text, sealed_text = match.groups()
    nonce, sealed = _unb64(nonce_text), _unb64(sealed_text)
    material = keys.get(kek_id).cipher.decrypt(nonce, sealed, _wrap_aad(kek_id, key_id, context))
    try:
        return DataKey(key_id, material)
    except KeyConfigError:
        raise DecryptionError("wrapped key has an invalid size") from None


class Keyring:
    """Keys by id, one of them active. Immutable, so it can be shared between threads.

    New data is encrypted (or new keys wrapped) under the active key; everything else
    is found by the key id its token carries, which is what lets old tokens keep working
    while they are rotated.
    """

    __slots__ = ("_active", "_keys")

    def __init__(self, keys: Iterable[DataKey], active_id: str) -> None:
        self._keys: dict[str, DataKey] = {}
        for key in keys:
            if key.key_id in self._keys:
                raise KeyConfigError(f"duplicate key id {key.key_id!r}")
            self._keys[key.key_id] = key
        if active_id not in self._keys:
            raise KeyConfigError(f"active key {active_id!r} is not in the keyring")
        self._active = self._keys[active_id]

    @classmethod
    def of(cls, key: DataKey) -> Keyring:
        """A keyring holding one key, active."""
        return cls([key], key.key_id)

    @property
    def active(self) -> DataKey:
        return self._active

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def get(self, key_id: str) -> DataKey:
        try:
            return self._keys[key_id]
        except KeyError:
            raise UnknownKeyError(key_id) from None

    def rotated(self, new_key: DataKey) -> Keyring:
        """A keyring with `new_key` added and active; the old keys stay for decryption."""
        return Keyring([*self._keys.values(), new_key], new_key.key_id)

    def without(self, key_id: str) -> Keyring:
        """A keyring without `key_id` (retire after rotation, or shred)."""
        if key_id == self._active.key_id:
            raise KeyConfigError("cannot remove the active key")
        return Keyring([k for k in self._keys.values() if k.key_id != key_id], self._active.key_id)

    def wrap(self, key: DataKey, context: str) -> str:
        """`key` wrapped under the active key: "k1.<kek id>.<key id>.<nonce>.<ct+tag>"."""
        return _wrap(self._active, key, context)

    def unwrap(self, wrapped: str, context: str) -> DataKey:
        return _unwrap(self, wrapped, context)

    def rewrap(self, wrapped: str, context: str) -> str:
        """`wrapped` under the active key; returned unchanged if it already is."""
        if not uses_inactive_key(self, wrapped):
            return wrapped
        return self.wrap(self.unwrap(wrapped, context), context)

    def __repr__(self) -> str:
        return f"Keyring(active={self._active.key_id!r}, keys={len(self._keys)})"


class LocalKms:
    """KeyProvider over master keys from the environment or a file (embedded default).

    Several master keys may be loaded during master-key rotation; `wrap` always uses
    the active one and `unwrap` finds the one named in the wrapped key.
    """

    __slots__ = ("_keyring",)

    def __init__(self, active: MasterKey, retired: Iterable[MasterKey] = ()) -> None:
        self._keyring = Keyring([active, *retired], active.key_id)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], name: str = MASTER_KEY_ENV) -> LocalKms:
        return cls(MasterKey.from_env(environ, name))

    @property
    def active_key_id(self) -> str:
        return self._keyring.active.key_id

    def wrap(self, key: DataKey, context: str) -> str:
        return self._keyring.wrap(key, context)

    def unwrap(self, wrapped: str, context: str) -> DataKey:
        return self._keyring.unwrap(wrapped, context)

    def rewrap(self, wrapped: str, context: str) -> str:
        return self._keyring.rewrap(wrapped, context)

    def needs_rewrap(self, wrapped: str) -> bool:
        return uses_inactive_key(self._keyring, wrapped)


def encrypt_field(data_key: DataKey, plaintext: str, context: str) -> str:
    """`plaintext` as a token "v1.<key id>.<nonce>.<ciphertext+tag>" bound to `context`.

    Nonce and ciphertext are unpadded URL-safe base64, so the token holds no characters
    that need quoting in JSON, URLs or CSV. With a `dek_<ulid>` key id, an 18-character ID
    number becomes a 97-character token.
    """
    nonce = os.urandom(NONCE_SIZE)
    sealed = data_key.cipher.encrypt(nonce, plaintext.encode(), data_key._field_aad_prefix + context.encode())
    return f"{FIELD_VERSION}.{data_key.key_id}.{_b64(nonce)}.{_b64(sealed)}"


def decrypt_field(keyring: KeyLookup, token: str, context: str) -> str:
    """The plaintext of `encrypt_field`'s token.

    Raises UnknownKeyError if the token's key is not in `keyring` (shredded, or the wrong
    borrower's keys), DecryptionError if the context differs or the token was altered,
    MalformedTokenError if it is not a token at all.
    """
    match = _FIELD_TOKEN.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        raise MalformedTokenError("not a field token")
    key_id, nonce_text, sealed_text = match.groups()
    nonce, sealed = _unb64(nonce_text), _unb64(sealed_text)
    key = keyring.get(key_id)
    plaintext = key.cipher.decrypt(nonce, sealed, key._field_aad_prefix + context.encode())
    try:
        return plaintext.decode()
    except UnicodeDecodeError:
        raise DecryptionError("decrypted field is not UTF-8") from None


def token_key_id(token: str) -> str:
    """The id of the key a field token or wrapped key was made with."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) not in (4, 5) or parts[0] not in (FIELD_VERSION, WRAP_VERSION):
        raise MalformedTokenError("not a token")
    return parts[1]


def uses_inactive_key(keyring: Keyring, token: str) -> bool:
    """Whether a field token or wrapped key was made with a key other than the active one."""
    return token_key_id(token) != keyring.active.key_id


def reencrypt(keyring: Keyring, token: str, context: str) -> str:
    """`token` re-encrypted under the keyring's active key; unchanged if it already is."""
    if not uses_inactive_key(keyring, token):
        return token
    return encrypt_field(keyring.active, decrypt_field(keyring, token, context), context)


class KeyCache:
    """Unwrapped keys kept in memory so each wrapped key is unwrapped once.

    Entries are found by (wrapped key, context), so a hit is exactly what a fresh unwrap
    would return. They expire `ttl_seconds` after they were unwrapped: that bounds both
    how long key material stays in memory and how long another process may still read a
    shredded borrower's data. Thread-safe; least recently used entries go first when full.
    """

    def __init__(
        self,
        max_entries: int = 10_000,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1 or ttl_seconds <= 0:
            raise ValueError("max_entries and ttl_seconds must be positive")
        self._max = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, DataKey]] = OrderedDict()
        self._lock = threading.Lock()

    def unwrap(self, provider: KeyProvider, wrapped: str, context: str) -> DataKey:
        """`provider.unwrap(wrapped, context)`, from the cache when possible."""
        slot = (wrapped, context)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(slot)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(slot)
                return entry[1]
        key = provider.unwrap(wrapped, context)
        with self._lock:
            self._entries[slot] = (now + self._ttl, key)
            self._entries.move_to_end(slot)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return key

    def forget(self, key_id: str) -> int:
        """Drop every cached copy of `key_id` (after shredding it); returns how many."""
        with self._lock:
            slots = [slot for slot, (_, key) in self._entries.items() if key.key_id == key_id]
            for slot in slots:
                del self._entries[slot]
        return len(slots)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
