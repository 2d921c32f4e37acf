"""The baseline for bench_api: a bare Flask endpoint returning the same JSON as /v1/account."""

from __future__ import annotations

import json
import os

from flask import Flask, Response

app = Flask("bare")
BODY = json.dumps(json.loads(os.environ.get("BARE_BODY", "{}")), ensure_ascii=False)


@app.get("/v1/account")
def account() -> Response:
    return Response(BODY, mimetype="application/json")
