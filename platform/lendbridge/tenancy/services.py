"""Tenancy use cases: onboarding tenants, issuing and revoking credentials, authenticating."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from lendbridge.audit import service as audit
from lendbridge.core.errors import AuthenticationFailed, Conflict, InvalidParameter, NotFound
from lendbridge.core.ids import new_id
from lendbridge.db import Database
from lendbridge.tenancy.domain import (
    PUBLISHABLE_SCOPES,
    SCOPES,
    Principal,
    StaffRole,
    TenantKind,
    credential_mode,
    default_scopes,
    generate_secret,
    grantable_scopes,
    hash_secret,
    redact,
)
from lendbridge.tenancy.models import ApiKey, OAuthClient, OAuthToken, StaffUser, Tenant
from lendbridge.uow import UnitOfWork


@dataclass(frozen=True)
class IssuedKey:
    """A freshly issued credential: the only moment its secret is visible."""

    key: ApiKey
    secret: str


def create_tenant(
    uow: UnitOfWork, kind: TenantKind, name: str, settings: dict[str, Any] | None = None
) -> Tenant:
    name = name.strip()
    if not name:
        raise InvalidParameter("name must not be empty", param="name")
    tenant = Tenant(id=new_id("ten"), kind=kind.value, name=name, settings=settings or {}, created=uow.now())
    uow.session.add(tenant)
    uow.session.flush()
    audit.record(uow.session, "tenant.created", tenant.id, {"kind": kind.value, "name": name})
    return tenant


def get_tenant(uow: UnitOfWork, tenant_id: str, kind: TenantKind | None = None) -> Tenant:
    tenant = uow.session.get(Tenant, tenant_id)
    if tenant is None or (kind is not None and tenant.kind != kind.value):
        label = kind.value if kind else "tenant"
        raise NotFound(f"No such {label}: '{tenant_id}'", param="id")
    return tenant


def list_tenants(uow: UnitOfWork, kind: TenantKind) -> list[Tenant]:
    stmt = select(Tenant).where(Tenant.kind == kind.value).order_by(Tenant.id.desc())
    return list(uow.session.execute(stmt).scalars())


def create_staff_user(uow: UnitOfWork, tenant: Tenant, email: str, name: str, role: StaffRole) -> StaffUser:
    email = email.strip().lower()
    if uow.session.execute(select(StaffUser.id).where(StaffUser.email == email)).first() is not None:
        raise Conflict("A staff user with this email already exists", param="email", code="staff_user_exists")
    user = StaffUser(
        id=new_id("usr"),
        tenant_id=tenant.id,
        email=email,
        name=name,
        role=role.value,
        created=uow.now(),
    )
    uow.session.add(user)
    uow.session.flush()
    audit.record(uow.session, "staff_user.created", user.id, {"role": role.value}, tenant_id=tenant.id)
    return user


def _check_scopes(kind: TenantKind, scopes: Iterable[str] | None, default: frozenset[str]) -> list[str]:
    if scopes is None:
        return sorted(default)
    requested = set(scopes)
    unknown = requested - set(SCOPES)
    if unknown:
        raise InvalidParameter(f"unknown scopes: {', '.join(sorted(unknown))}", param="scopes")
    not_allowed = requested - grantable_scopes(kind)
    if not_allowed:
        raise InvalidParameter(
            f"a {kind.value} credential cannot hold: {', '.join(sorted(not_allowed))}", param="scopes"
        )
    return sorted(requested)


def issue_api_key(
    uow: UnitOfWork,
    tenant: Tenant,
    *,
    livemode: bool,
    kind: str = "secret",
    name: str | None = None,
    scopes: Iterable[str] | None = None,
    staff_user: StaffUser | None = None,
    expires_at: datetime | None = None,
) -> IssuedKey:
    tenant_kind = TenantKind(tenant.kind)
    if kind == "publishable":
        granted = sorted(PUBLISHABLE_SCOPES)
        prefix = "pk"
    elif kind == "secret":
        role = StaffRole(staff_user.role) if staff_user else None
        granted = _check_scopes(tenant_kind, scopes, default_scopes(tenant_kind, role))
        prefix = "sk"
    else:
        raise InvalidParameter("kind must be 'secret' or 'publishable'", param="kind")
    secret = generate_secret(prefix, livemode)
    key = ApiKey(
        id=new_id("key"),
        tenant_id=tenant.id,
        livemode=livemode,
        kind=kind,
        secret_hash=hash_secret(secret),
        redacted=redact(secret),
        name=name,
        scopes=granted,
        staff_user_id=staff_user.id if staff_user else None,
        created=uow.now(),
        expires_at=expires_at,
    )
    uow.session.add(key)
    uow.session.flush()
    audit.record(
        uow.session, "api_key.created", key.id, {"kind": kind, "scopes": granted}, tenant_id=tenant.id
    )
    return IssuedKey(key, secret)


def list_api_keys(uow: UnitOfWork, tenant_id: str) -> list[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id.desc())
    return list(uow.session.execute(stmt).scalars())


def revoke_api_key(uow: UnitOfWork, tenant_id: str, key_id: str) -> ApiKey:
    key = uow.session.get(ApiKey, key_id)
    if key is None or key.tenant_id != tenant_id:
        raise NotFound(f"No such API key: '{key_id}'", param="id")
    if key.revoked_at is None:
        key.revoked_at = uow.now()
        audit.record(uow.session, "api_key.revoked", key.id, {}, tenant_id=tenant_id)
    return key


@dataclass(frozen=True)
class IssuedClient:
    client: OAuthClient
    secret: str


def create_oauth_client(
    uow: UnitOfWork,
    tenant: Tenant,
    *,
    livemode: bool,
    name: str | None = None,
    scopes: Iterable[str] | None = None,
) -> IssuedClient:
    tenant_kind = TenantKind(tenant.kind)
    granted = _check_scopes(tenant_kind, scopes, default_scopes(tenant_kind))
    secret = generate_secret("cs", livemode)
    client = OAuthClient(
        id=new_id("cli"),
        tenant_id=tenant.id,
        livemode=livemode,
        secret_hash=hash_secret(secret),
        name=name,
        scopes=granted,
        created=uow.now(),
    )
    uow.session.add(client)
    uow.session.flush()
    audit.record(uow.session, "oauth_client.created", client.id, {"scopes": granted}, tenant_id=tenant.id)
    return IssuedClient(client, secret)


def issue_token(uow: UnitOfWork, client: OAuthClient, scopes: list[str], ttl: int) -> tuple[str, OAuthToken]:
    secret = generate_secret("at", client.livemode)
    now = uow.now()
    token = OAuthToken(
        token_hash=hash_secret(secret),
        client_id=client.id,
        tenant_id=client.tenant_id,
        livemode=client.livemode,
        scopes=scopes,
        issued_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    uow.session.add(token)
    return secret, token


class Authenticator:
    """Turns a bearer credential into a Principal.

    Lookups are cached for a few seconds per process (configurable; 0 disables) because
    they happen on every request; revocation therefore takes effect within that TTL on
    other processes and at once on the revoking one.
    """

    def __init__(self, db: Database, cache_ttl: float = 2.0) -> None:
        self.db = db
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, Principal | AuthenticationFailed]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def authenticate(self, secret: str, now: datetime) -> Principal:
        parsed = credential_mode(secret)
        if parsed is None:
            raise AuthenticationFailed("Invalid API key provided: the key format is not recognised")
        digest = hash_secret(secret)
        if self.cache_ttl > 0:
            hit = self._cache.get(digest)
            if hit is not None and hit[0] > time.monotonic():
                if isinstance(hit[1], AuthenticationFailed):
                    raise hit[1]
                return hit[1]
        try:
            result: Principal | AuthenticationFailed = self._lookup(parsed[0], digest, now)
        except AuthenticationFailed as exc:
            result = exc
        if self.cache_ttl > 0:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (time.monotonic() + self.cache_ttl, result)
        if isinstance(result, AuthenticationFailed):
            raise result
        return result

    def _lookup(self, kind: str, digest: str, now: datetime) -> Principal:
        with self.db.reader() as session:
            if kind == "at":
                token = session.get(OAuthToken, digest)
                if token is None:
                    raise AuthenticationFailed("Invalid access token", code="token_invalid")
                if token.expires_at <= now:
                    raise AuthenticationFailed("The access token has expired", code="token_expired")
                client = session.get(OAuthClient, token.client_id)
                if client is None or client.revoked_at is not None:
                    raise AuthenticationFailed("The OAuth client was revoked", code="token_invalid")
                tenant = session.get(Tenant, token.tenant_id)
                assert tenant is not None
                return Principal(
                    tenant.id,
                    TenantKind(tenant.kind),
                    token.livemode,
                    frozenset(token.scopes),
                    client.id,
                    tenant_name=tenant.name,
                    tenant_created=tenant.created,
                )
            key = session.execute(select(ApiKey).where(ApiKey.secret_hash == digest)).scalar_one_or_none()
            if key is None:
                raise AuthenticationFailed("Invalid API key provided")
            if key.revoked_at is not None:
                raise AuthenticationFailed("This API key was revoked", code="api_key_revoked")
            if key.expires_at is not None and key.expires_at <= now:
                raise AuthenticationFailed("This API key has expired", code="api_key_expired")
            tenant = session.get(Tenant, key.tenant_id)
            assert tenant is not None
            if tenant.status != "active":
                raise AuthenticationFailed("This account is suspended", code="account_suspended")
            role = None
            if key.staff_user_id:
                user = session.get(StaffUser, key.staff_user_id)
                if user is None or user.disabled:
                    raise AuthenticationFailed("This staff user is disabled", code="api_key_revoked")
                role = StaffRole(user.role)
            return Principal(
                tenant.id,
                TenantKind(tenant.kind),
                key.livemode,
                frozenset(key.scopes),
                key.id,
                staff_user_id=key.staff_user_id,
                role=role,
                tenant_name=tenant.name,
                tenant_created=tenant.created,
            )
