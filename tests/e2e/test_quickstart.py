"""docs/quickstart.md works as written: its Python block runs against a live sandbox."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

QUICKSTART = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"


def test_the_quickstart_code_runs_and_disburses(live_server: LiveServer, tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", QUICKSTART.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    code = blocks[0].replace('"sk_test_..."', repr(live_server.keys["partner"]["secret_key"]))
    code = code.replace('"http://127.0.0.1:8000"', repr(live_server.base_url))
    script = tmp_path / "quickstart.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("brw_") and "110105********9951" in lines[0]
    assert lines[1] == "approved"
    assert lines[3].startswith("active ")
