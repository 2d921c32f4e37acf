"""Envelope encryption: field tokens, key wrapping, rotation, shredding, caching."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.crypto.envelope import (
    DataKey,
    KeyCache,
    Keyring,
    LocalKms,
    MasterKey,
    decrypt_field,
    encrypt_field,
    field_context,
    make_context,
    new_data_key,
    new_index_key,
    reencrypt,
    token_key_id,
    uses_inactive_key,
)
from lendbridge.crypto.errors import (
    DecryptionError,
    KeyConfigError,
    MalformedTokenError,
    UnknownKeyError,
)

CTX = field_context("ten_1", "brw_1", "id_number")
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def dek() -> DataKey:
    return new_data_key()


def flip_char(text: str, i: int) -> str:
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]


def test_round_trip(dek: DataKey) -> None:
    token = encrypt_field(dek, ID_NUMBER, CTX)
    assert decrypt_field(Keyring.of(dek), token, CTX) == ID_NUMBER


def test_a_data_key_is_a_keyring_of_one(dek: DataKey) -> None:
    token = encrypt_field(dek, ID_NUMBER, CTX)
    assert decrypt_field(dek, token, CTX) == ID_NUMBER
    with pytest.raises(UnknownKeyError):
        decrypt_field(new_data_key(), token, CTX)


def test_token_is_self_describing_and_holds_no_plaintext(dek: DataKey) -> None:
    token = encrypt_field(dek, ID_NUMBER, CTX)
    version, key_id, nonce, sealed = token.split(".")
    assert (version, key_id) == ("v1", dek.key_id)
    assert len(base64.urlsafe_b64decode(nonce + "==")) == 12
    assert len(base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))) == len(ID_NUMBER) + 16
    assert ID_NUMBER not in token and token_key_id(token) == dek.key_id


def test_same_value_encrypts_differently_each_time(dek: DataKey) -> None:
    assert encrypt_field(dek, ID_NUMBER, CTX) != encrypt_field(dek, ID_NUMBER, CTX)


@pytest.mark.parametrize(
    "other",
    [
        field_context("ten_1", "brw_2", "id_number"),  # another row
        field_context("ten_1", "brw_1", "phone"),  # another field
        field_context("ten_2", "brw_1", "id_number"),  # another tenant
    ],
)
def test_token_moved_to_another_context_fails(dek: DataKey, other: str) -> None:
    token = encrypt_field(dek, ID_NUMBER, CTX)
    with pytest.raises(DecryptionError):
        decrypt_field(Keyring.of(dek), token, other)


@pytest.mark.parametrize("part", [2, 3], ids=["nonce", "ciphertext"])
def test_every_tampered_character_fails(dek: DataKey, part: int) -> None:
    parts = encrypt_field(dek, ID_NUMBER, CTX).split(".")
    # The last character is skipped: its low bits can be base64 padding that decodes to nothing.
    for i in range(len(parts[part]) - 1):
        tampered = parts.copy()
        tampered[part] = flip_char(parts[part], i)
        with pytest.raises(DecryptionError):
            decrypt_field(Keyring.of(dek), ".".join(tampered), CTX)


def test_token_relabelled_with_another_key_id_fails(dek: DataKey) -> None:
    other = new_data_key()
    parts = encrypt_field(dek, ID_NUMBER, CTX).split(".")
    parts[1] = other.key_id
    with pytest.raises(DecryptionError):
        decrypt_field(Keyring([dek, other], dek.key_id), ".".join(parts), CTX)


def test_unknown_key_id_is_a_clear_error(dek: DataKey) -> None:
    token = encrypt_field(dek, ID_NUMBER, CTX)
    with pytest.raises(UnknownKeyError, match=dek.key_id) as raised:
        decrypt_field(Keyring.of(new_data_key()), token, CTX)
    assert raised.value.key_id == dek.key_id


@pytest.mark.parametrize(
    "token",
    [
        "",
        ID_NUMBER,
        "v1.dek_x.abc",
        "v2.dek_x.AAAAAAAAAAAAAAAA.AAAA",
        "v1.dek_x.AAAAAAAAAAAAAAA!.AAAA",
        "v1.a.b.c.d",
    ],
)
def test_malformed_tokens_are_rejected_without_echoing_them(token: str) -> None:
    with pytest.raises(MalformedTokenError) as raised:
        decrypt_field(Keyring.of(new_data_key()), token, CTX)
    assert not token or token not in str(raised.value)


def test_short_ciphertext_is_malformed(dek: DataKey) -> None:
    token = f"v1.{dek.key_id}.AAAAAAAAAAAAAAAA.AAAA"
    with pytest.raises(MalformedTokenError):
        decrypt_field(Keyring.of(dek), token, CTX)


@settings(max_examples=200, deadline=None)
@given(plaintext=st.text(), record=st.text(min_size=1).filter(lambda s: "|" not in s))
def test_round_trip_of_arbitrary_unicode(plaintext: str, record: str) -> None:
    key = DataKey("dek_hypothesis", b"k" * 16)
    context = field_context("ten_1", record, "notes")
    assert decrypt_field(Keyring.of(key), encrypt_field(key, plaintext, context), context) == plaintext


def test_context_parts_cannot_be_ambiguous() -> None:
    with pytest.raises(ValueError):
        make_context("ten_1|brw_1", "name")
    with pytest.raises(ValueError):
        make_context("ten_1", "")


# --- keys -----------------------------------------------------------------------------


def test_key_material_never_appears_in_repr() -> None:
    key = DataKey("dek_1", b"secret-material!")
    assert "secret" not in repr(key) and "dek_1" in repr(key)
    assert "dek_1" in repr(Keyring.of(key)) and "secret" not in repr(Keyring.of(key))


@pytest.mark.parametrize("key_id", ["", "has.dot", "has|bar", "x" * 65, "空"])
def test_key_ids_are_restricted(key_id: str) -> None:
    with pytest.raises(KeyConfigError):
        DataKey(key_id, b"k" * 16)


def test_key_material_size_is_checked() -> None:
    with pytest.raises(KeyConfigError):
        DataKey("dek_1", b"short")


def test_new_keys_are_distinct_and_prefixed() -> None:
    first, second = new_data_key("kek"), new_data_key("kek")
    assert first.key_id != second.key_id and first.key_id.startswith("kek_")
    assert first.material != second.material and len(first.material) == 16
    assert len(new_index_key().material) == 32


def test_keyring_rejects_duplicates_and_missing_active() -> None:
    key = new_data_key()
    with pytest.raises(KeyConfigError):
        Keyring([key, key], key.key_id)
    with pytest.raises(KeyConfigError):
        Keyring([key], "dek_missing")


# --- wrapping -------------------------------------------------------------------------


def test_wrap_round_trip_and_format() -> None:
    tenant, dek = Keyring.of(new_data_key("kek")), new_data_key()
    wrapped = tenant.wrap(dek, "ten_1|brw_1")
    assert wrapped.split(".")[:3] == ["k1", tenant.active.key_id, dek.key_id]
    unwrapped = tenant.unwrap(wrapped, "ten_1|brw_1")
    assert (unwrapped.key_id, unwrapped.material) == (dek.key_id, dek.material)


def test_wrapped_key_is_bound_to_its_context() -> None:
    tenant = Keyring.of(new_data_key("kek"))
    wrapped = tenant.wrap(new_data_key(), "ten_1|brw_1")
    with pytest.raises(DecryptionError):
        tenant.unwrap(wrapped, "ten_1|brw_2")


def test_wrapped_key_id_cannot_be_relabelled() -> None:
    tenant = Keyring.of(new_data_key("kek"))
    parts = tenant.wrap(new_data_key(), "ctx").split(".")
    parts[2] = "dek_forged"
    with pytest.raises(DecryptionError):
        tenant.unwrap(".".join(parts), "ctx")


def test_field_token_is_not_a_wrapped_key(dek: DataKey) -> None:
    with pytest.raises(MalformedTokenError):
        Keyring.of(dek).unwrap(encrypt_field(dek, "x", CTX), CTX)


# --- rotation -------------------------------------------------------------------------


def test_rotation_keeps_old_tokens_readable_and_reencrypt_moves_them() -> None:
    old = new_data_key()
    token = encrypt_field(old, ID_NUMBER, CTX)
    keyring = Keyring.of(old).rotated(new_data_key())
    assert keyring.active.key_id != old.key_id
    assert uses_inactive_key(keyring, token)
    assert decrypt_field(keyring, token, CTX) == ID_NUMBER

    moved = reencrypt(keyring, token, CTX)
    assert token_key_id(moved) == keyring.active.key_id
    assert not uses_inactive_key(keyring, moved)
    assert reencrypt(keyring, moved, CTX) is moved, "already current: no rewrite"

    retired = keyring.without(old.key_id)
    assert decrypt_field(retired, moved, CTX) == ID_NUMBER
    with pytest.raises(UnknownKeyError):
        decrypt_field(retired, token, CTX)


def test_reencrypt_still_checks_the_context() -> None:
    old = new_data_key()
    keyring = Keyring.of(old).rotated(new_data_key())
    with pytest.raises(DecryptionError):
        reencrypt(keyring, encrypt_field(old, ID_NUMBER, CTX), field_context("ten_1", "brw_9", "id_number"))


def test_tenant_key_rotation_rewraps_deks_without_touching_fields() -> None:
    tenant = Keyring.of(new_data_key("kek"))
    dek = new_data_key()
    wrapped = tenant.wrap(dek, "ten_1|brw_1")
    token = encrypt_field(dek, ID_NUMBER, CTX)

    tenant = tenant.rotated(new_data_key("kek"))
    assert uses_inactive_key(tenant, wrapped)
    rewrapped = tenant.rewrap(wrapped, "ten_1|brw_1")
    assert token_key_id(rewrapped) == tenant.active.key_id
    assert tenant.rewrap(rewrapped, "ten_1|brw_1") is rewrapped

    old_id = token_key_id(wrapped)
    same_dek = tenant.without(old_id).unwrap(rewrapped, "ten_1|brw_1")
    assert decrypt_field(Keyring.of(same_dek), token, CTX) == ID_NUMBER


def test_active_key_cannot_be_removed(dek: DataKey) -> None:
    with pytest.raises(KeyConfigError):
        Keyring.of(dek).without(dek.key_id)


# --- shredding ------------------------------------------------------------------------


def test_shredded_borrower_key_makes_only_that_borrower_unreadable() -> None:
    tenant = Keyring.of(new_data_key("kek"))
    cache = KeyCache()
    rows = {}
    for borrower in ("brw_1", "brw_2"):
        dek = new_data_key()
        context = field_context("ten_1", borrower, "name")
        rows[borrower] = (
            tenant.wrap(dek, f"ten_1|{borrower}"),
            encrypt_field(dek, "张晓雯", context),
            context,
        )

    wrapped_1, token_1, context_1 = rows["brw_1"]
    dek_1 = cache.unwrap(tenant, wrapped_1, "ten_1|brw_1")
    assert decrypt_field(Keyring.of(dek_1), token_1, context_1) == "张晓雯"

    # Erasure: the row's wrapped key is deleted and every cached copy forgotten.
    del rows["brw_1"]
    assert cache.forget(dek_1.key_id) == 1
    assert len(cache) == 0
    with pytest.raises(UnknownKeyError):
        decrypt_field(Keyring.of(new_data_key()), token_1, context_1)

    wrapped_2, token_2, context_2 = rows["brw_2"]
    assert (
        decrypt_field(Keyring.of(cache.unwrap(tenant, wrapped_2, "ten_1|brw_2")), token_2, context_2)
        == "张晓雯"
    )


# --- KMS and master key ---------------------------------------------------------------


class CountingProvider:
    def __init__(self, inner: Keyring) -> None:
        self.inner = inner
        self.unwraps = 0

    def wrap(self, key: DataKey, context: str) -> str:
        return self.inner.wrap(key, context)

    def unwrap(self, wrapped: str, context: str) -> DataKey:
        self.unwraps += 1
        return self.inner.unwrap(wrapped, context)


def test_cache_unwraps_each_key_once() -> None:
    provider = CountingProvider(Keyring.of(new_data_key("kek")))
    wrapped = provider.wrap(new_data_key(), "ctx")
    cache = KeyCache()
    first = cache.unwrap(provider, wrapped, "ctx")
    assert cache.unwrap(provider, wrapped, "ctx") is first
    assert provider.unwraps == 1


def test_cache_does_not_skip_the_context_check() -> None:
    provider = CountingProvider(Keyring.of(new_data_key("kek")))
    wrapped = provider.wrap(new_data_key(), "ctx")
    cache = KeyCache()
    cache.unwrap(provider, wrapped, "ctx")
    with pytest.raises(DecryptionError):
        cache.unwrap(provider, wrapped, "other")


def test_cache_entries_expire_and_are_bounded() -> None:
    now = [0.0]
    provider = CountingProvider(Keyring.of(new_data_key("kek")))
    cache = KeyCache(max_entries=2, ttl_seconds=60, clock=lambda: now[0])
    wrapped = [provider.wrap(new_data_key(), "ctx") for _ in range(3)]
    cache.unwrap(provider, wrapped[0], "ctx")
    now[0] = 61
    cache.unwrap(provider, wrapped[0], "ctx")
    assert provider.unwraps == 2
    cache.unwrap(provider, wrapped[1], "ctx")
    cache.unwrap(provider, wrapped[2], "ctx")
    assert len(cache) == 2
    cache.unwrap(provider, wrapped[0], "ctx")
    assert provider.unwraps == 5, "the least recently used entry was evicted"


def test_local_kms_from_env_wraps_tenant_keys() -> None:
    master = MasterKey.generate()
    kms = LocalKms.from_env({"LENDBRIDGE_MASTER_KEY": master.to_base64()})
    tenant_key = new_data_key("kek")
    wrapped = kms.wrap(tenant_key, make_context("ten_1", "kek"))
    assert wrapped.startswith(f"k1.{master.key_id}.{tenant_key.key_id}.")
    assert kms.unwrap(wrapped, make_context("ten_1", "kek")).material == tenant_key.material


def test_master_key_rotation() -> None:
    old, new = MasterKey.generate("master-1"), MasterKey.generate("master-2")
    tenant_key = new_data_key("kek")
    wrapped = LocalKms(old).wrap(tenant_key, "ten_1")
    kms = LocalKms(new, retired=[old])
    assert kms.needs_rewrap(wrapped)
    rewrapped = kms.rewrap(wrapped, "ten_1")
    assert not kms.needs_rewrap(rewrapped)
    assert LocalKms(new).unwrap(rewrapped, "ten_1").material == tenant_key.material


@pytest.mark.parametrize("encoded", [True, False])
def test_master_key_from_file(tmp_path: Path, encoded: bool) -> None:
    master = MasterKey.generate()
    path = tmp_path / "master.key"
    path.write_bytes(master.to_base64().encode() + b"\n" if encoded else master.material)
    assert MasterKey.from_file(path).material == master.material


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"LENDBRIDGE_MASTER_KEY": ""},
        {"LENDBRIDGE_MASTER_KEY": "not base64!"},
        {"LENDBRIDGE_MASTER_KEY": "AAAA"},
    ],
)
def test_bad_master_key_config_is_a_clear_error(environ: dict[str, str]) -> None:
    with pytest.raises(KeyConfigError) as raised:
        MasterKey.from_env(environ)
    value = environ.get("LENDBRIDGE_MASTER_KEY")
    assert not value or value not in str(raised.value)


def test_master_key_must_be_an_sm4_key() -> None:
    with pytest.raises(KeyConfigError, match="16 bytes"):
        MasterKey("master-1", b"k" * 32)


def test_missing_master_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="cannot read"):
        MasterKey.from_file(tmp_path / "absent.key")
