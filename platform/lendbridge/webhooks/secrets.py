"""Endpoint signing secrets at rest: SM4-GCM field tokens, bound to tenant and endpoint.

The secret must be readable by the delivery worker (it signs with it), so it cannot be
hashed like an API key; it is encrypted instead. The encryption key is derived from the
master key (`LENDBRIDGE_MASTER_KEY` / `_FILE`) when one is configured, else from the
application secret key, which every process of a deployment shares. Tokens name their key,
so secrets sealed before a master key was configured keep opening afterwards.
"""

from __future__ import annotations

import hashlib
import hmac

from lendbridge.crypto.envelope import DataKey, Keyring, decrypt_field, encrypt_field, field_context

_LABEL = b"lendbridge/webhook-endpoint-secrets/v1"


def _derive(key_id: str, root: bytes) -> DataKey:
    return DataKey(key_id, hmac.new(root, _LABEL, hashlib.sha256).digest()[:16])


def make_keyring(app_secret_key: str, master_key: bytes | None = None) -> Keyring:
    """The keyring sealing endpoint secrets: master-derived key active when available."""
    app_key = _derive("whk-app", app_secret_key.encode())
    if master_key is None:
        return Keyring.of(app_key)
    master = _derive("whk-master", master_key)
    return Keyring([master, app_key], master.key_id)


def seal(keyring: Keyring, tenant_id: str, endpoint_id: str, secret: str) -> str:
    return encrypt_field(keyring.active, secret, field_context(tenant_id, endpoint_id, "secret"))


def unseal(keyring: Keyring, tenant_id: str, endpoint_id: str, token: str) -> str:
    return decrypt_field(keyring, token, field_context(tenant_id, endpoint_id, "secret"))
