"""The flask-smorest Api, adjusted so every error leaves as problem+json."""

from __future__ import annotations

import http
from typing import Any

import marshmallow as ma
from flask import Response
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from lendbridge.http.problems import PROBLEM_TYPE, from_http_exception


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (application/problem+json)."""

    type = ma.fields.String(metadata={"description": "URI identifying the problem type"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    code = ma.fields.String(metadata={"description": "Stable machine-readable error code"})
    param = ma.fields.String(allow_none=True, metadata={"description": "The request field at fault"})
    request_id = ma.fields.String(metadata={"description": "Quote this to support"})


class LendBridgeApi(Api):
    ERROR_SCHEMA = ProblemSchema
    DEFAULT_RESPONSE_CONTENT_TYPE = "application/json"

    def handle_http_exception(self, error: HTTPException) -> Response:
        return from_http_exception(error)

    def _register_responses(self) -> None:
        # The stock responses declare application/json; ours are problem+json.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (application/problem+json)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def spec_kwargs() -> dict[str, Any]:
    return {
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A secret key (sk_test_…/sk_live_…) or an OAuth2 access token",
                },
                "oauth2": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": "/v1/oauth/token", "scopes": {}}},
                },
            }
        },
        "info": {
            "description": "LendBridge: lending, matching, risk and custody APIs for scenario partners "
            "and licensed institutions. Money is integer fen; rates are decimal strings; errors are "
            "application/problem+json.",
        },
    }
