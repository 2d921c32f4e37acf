"""`/docs`: a human API reference rendered from the OpenAPI document, no CDN needed."""

from __future__ import annotations

import html
from typing import Any

from flask import Blueprint, Response, current_app

blueprint = Blueprint("reference", __name__)

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#1d2330}
nav{width:300px;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f6fa;padding:16px;
box-sizing:border-box}
nav a{display:block;color:#33415c;text-decoration:none;font-size:13px;padding:2px 0}
main{flex:1;padding:24px 40px;max-width:980px}
.op{border-top:1px solid #e3e7ef;padding:16px 0}
.m{font:600 12px monospace;padding:2px 6px;border-radius:4px;color:#fff;margin-right:8px}
.get{background:#2b7a4b}.post{background:#2456a8}.delete{background:#a82424}.put,.patch{background:#8a5a00}
code,pre{background:#f4f6fa;border-radius:4px;padding:1px 4px;font-size:13px}
table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #e3e7ef;padding:3px 8px;font-size:13px;text-align:left}
"""


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _fields_table(schema: dict[str, Any], components: dict[str, Any]) -> str:
    name = _ref_name(schema)
    if name:
        schema = components.get(name, {})
    props = schema.get("properties") or {}
    if not props:
        return ""
    required = set(schema.get("required") or [])
    rows = []
    for field, spec in props.items():
        kind = spec.get("type") or _ref_name(spec) or ("object" if "allOf" in spec else "")
        if kind == "array":
            items = spec.get("items", {})
            kind = f"array of {items.get('type') or _ref_name(items) or 'object'}"
        desc = spec.get("description", "")
        if "enum" in spec:
            desc = (desc + " One of: " + ", ".join(map(str, spec["enum"]))).strip()
        rows.append(
            f"<tr><td><code>{html.escape(field)}</code>{' *' if field in required else ''}</td>"
            f"<td>{html.escape(str(kind))}</td><td>{html.escape(desc)}</td></tr>"
        )
    return "<table><tr><th>field</th><th>type</th><th>description</th></tr>" + "".join(rows) + "</table>"


def render(spec: dict[str, Any]) -> str:
    components = spec.get("components", {}).get("schemas", {})
    nav, body = [], []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            anchor = f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "")
            nav.append(f'<a href="#{anchor}">{method.upper()} {html.escape(path)}</a>')
            parts = [
                f'<div class="op" id="{anchor}"><h3><span class="m {method}">{method.upper()}</span>'
                f"<code>{html.escape(path)}</code></h3>"
            ]
            if op.get("summary"):
                parts.append(f"<p><b>{html.escape(op['summary'])}</b></p>")
            if op.get("description"):
                parts.append(f"<p>{html.escape(op['description'])}</p>")
            params = [p for p in op.get("parameters", []) if isinstance(p, dict) and "name" in p]
            if params:
                parts.append(
                    "<p>Parameters:</p><table>"
                    + "".join(
                        f"<tr><td><code>{html.escape(p['name'])}</code></td>"
                        f"<td>{html.escape(p.get('in', ''))}</td>"
                        f"<td>{html.escape(str(p.get('schema', {}).get('type', '')))}</td></tr>"
                        for p in params
                    )
                    + "</table>"
                )
            req = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if req:
                parts.append("<p>Request body:</p>" + _fields_table(req, components))
            for status, resp in sorted(op.get("responses", {}).items()):
                if str(status).startswith("2"):
                    schema = resp.get("content", {}).get("application/json", {}).get("schema")
                    parts.append(
                        f"<p>Response {status}:</p>" + (_fields_table(schema, components) if schema else "")
                    )
            parts.append("</div>")
            body.append("".join(parts))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>LendBridge API reference</title>"
        f"<style>{_STYLE}</style></head><body><nav><h3>LendBridge API</h3>"
        "<a href='/v1/openapi.json'>openapi.json</a>" + "".join(nav) + "</nav><main>"
        f"<h1>{html.escape(spec.get('info', {}).get('title', 'API'))} "
        f"<small>{html.escape(str(spec.get('info', {}).get('version', '')))}</small></h1>"
        f"<p>{html.escape(spec.get('info', {}).get('description', ''))}</p>"
        "<p>Authenticate with <code>Authorization: Bearer sk_test_…</code>. Every POST accepts an "
        "<code>Idempotency-Key</code>. Errors are <code>application/problem+json</code>. Lists take "
        "<code>limit</code>, <code>starting_after</code>, <code>ending_before</code>.</p>"
        + "".join(body)
        + "</main></body></html>"
    )


@blueprint.get("/docs")
def reference() -> Response:
    api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    return Response(render(api.spec.to_dict()), mimetype="text/html")


@blueprint.get("/healthz")
def health() -> Response:
    return Response('{"status":"ok"}', mimetype="application/json")


def init_app(app: Any) -> None:
    app.register_blueprint(blueprint)
