from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.db import Base


class Tenant(Base):
    __tablename__ = "tenants"
    __object_name__ = "tenant"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created: Mapped[datetime]


class StaffUser(Base):
    __tablename__ = "staff_users"
    __object_name__ = "staff user"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime]


class ApiKey(Base):
    """A secret (`sk_`) or publishable (`pk_`) key. Only its SHA-256 is stored."""

    __tablename__ = "api_keys"
    __object_name__ = "API key"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(12))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    redacted: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(200))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    staff_user_id: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"))
    created: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class OAuthClient(Base):
    """An OAuth2 client-credentials client; `id` is the public client_id."""

    __tablename__ = "oauth_clients"
    __object_name__ = "OAuth client"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class OAuthToken(Base):
    __tablename__ = "oauth_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    livemode: Mapped[bool] = mapped_column(Boolean)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
