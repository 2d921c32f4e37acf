"""Chinese commercial cryptography (SM2/SM3/SM4) and the personal-data protection core.

Pure Python over `cryptography` (SM3, SM4) and gmssl (SM2 curve arithmetic only).
envelope.py explains the key hierarchy, rotation and crypto-shredding.
"""

from lendbridge.crypto.blind_index import BlindIndexer
from lendbridge.crypto.envelope import (
    DataKey,
    KeyCache,
    KeyLookup,
    KeyProvider,
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
    CryptoError,
    DecryptionError,
    KeyConfigError,
    MalformedTokenError,
    UnknownKeyError,
)
from lendbridge.crypto.sm2 import Sm2KeyPair, Sm2PublicKey
from lendbridge.crypto.sm3 import HmacSm3, hmac_sm3, sm3, sm3_hex
from lendbridge.crypto.sm4 import Sm4Gcm

__all__ = [
    "BlindIndexer",
    "CryptoError",
    "DataKey",
    "DecryptionError",
    "HmacSm3",
    "KeyCache",
    "KeyConfigError",
    "KeyLookup",
    "KeyProvider",
    "Keyring",
    "LocalKms",
    "MalformedTokenError",
    "MasterKey",
    "Sm2KeyPair",
    "Sm2PublicKey",
    "Sm4Gcm",
    "UnknownKeyError",
    "decrypt_field",
    "encrypt_field",
    "field_context",
    "hmac_sm3",
    "make_context",
    "new_data_key",
    "new_index_key",
    "reencrypt",
    "sm3",
    "sm3_hex",
    "token_key_id",
    "uses_inactive_key",
]
