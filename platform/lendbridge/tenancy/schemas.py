from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from lendbridge.http.schemas import ObjectSchema, StrictSchema, UnixTime
from lendbridge.tenancy.domain import SCOPES, StaffRole


class CredentialSchema(StrictSchema):
    id = fields.String()
    type = fields.String()


class AccountSchema(ObjectSchema):
    name = fields.String()
    kind = fields.String(metadata={"description": "operator, institution or partner"})
    scopes = fields.List(fields.String())
    credential = fields.Nested(CredentialSchema)
    role = fields.String(allow_none=True)


class TenantCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    settings = fields.Dict(keys=fields.String(), load_default=dict)


class ApiKeySchema(ObjectSchema):
    tenant = fields.String(attribute="tenant_id")
    kind = fields.String()
    name = fields.String(allow_none=True)
    redacted = fields.String(metadata={"description": "The key with all but its last 4 characters hidden"})
    secret = fields.String(
        allow_none=True,
        metadata={"description": "The full key. Present only in the response that created it"},
    )
    scopes = fields.List(fields.String())
    revoked = UnixTime(attribute="revoked_at", allow_none=True)
    expires = UnixTime(attribute="expires_at", allow_none=True)


class TenantSchema(ObjectSchema):
    name = fields.String()
    status = fields.String()
    settings = fields.Dict()
    keys = fields.List(fields.Nested(ApiKeySchema), metadata={"description": "Initial test-mode keys"})


class ApiKeyCreateSchema(StrictSchema):
    livemode = fields.Boolean(load_default=False)
    kind = fields.String(load_default="secret", validate=validate.OneOf(["secret", "publishable"]))
    name = fields.String(validate=validate.Length(max=200))
    scopes = fields.List(fields.String(validate=validate.OneOf(sorted(SCOPES))))
    expires = UnixTime()


class OAuthClientCreateSchema(StrictSchema):
    livemode = fields.Boolean(load_default=False)
    name = fields.String(validate=validate.Length(max=200))
    scopes = fields.List(fields.String(validate=validate.OneOf(sorted(SCOPES))))


class OAuthClientSchema(ObjectSchema):
    tenant = fields.String(attribute="tenant_id")
    name = fields.String(allow_none=True)
    client_id = fields.String()
    client_secret = fields.String(allow_none=True)
    scopes = fields.List(fields.String())


class StaffUserCreateSchema(StrictSchema):
    email = fields.Email(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in StaffRole]))


class StaffUserSchema(ObjectSchema):
    email = fields.String()
    name = fields.String()
    role = fields.String()
    key = fields.Nested(ApiKeySchema, allow_none=True)


def tenant_body(tenant: Any, livemode: bool, keys: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "object": tenant.kind,
        "id": tenant.id,
        "created": tenant.created,
        "livemode": livemode,
        "name": tenant.name,
        "status": tenant.status,
        "settings": tenant.settings,
        "keys": keys or [],
    }


def key_body(key: Any, secret: str | None = None) -> dict[str, Any]:
    return {
        "object": "api_key",
        "id": key.id,
        "created": key.created,
        "livemode": key.livemode,
        "tenant_id": key.tenant_id,
        "kind": key.kind,
        "name": key.name,
        "redacted": key.redacted,
        "secret": secret,
        "scopes": key.scopes,
        "revoked_at": key.revoked_at,
        "expires_at": key.expires_at,
    }
