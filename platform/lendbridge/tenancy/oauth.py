"""OAuth2 client-credentials token endpoint (Authlib), issuing short-lived scoped tokens.

Token endpoint errors keep RFC 6749's `error`/`error_description` fields, which OAuth
client libraries read, and add the problem+json fields every other endpoint returns.
"""

from __future__ import annotations

import hmac
import json
from datetime import timedelta
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from flask import Blueprint, Flask, Response, current_app, g

from lendbridge.http.lifecycle import get_uow, services
from lendbridge.http.problems import problem
from lendbridge.tenancy.domain import generate_secret, hash_secret
from lendbridge.tenancy.models import OAuthClient, OAuthToken


class ClientAdapter(ClientMixin):
    def __init__(self, row: OAuthClient) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.row.scopes)
        if not scope:
            return " ".join(sorted(allowed))
        return " ".join(sorted(set(scope.split()) & allowed))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(hash_secret(client_secret), self.row.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


def _query_client(client_id: str) -> ClientAdapter | None:
    row = get_uow().session.get(OAuthClient, client_id)
    if row is None or row.revoked_at is not None:
        return None
    return ClientAdapter(row)


def _save_token(token: dict[str, Any], request: Any) -> None:
    client: ClientAdapter = request.client
    now = services().clock.now()
    get_uow().session.add(
        OAuthToken(
            token_hash=hash_secret(token["access_token"]),
            client_id=client.row.id,
            tenant_id=client.row.tenant_id,
            livemode=client.row.livemode,
            scopes=(token.get("scope") or "").split(),
            issued_at=now,
            expires_at=now + timedelta(seconds=int(token["expires_in"])),
        )
    )


def _generate_token(client: ClientAdapter, grant_type: str, user: Any, scope: str) -> str:
    return generate_secret("at", client.row.livemode)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    # RFC 6749 allows both; many partner stacks can only post the secret in the form.
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


blueprint = Blueprint("oauth", __name__, url_prefix="/v1/oauth")


@blueprint.post("/token")
def issue_token() -> Response:
    """OAuth2 client-credentials grant: form fields grant_type, scope; client auth by Basic or form."""
    resp: Response = current_app.extensions["oauth2_server"].create_token_response()
    if resp.status_code < 400:
        return resp
    try:
        body = json.loads(resp.get_data())
    except ValueError:
        body = {}
    error = body.get("error", "invalid_request")
    status = 401 if error == "invalid_client" else resp.status_code
    out = problem(
        status,
        error,
        "OAuth token request refused",
        body.get("error_description") or error,
        extra={"error": error, "error_description": body.get("error_description")},
    )
    if "WWW-Authenticate" in resp.headers:
        out.headers["WWW-Authenticate"] = resp.headers["WWW-Authenticate"]
    g.setdefault("oauth_failed", True)
    return out


def init_app(app: Flask, token_ttl: int) -> None:
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": token_ttl}
    app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = _generate_token
    server = AuthorizationServer(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(ClientCredentialsGrant)
    app.extensions["oauth2_server"] = server
    app.register_blueprint(blueprint)
