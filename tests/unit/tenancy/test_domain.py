from __future__ import annotations

import pytest

from lendbridge.tenancy.domain import (
    ROLE_SCOPES,
    SCOPES,
    StaffRole,
    TenantKind,
    credential_mode,
    default_scopes,
    generate_secret,
    grantable_scopes,
    hash_secret,
    redact,
)


def test_generated_secrets_carry_kind_and_mode() -> None:
    assert generate_secret("sk", False).startswith("sk_test_")
    assert generate_secret("pk", True).startswith("pk_live_")
    assert credential_mode(generate_secret("sk", True)) == ("sk", True)


@pytest.mark.parametrize("bad", ["", "sk_test", "xx_test_abc", "sk_prod_abc", "Bearer sk_test_abc"])
def test_unrecognised_credentials(bad: str) -> None:
    assert credential_mode(bad) is None


def test_secrets_are_random_and_only_hashes_are_kept() -> None:
    a, b = generate_secret("sk", False), generate_secret("sk", False)
    assert a != b and hash_secret(a) != hash_secret(b)
    assert a not in hash_secret(a)


def test_redaction_keeps_prefix_and_last_four() -> None:
    assert redact("sk_test_abcdefghijkl") == "sk_test_…ijkl"


def test_pii_read_is_never_a_default_scope() -> None:
    for kind in (TenantKind.PARTNER, TenantKind.INSTITUTION):
        assert "pii:read" not in default_scopes(kind)
        assert "pii:read" in grantable_scopes(kind)


def test_partners_and_institutions_never_get_admin_scopes() -> None:
    for kind in (TenantKind.PARTNER, TenantKind.INSTITUTION):
        assert not any(s.startswith("admin:") for s in grantable_scopes(kind))


def test_roles_are_least_privilege() -> None:
    assert "admin:keys" not in ROLE_SCOPES[StaffRole.AUDITOR]
    assert "admin:audit" in ROLE_SCOPES[StaffRole.AUDITOR]
    assert "pii:read" not in ROLE_SCOPES[StaffRole.SUPPORT]
    assert "admin:tenants" not in ROLE_SCOPES[StaffRole.RISK_OFFICER]
    for scopes in ROLE_SCOPES.values():
        assert scopes <= set(SCOPES)
