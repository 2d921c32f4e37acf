"""Pure tenancy rules: tenant kinds, staff roles and the scope catalogue.

Every endpoint declares one scope. A credential carries a set of scopes fixed when it was
issued: by default what its tenant kind (or staff role) needs for everyday work, never
more. `pii:read` (full personal data instead of masks) is never a default; it has to be
granted explicitly.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TenantKind(StrEnum):
    OPERATOR = "operator"
    INSTITUTION = "institution"
    PARTNER = "partner"


class StaffRole(StrEnum):
    ADMIN = "admin"
    RISK_OFFICER = "risk_officer"
    OPERATIONS = "operations"
    AUDITOR = "auditor"
    SUPPORT = "support"


SCOPES: dict[str, str] = {
    "account:read": "Read the calling tenant's account",
    "borrowers:read": "Read borrowers (personal data masked)",
    "borrowers:write": "Create and update borrowers, consents and KYC checks",
    "pii:read": "See personal data unmasked (every reveal is audited)",
    "applications:read": "Read applications, offers and decisions",
    "applications:write": "Create applications and accept offers",
    "loans:read": "Read loans, schedules and statements",
    "loans:write": "Sign, repay, prepay and cancel loans",
    "credit_lines:read": "Read credit lines",
    "credit_lines:write": "Draw on credit lines",
    "products:read": "Read loan products",
    "products:write": "Publish loan products (institutions)",
    "portfolio:read": "Portfolio and yield reports (institutions)",
    "webhooks:read": "Read webhook endpoints and delivery attempts",
    "webhooks:write": "Manage webhook endpoints",
    "events:read": "Read events",
    "events:write": "Resend and replay events",
    "widget_sessions:write": "Create widget sessions for the embedded widget",
    "test_clocks:write": "Create and advance test clocks (test mode)",
    "sandbox:write": "Drive the simulators (test mode)",
    "admin:tenants": "Onboard and manage partners and institutions",
    "admin:keys": "Issue and revoke API keys and OAuth clients",
    "admin:staff": "Manage staff users",
    "admin:reviews": "Work the manual review queue",
    "admin:collections": "Run collections",
    "admin:ledger": "Read ledgers and trial balances",
    "admin:reconciliation": "Reconciliation reports and resolutions",
    "admin:audit": "Read and verify the audit log",
    "admin:risk": "Manage risk rules and models",
    "admin:reports": "Regulatory and operational reports",
}

_PARTNER = frozenset(
    {
        "account:read",
        "borrowers:read",
        "borrowers:write",
        "applications:read",
        "applications:write",
        "loans:read",
        "loans:write",
        "credit_lines:read",
        "credit_lines:write",
        "products:read",
        "webhooks:read",
        "webhooks:write",
        "events:read",
        "events:write",
        "widget_sessions:write",
        "test_clocks:write",
        "sandbox:write",
    }
)
_INSTITUTION = frozenset(
    {
        "account:read",
        "products:read",
        "products:write",
        "loans:read",
        "portfolio:read",
        "webhooks:read",
        "webhooks:write",
        "events:read",
        "events:write",
        "test_clocks:write",
    }
)
ROLE_SCOPES: dict[StaffRole, frozenset[str]] = {
    StaffRole.ADMIN: frozenset({"account:read", "pii:read"} | {s for s in SCOPES if s.startswith("admin:")}),
    StaffRole.RISK_OFFICER: frozenset(
        {"account:read", "admin:reviews", "admin:risk", "admin:reports", "admin:collections"}
    ),
    StaffRole.OPERATIONS: frozenset(
        {"account:read", "admin:tenants", "admin:reconciliation", "admin:collections", "admin:ledger"}
    ),
    StaffRole.AUDITOR: frozenset({"account:read", "admin:audit", "admin:ledger", "admin:reports"}),
    StaffRole.SUPPORT: frozenset({"account:read", "admin:reviews"}),
}
PUBLISHABLE_SCOPES = frozenset({"widget:session"})


def default_scopes(kind: TenantKind, role: StaffRole | None = None) -> frozenset[str]:
    if kind is TenantKind.OPERATOR:
        return ROLE_SCOPES[role or StaffRole.SUPPORT]
    return _PARTNER if kind is TenantKind.PARTNER else _INSTITUTION


def grantable_scopes(kind: TenantKind) -> frozenset[str]:
    """What a credential of this tenant kind may ever hold."""
    if kind is TenantKind.OPERATOR:
        return frozenset(SCOPES)
    base = _PARTNER if kind is TenantKind.PARTNER else _INSTITUTION
    return base | {"pii:read"}


def mode_prefix(livemode: bool) -> str:
    return "live" if livemode else "test"


def generate_secret(kind: str, livemode: bool) -> str:
    """A new credential: `sk_test_<32 random base62-ish chars>` and friends."""
    return f"{kind}_{mode_prefix(livemode)}_{secrets.token_urlsafe(24).replace('-', 'x').replace('_', 'y')}"


def hash_secret(secret: str) -> str:
    # API keys are 192-bit random strings: a plain SHA-256 is enough (no dictionary to
    # attack), and it keeps the per-request lookup to one indexed equality.
    return hashlib.sha256(secret.encode()).hexdigest()


def redact(secret: str) -> str:
    head, _, tail = secret.rpartition("_")
    return f"{head}_…{tail[-4:]}"


def credential_mode(secret: str) -> tuple[str, bool] | None:
    """('sk', False) for sk_test_..., None when the string is not one of our credentials."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] not in ("sk", "pk", "at") or parts[1] not in ("test", "live"):
        return None
    return parts[0], parts[1] == "live"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    tenant_id: str
    tenant_kind: TenantKind
    livemode: bool
    scopes: frozenset[str]
    credential_id: str
    staff_user_id: str | None = None
    role: StaffRole | None = None
    # The tenant's display fields ride along with the (briefly cached) credential lookup,
    # so `GET /v1/account` needs no query of its own.
    tenant_name: str = ""
    tenant_created: datetime | None = None

    @property
    def actor(self) -> str:
        return self.staff_user_id or self.credential_id

    def can(self, scope: str) -> bool:
        return scope in self.scopes
