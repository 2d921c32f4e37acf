"""A live LendBridge (embedded mode, temp data dir, migrated and seeded), the EduLink demo
partner site in a thread, and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from lendbridge_sandbox.partner_site import create_partner_app, register_webhook

BIN = Path(sys.executable).parent
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Records CSP violations as the page sees them; Playwright injects it outside the page's CSP.
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    api: str
    site: str
    keys: dict[str, Any]
    data_dir: Path
    site_app: Any

    def secret_key(self) -> str:
        return str(self.keys["partner"]["secret_key"])


def _wait(url: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


SCHOOL_ACCOUNT = "CMB:6214830000000099"
COURSE_PRODUCT = {
    "name": "Course instalments (browser tests)",
    "kind": "instalment",
    "borrower_type": "individual",
    "methods": ["equal_instalment", "equal_principal"],
    "amount": {"min": 500_000, "max": 20_000_000},
    "term": {"min": 3, "max": 12},
    "rate": {"min": "0.06", "max": "0.18"},
    "penalty_rate": "0.27",
    "rate_grid": {"A": "0.06", "B": "0.09", "C": "0.12", "D": "0.15", "E": "0.18"},
}


def school_settlement_account(data_dir: Path, keys: dict[str, Any]) -> None:
    """The demo school needs a settlement account for enrol = disburse; there is no API to
    set a partner's merchants, so it is written to the partner's settings (before serving)."""
    from sqlalchemy import select

    from lendbridge.db import SYSTEM, make_database
    from lendbridge.tenancy.models import Tenant
    from lendbridge.uow import UnitOfWork

    db = make_database(f"sqlite:///{data_dir / 'lendbridge.sqlite3'}")
    with UnitOfWork(db, SYSTEM) as uow:
        tenant = uow.session.execute(
            select(Tenant).where(Tenant.id == keys["partner"]["tenant_id"])
        ).scalar_one()
        merchants = [dict(m) for m in (tenant.settings or {}).get("merchants") or []]
        for m in merchants:
            m.setdefault("settlement_account", SCHOOL_ACCOUNT)
        tenant.settings = {**(tenant.settings or {}), "merchants": merchants}
        uow.commit()
    db.engine.dispose()


def lending_world(api: str, keys: dict[str, Any]) -> None:
    """What the seed may not (yet) provide, added through the running server's API only
    when missing: a product the partner may lend under and the institution's custody
    account (registered in the server, so its simulated custody bank opens it)."""

    def call(method: str, path: str, key: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            api + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())

    partner, bank = keys["partner"]["secret_key"], keys["institution"]["secret_key"]
    if not call("GET", "/v1/products?limit=1", partner)["data"]:
        call("POST", "/v1/products", bank, COURSE_PRODUCT)
    if not call("GET", "/v1/custody_accounts?limit=1", bank)["data"]:
        account = {
            "bank_name": "China Merchants Bank (simulated)",
            "bank_code": "CMB",
            "account_number": "6214830000001234",
            "account_holder": "Huaxia Consumer Finance custody",
        }
        call("POST", "/v1/custody_accounts", bank, account)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Stack]:
    """LendBridge as `lendbridge serve` runs it embedded (threaded WSGI server, inline tasks
    and scheduler, in-process simulators) on a migrated copy of the schema, seeded by the
    demo seed in the same process; EduLink beside it; both on free ports."""
    from lendbridge.app import create_app
    from lendbridge.config import Settings
    from lendbridge_sandbox.demo import seed

    data = tmp_path_factory.mktemp("browser-data")
    shutil.copy(sqlite_template, data / "lendbridge.sqlite3")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENDBRIDGE_")}
    env["LENDBRIDGE_DATA_DIR"] = str(data)
    app = create_app(Settings.from_env(env))
    with app.app_context():
        keys = seed(app)
    school_settlement_account(data, keys)
    servers: list[BaseWSGIServer] = []
    try:
        api_server = make_server("127.0.0.1", free_port(), app, threaded=True)
        servers.append(api_server)
        threading.Thread(target=api_server.serve_forever, name="lendbridge", daemon=True).start()
        app.extensions["lendbridge"].tasks.start_scheduler()
        api = f"http://127.0.0.1:{api_server.server_port}"
        _wait(api + "/healthz")
        lending_world(api, keys)
        partner = keys["partner"]
        site_app = create_partner_app(api, partner["secret_key"], partner["publishable_key"])
        site_server = make_server("127.0.0.1", free_port(), site_app, threaded=True)
        servers.append(site_server)
        threading.Thread(target=site_server.serve_forever, name="edulink", daemon=True).start()
        site = f"http://127.0.0.1:{site_server.server_port}"
        register_webhook(site_app, site)
        yield Stack(api, site, keys, data, site_app)
    finally:
        for server in servers:
            server.shutdown()
        app.extensions["lendbridge"].tasks.shutdown()
        app.extensions["lendbridge"].db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Console:
    """What the page said: console errors/warnings, uncaught errors, CSP violations."""

    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def csp_violations(self, page: Any) -> list[str]:
        found = [m for m in self.messages if "Content Security Policy" in m or "Refused to" in m]
        return found + list(page.evaluate("window.__cspViolations || []"))


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, Console]]:
    # Each test is another student on another device: anti-fraud counts borrowers per device
    # fingerprint (which includes the user agent) and would rightly stop one device applying
    # for several people.
    user_agent = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{browser.version} Safari/537.36 student/{secrets.token_hex(4)}"
    )
    context = browser.new_context(
        viewport={"width": 900, "height": 1100}, locale="zh-CN", user_agent=user_agent
    )
    context.add_init_script(CSP_PROBE)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    console = Console()
    pg.on(
        "console",
        lambda m: console.messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    pg.on("pageerror", lambda e: console.errors.append(str(e)))
    yield pg, console
    context.close()
