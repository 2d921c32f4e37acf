"""Endpoint secrets at rest: sealed, bound to their endpoint, still readable after a master key arrives."""

from __future__ import annotations

import pytest

import lendbridge_webhooks
from lendbridge.crypto.errors import DecryptionError, UnknownKeyError
from lendbridge.webhooks.secrets import make_keyring, seal, unseal

MASTER = bytes(range(16))


def test_sealed_secret_opens_and_does_not_contain_the_plaintext() -> None:
    ring = make_keyring("app-secret")
    secret = lendbridge_webhooks.generate_secret()
    token = seal(ring, "ten_1", "we_1", secret)
    assert secret not in token and secret.removeprefix("whsec_") not in token
    assert unseal(ring, "ten_1", "we_1", token) == secret


def test_sealed_secret_copied_to_another_endpoint_or_tenant_does_not_open() -> None:
    ring = make_keyring("app-secret")
    token = seal(ring, "ten_1", "we_1", "whsec_abc")
    with pytest.raises(DecryptionError):
        unseal(ring, "ten_1", "we_2", token)
    with pytest.raises(DecryptionError):
        unseal(ring, "ten_2", "we_1", token)


def test_another_deployment_key_cannot_open_it() -> None:
    token = seal(make_keyring("app-secret"), "ten_1", "we_1", "whsec_abc")
    with pytest.raises(DecryptionError):
        unseal(make_keyring("other-secret"), "ten_1", "we_1", token)


def test_master_key_seals_new_secrets_and_old_ones_still_open() -> None:
    old = seal(make_keyring("app-secret"), "ten_1", "we_1", "whsec_old")
    ring = make_keyring("app-secret", MASTER)
    new = seal(ring, "ten_1", "we_1", "whsec_new")
    assert ".whk-master." in new and ".whk-app." in old
    assert unseal(ring, "ten_1", "we_1", old) == "whsec_old"
    assert unseal(ring, "ten_1", "we_1", new) == "whsec_new"
    with pytest.raises(UnknownKeyError):
        unseal(make_keyring("app-secret"), "ten_1", "we_1", new)
