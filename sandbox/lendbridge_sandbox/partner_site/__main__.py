"""`python -m lendbridge_sandbox.partner_site`: run EduLink against a LendBridge API."""

from __future__ import annotations

import argparse
import sys

from werkzeug.serving import run_simple

from lendbridge_sandbox.partner_site.app import create_partner_app, register_webhook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lendbridge_sandbox.partner_site", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="LendBridge API base URL")
    parser.add_argument("--secret-key", required=True, help="EduLink's sk_test_… key (stays on this server)")
    parser.add_argument("--publishable-key", required=True, help="EduLink's pk_test_… key (goes to the page)")
    parser.add_argument("--webhook-secret", help="whsec_… of an existing endpoint; else one is registered")
    parser.add_argument("--public-url", help="URL LendBridge delivers webhooks to (default http://host:port)")
    args = parser.parse_args(argv)
    app = create_partner_app(args.api, args.secret_key, args.publishable_key, args.webhook_secret)
    public = args.public_url or f"http://{args.host}:{args.port}"
    if not args.webhook_secret:
        endpoint_id = register_webhook(app, public)
        print(f"registered webhook endpoint {endpoint_id} for {public}/webhooks/lendbridge")  # noqa: T201
    print(f"EduLink demo partner: {public}/  (courses, pay in 12 instalments)")  # noqa: T201
    sys.stdout.flush()
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False, use_debugger=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
