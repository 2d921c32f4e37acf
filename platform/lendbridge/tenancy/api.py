"""Account and admin endpoints for tenants, keys, OAuth clients and staff."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from lendbridge.core.clock import from_unix
from lendbridge.http.lifecycle import current_principal, get_uow, requires, services
from lendbridge.http.schemas import list_of
from lendbridge.tenancy import services as tenancy
from lendbridge.tenancy.domain import StaffRole, TenantKind
from lendbridge.tenancy.schemas import (
    AccountSchema,
    ApiKeyCreateSchema,
    ApiKeySchema,
    OAuthClientCreateSchema,
    OAuthClientSchema,
    StaffUserCreateSchema,
    StaffUserSchema,
    TenantCreateSchema,
    TenantSchema,
    key_body,
    tenant_body,
)

account_blp = Blueprint("account", __name__, url_prefix="/v1", description="Who am I")
admin_blp = Blueprint(
    "admin_tenants", __name__, url_prefix="/admin/v1", description="Platform administration"
)


@account_blp.route("/account")
class Account(MethodView):
    @requires("account:read")
    @account_blp.response(200, AccountSchema)
    def get(self) -> dict[str, Any]:
        """The calling tenant, its mode and the scopes of this credential"""
        principal = current_principal()
        return {
            "object": "account",
            "id": principal.tenant_id,
            "created": principal.tenant_created,
            "livemode": principal.livemode,
            "name": principal.tenant_name,
            "kind": principal.tenant_kind.value,
            "scopes": sorted(principal.scopes),
            "credential": {
                "id": principal.credential_id,
                "type": "oauth_client" if principal.credential_id.startswith("cli_") else "api_key",
            },
            "role": principal.role.value if principal.role else None,
        }


def _tenant_collection(kind: TenantKind) -> type[MethodView]:
    class Collection(MethodView):
        @requires("admin:tenants")
        @admin_blp.arguments(TenantCreateSchema)
        @admin_blp.response(201, TenantSchema)
        def post(self, args: dict[str, Any]) -> dict[str, Any]:
            uow = get_uow()
            tenant = tenancy.create_tenant(uow, kind, args["name"], args.get("settings"))
            secret = tenancy.issue_api_key(uow, tenant, livemode=False, name="initial test key")
            publishable = tenancy.issue_api_key(uow, tenant, livemode=False, kind="publishable")
            keys = [key_body(secret.key, secret.secret), key_body(publishable.key, publishable.secret)]
            return tenant_body(tenant, current_principal().livemode, keys)

        @requires("admin:tenants")
        @admin_blp.response(200, list_of(TenantSchema))
        def get(self) -> dict[str, Any]:
            tenants = tenancy.list_tenants(get_uow(), kind)
            livemode = current_principal().livemode
            path = f"/admin/v1/{kind.value}s"
            return {
                "object": "list",
                "data": [tenant_body(t, livemode) for t in tenants],
                "has_more": False,
                "url": path,
            }

    Collection.post.__doc__ = f"Onboard a {kind.value}; returns its first test-mode keys once"
    Collection.get.__doc__ = f"List {kind.value}s"
    Collection.__name__ = f"{kind.value.title()}Collection"
    return Collection


def _tenant_item(kind: TenantKind) -> type[MethodView]:
    class Item(MethodView):
        @requires("admin:tenants")
        @admin_blp.response(200, TenantSchema)
        def get(self, tenant_id: str) -> dict[str, Any]:
            return tenant_body(tenancy.get_tenant(get_uow(), tenant_id, kind), current_principal().livemode)

    Item.get.__doc__ = f"Retrieve a {kind.value}"
    Item.__name__ = f"{kind.value.title()}Item"
    return Item


admin_blp.add_url_rule("/partners", "partners", view_func=_tenant_collection(TenantKind.PARTNER))
admin_blp.add_url_rule("/partners/<tenant_id>", "partner", view_func=_tenant_item(TenantKind.PARTNER))
admin_blp.add_url_rule("/institutions", "institutions", view_func=_tenant_collection(TenantKind.INSTITUTION))
admin_blp.add_url_rule(
    "/institutions/<tenant_id>", "institution", view_func=_tenant_item(TenantKind.INSTITUTION)
)


@admin_blp.route("/tenants/<tenant_id>/keys")
class TenantKeys(MethodView):
    @requires("admin:keys")
    @admin_blp.arguments(ApiKeyCreateSchema)
    @admin_blp.response(201, ApiKeySchema)
    def post(self, args: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        """Issue an API key for a tenant; the secret is shown only in this response"""
        uow = get_uow()
        tenant = tenancy.get_tenant(uow, tenant_id)
        expires = from_unix(args["expires"]) if args.get("expires") else None
        issued = tenancy.issue_api_key(
            uow,
            tenant,
            livemode=args["livemode"],
            kind=args["kind"],
            name=args.get("name"),
            scopes=args.get("scopes"),
            expires_at=expires,
        )
        return key_body(issued.key, issued.secret)

    @requires("admin:keys")
    @admin_blp.response(200, list_of(ApiKeySchema))
    def get(self, tenant_id: str) -> dict[str, Any]:
        """List a tenant's keys (redacted), revoked ones included"""
        uow = get_uow()
        tenancy.get_tenant(uow, tenant_id)
        keys = [key_body(k) for k in tenancy.list_api_keys(uow, tenant_id)]
        return {
            "object": "list",
            "data": keys,
            "has_more": False,
            "url": f"/admin/v1/tenants/{tenant_id}/keys",
        }


