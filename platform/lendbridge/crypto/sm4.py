"""SM4-GCM (RFC 8998): the AEAD every stored secret goes through.

`cryptography` offers SM4 only through the generic `Cipher` API (no AESGCM-style class),
and its GCM contexts cannot be re-keyed with a new nonce, so one context is built per
message. `Sm4Gcm` keeps the validated key object so that part is not repeated.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from lendbridge.crypto.errors import DecryptionError, KeyConfigError

KEY_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16


class Sm4Gcm:
    """SM4-GCM with a 12-byte nonce and a 16-byte tag appended to the ciphertext.

    Same call shape as `cryptography`'s `AESGCM`: the caller supplies the nonce and must
    never reuse one under the same key; `seal`/`open` pick a random nonce instead.
    Random 96-bit nonces stay safe up to 2**32 messages per key (NIST SP 800-38D).
    """

    __slots__ = ("_algorithm",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise KeyConfigError(f"SM4 keys are {KEY_SIZE} bytes")
        self._algorithm = algorithms.SM4(key)

    @staticmethod
    def generate_key() -> bytes:
        return os.urandom(KEY_SIZE)

    def encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Ciphertext followed by the 16-byte tag."""
        if len(nonce) != NONCE_SIZE:
            raise ValueError(f"SM4-GCM nonces are {NONCE_SIZE} bytes")
        encryptor = Cipher(self._algorithm, modes.GCM(nonce)).encryptor()
        if aad:
            encryptor.authenticate_additional_data(aad)
        ciphertext = encryptor.update(plaintext) + encryptor.finalize()
        return ciphertext + encryptor.tag

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes = b"") -> bytes:
        """The plaintext of `encrypt`'s output; raises DecryptionError if anything was altered."""
        if len(nonce) != NONCE_SIZE or len(data) < TAG_SIZE:
            raise DecryptionError("SM4-GCM input too short")
        decryptor = Cipher(self._algorithm, modes.GCM(nonce)).decryptor()
        if aad:
            decryptor.authenticate_additional_data(aad)
        plaintext = decryptor.update(data[:-TAG_SIZE])
        try:
            return plaintext + decryptor.finalize_with_tag(data[-TAG_SIZE:])
        except InvalidTag:
            raise DecryptionError("SM4-GCM authentication failed") from None

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        """nonce || ciphertext || tag, under a fresh random nonce."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes = b"") -> bytes:
        """The plaintext of `seal`'s output."""
        return self.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], aad)
