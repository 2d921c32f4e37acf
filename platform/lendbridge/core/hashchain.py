"""Hash chains for append-only records (audit log, ledger journals).

Each link is SM3(previous link hash || canonical JSON of the record). Changing, removing
or reordering any record changes every later link, so a verifier that recomputes the
chain detects tampering.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes

GENESIS = "0" * 64


def canonical_json(record: Mapping[str, Any]) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8, non-JSON types as strings."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def link_hash(previous: str, record: Mapping[str, Any]) -> str:
    """The chain hash of `record` following a link whose hash is `previous`."""
    return sm3_hex(previous.encode() + b"|" + canonical_json(record))
