"""Borrowers in one line: valid, unique identity numbers built by the standards' rules.

`person()` and `company()` return API request bodies with fresh numbers (GB 11643 ID with
its check character, Luhn card, mobile number, GB 32100 USCC); `create_borrower` posts one.
`licence_png` draws a 营业执照 for the OCR path (Pillow + the Debian Noto CJK font).
"""

from __future__ import annotations

import base64
import io
import itertools
import os
import random
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from lendbridge.identity.validators import USCC_ALPHABET, cn_id_check_char, luhn_valid, uscc_check_char
from tests.factories.tenancy import auth
from tests.services import unavailable

_counter = itertools.count(1)
_lock = threading.Lock()
_rng = random.Random(20261125)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂晓雯"
PROVINCES = (
    "北京市朝阳区",
    "上海市浦东新区",
    "广东省深圳市南山区",
    "浙江省杭州市西湖区",
    "四川省成都市武侯区",
)


def _next() -> int:
    with _lock:
        return next(_counter) + os.getpid() % 1000 * 100_000


def id_number(*, birth: str = "19900307", region: str = "110105", sex: str = "female") -> str:
    """A valid citizen ID number, unique within this process run."""
    n = _next()
    seq = (n % 500) * 2 + (1 if sex == "male" else 0)
    # Vary the birth day as well so sequences may repeat without repeating numbers.
    day = min(int(birth[6:8]), 8) + (n // 500) % 20
    body = f"{region}{birth[:6]}{day:02d}{seq:03d}"
    return body + cn_id_check_char(body)


def bank_card(prefix: str = "622202") -> str:
    """A 19-digit Luhn-valid card number."""
    digits = f"{prefix}{_next():012d}"[:18]
    for check in "0123456789":
        if luhn_valid(digits + check):
            return digits + check
    raise AssertionError("unreachable: one check digit always fits")


def phone(tail: str | None = None) -> str:
    """A mobile number, optionally ending in `tail` (the liveness simulator's magic endings)."""
    number = f"139{_next() % 10**8:08d}"
    return number[: 11 - len(tail)] + tail if tail else number


def uscc(region: str = "110105") -> str:
    n = _next()
    org = "".join(USCC_ALPHABET[(n // 31**i + i) % 31] for i in range(9))
    body = f"91{region}{org}"
    return body + uscc_check_char(body)


def chinese_name() -> str:
    n = _next()
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // 3) % len(GIVEN)] + GIVEN[(n // 7) % len(GIVEN)]


def person(**overrides: Any) -> dict[str, Any]:
    body = {
        "type": "individual",
        "name": chinese_name(),
        "id_number": id_number(),
        "phone": phone(),
        "bank_card": bank_card(),
        "address": f"{_rng.choice(PROVINCES)}建国路{_next() % 200}号",
        "occupation": "teacher",
        "employer": "明德职业学校",
    }
    body.update(overrides)
    return body


def company(**overrides: Any) -> dict[str, Any]:
    body = {
        "type": "business",
        "company_name": f"北京云上{chinese_name()}科技有限公司",
        "uscc": uscc(),
        "legal_representative": chinese_name(),
        "settlement_account": f"1100{_next():012d}",
        "contact_phone": phone(),
        "address": "北京市海淀区中关村大街1号",
    }
    body.update(overrides)
    return body


@dataclass(frozen=True)
class Created:
    id: str
    body: dict[str, Any]
    """What was sent (the plaintext the tests look for)."""
    response: dict[str, Any]


def create_borrower(client: FlaskClient, key: str, body: dict[str, Any] | None = None) -> Created:
    sent = body or person()
    resp = client.post("/v1/borrowers", json=sent, headers=auth(key))
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    return Created(data["id"], sent, data)


PERSONAL_FIELDS = (
    "name",
    "id_number",
    "phone",
    "bank_card",
    "company_name",
    "uscc",
    "legal_representative",
    "settlement_account",
    "contact_phone",
    "address",
    "employer",
)


def plaintexts(body: dict[str, Any]) -> list[str]:
    """The personal values of a request body that must never appear at rest or in logs."""
    return [str(body[f]) for f in PERSONAL_FIELDS if body.get(f)]


def wait_for_check(client: FlaskClient, key: str, url: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll a liveness or licence check until it leaves `processing`."""
    deadline = time.monotonic() + timeout
    while True:
        data: dict[str, Any] = client.get(url, headers=auth(key)).get_json()
        if data["status"] != "processing" or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


# --- licence images -------------------------------------------------------------------------

FONT_DIRS = [Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts")]


def require_ocr() -> Path:
    """The CJK font path, after checking tesseract and its Chinese data are installed."""
    font = None
    for directory in FONT_DIRS:
        found = sorted(directory.rglob("NotoSansCJK-Regular.ttc")) if directory.exists() else []
        if found:
            font = found[0]
            break
    missing = []
    if font is None:
        missing.append("fonts-noto-cjk")
    if shutil.which("tesseract") is None:
        missing.append("tesseract-ocr")
    elif not Path("/usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata").exists():
        missing.append("tesseract-ocr-chi-sim")
    if missing:
        unavailable("OCR test needs Debian packages: " + ", ".join(missing), "run make system-deps")
    assert font is not None  # unavailable() never returns when something is missing
    return font


def licence_png(font_path: Path, company_name: str, code: str, legal_rep: str = "张晓雯") -> str:
    """A clean scan of a business licence showing `company_name` and `code`, base64 PNG."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1400, 1000), (250, 246, 236))
    draw = ImageDraw.Draw(image)

    def font(size: int) -> Any:
        return ImageFont.truetype(str(font_path), size, index=2)  # index 2: Simplified Chinese

    draw.rectangle([20, 20, 1380, 980], outline=(180, 40, 40), width=6)
    draw.text((700, 110), "营业执照", font=font(80), fill=(20, 20, 20), anchor="mm")
    draw.text((120, 220), f"统一社会信用代码 {code}", font=font(34), fill=(20, 20, 20))
    rows = [
        ("名        称", company_name),
        ("类        型", "有限责任公司（自然人投资或控股）"),
        ("法定代表人", legal_rep),
        ("注册资本", "壹仟万元整"),
        ("成立日期", "2016年03月18日"),
    ]
    for i, (label, value) in enumerate(rows):
        y = 320 + i * 80
        draw.text((120, y), label, font=font(36), fill=(20, 20, 20))
        draw.text((400, y), value, font=font(36), fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")
