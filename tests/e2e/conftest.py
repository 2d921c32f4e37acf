"""A live LendBridge server (embedded default, real CLI) for end-to-end tests through the SDK."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import lendbridge_sdk

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    keys: dict[str, Any]
    data_dir: Path

    def client(self, role: str = "partner", **options: Any) -> lendbridge_sdk.Client:
        return lendbridge_sdk.Client(self.keys[role]["secret_key"], base_url=self.base_url, **options)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("e2e-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENDBRIDGE_")}
    env["LENDBRIDGE_DATA_DIR"] = str(data)
    cli = str(BIN / "lendbridge")
    subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    seeded = subprocess.run(
        [cli, "demo", "seed", "--json"], env=env, check=True, capture_output=True, text=True
    )
    keys = json.loads(seeded.stdout[seeded.stdout.index("{") :])
    port = _free_port()
    log = (data / "server.log").open("w")
    proc = subprocess.Popen(
        [cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((data / "server.log").read_text()[-2000:]) from None
                time.sleep(0.1)
        yield LiveServer(base, keys, data)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