@admin_blp.route("/tenants/<tenant_id>/keys/<key_id>/revoke")
class RevokeKey(MethodView):
    @requires("admin:keys")
    @admin_blp.response(200, ApiKeySchema)
    def post(self, tenant_id: str, key_id: str) -> dict[str, Any]:
        """Revoke a key; other active keys keep working (rotation)"""
        key = tenancy.revoke_api_key(get_uow(), tenant_id, key_id)
        services().authenticator.forget()
        return key_body(key)


@admin_blp.route("/tenants/<tenant_id>/oauth_clients")
class TenantOAuthClients(MethodView):
    @requires("admin:keys")
    @admin_blp.arguments(OAuthClientCreateSchema)
    @admin_blp.response(201, OAuthClientSchema)
    def post(self, args: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        """Create an OAuth2 client-credentials client; the secret is shown only here"""
        uow = get_uow()
        tenant = tenancy.get_tenant(uow, tenant_id)
        issued = tenancy.create_oauth_client(
            uow, tenant, livemode=args["livemode"], name=args.get("name"), scopes=args.get("scopes")
        )
        c = issued.client
        return {
            "object": "oauth_client",
            "id": c.id,
            "created": c.created,
            "livemode": c.livemode,
            "tenant_id": c.tenant_id,
            "name": c.name,
            "client_id": c.id,
            "client_secret": issued.secret,
            "scopes": c.scopes,
        }


@admin_blp.route("/staff_users")
class StaffUsers(MethodView):
    @requires("admin:staff")
    @admin_blp.arguments(StaffUserCreateSchema)
    @admin_blp.response(201, StaffUserSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Add a staff user with a role; returns their first key once"""
        uow = get_uow()
        operator = tenancy.get_tenant(uow, current_principal().tenant_id, TenantKind.OPERATOR)
        user = tenancy.create_staff_user(uow, operator, args["email"], args["name"], StaffRole(args["role"]))
        issued = tenancy.issue_api_key(uow, operator, livemode=False, staff_user=user, name=user.email)
        return {
            "object": "staff_user",
            "id": user.id,
            "created": user.created,
            "livemode": False,
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "key": key_body(issued.key, issued.secret),
        }
