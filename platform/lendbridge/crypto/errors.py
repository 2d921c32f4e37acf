"""Errors of the crypto package.

They are not API errors: a token that fails to decrypt, or a missing key, is a server-side
fault (corrupted or shredded data, misconfiguration), so none of them subclasses
`LendBridgeError`. Messages name keys and fields, never plaintext or key material.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base of every error raised by `lendbridge.crypto`."""


class KeyConfigError(CryptoError):
    """A key could not be loaded: missing, wrong size, not base64."""


class UnknownKeyError(CryptoError, LookupError):
    """A token names a key id the keyring does not hold (never loaded, retired, or shredded)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"unknown key id {key_id!r}")
        self.key_id = key_id


class DecryptionError(CryptoError):
    """Authentication failed: wrong key, wrong context, or tampered ciphertext."""


class MalformedTokenError(DecryptionError):
    """The value is not a token of the expected format."""
