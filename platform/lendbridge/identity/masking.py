"""Display masks for personal data, in the forms Chinese users expect.

    ID number   110105********002X      first 6 (region), last 4
    phone       138****5678             first 3, last 4
    bank card   6222 **** **** 1234     first 4, last 4, always this width
    name        张*  张*雯  欧**娜        first and last character, never more than half
    USCC        91************0Y43      first 2, last 4
    address     北京市******  广东省深圳市******   province / city prefix only

Masks accept any string, valid or not, and fail safe: a value too short to show its ends
without showing most of itself comes back fully masked. Card masks and address masks
have a fixed width so the mask does not reveal the length either.
"""

from __future__ import annotations

import re
import unicodedata

MASK_CHAR = "*"
_NON_DIGITS = re.compile(r"\D", re.ASCII)
_WHITESPACE = re.compile(r"\s+")
_HIDDEN_TAIL = MASK_CHAR * 6
# Province-level unit, then optionally a prefecture-level one. Bounded lengths keep a
# street name that happens to contain 市 from being kept as a "city".
_ADDRESS_PREFIX = re.compile(
    r"(?:[\u4e00-\u9fff]{2,7}?(?:省|自治区|特别行政区))?(?:[\u4e00-\u9fff]{1,7}?(?:市|自治州|地区|盟))?"
)


def mask(value: str, keep_start: int = 1, keep_end: int = 1, *, width: int | None = None) -> str:
    """`value` with all but its first `keep_start` and last `keep_end` characters masked.

    `width` fixes the number of mask characters (hides the length). A value no longer
    than the kept parts is masked completely.
    """
    if keep_start < 0 or keep_end < 0:
        raise ValueError("keep_start and keep_end must not be negative")
    if len(value) <= keep_start + keep_end:
        return MASK_CHAR * (len(value) if width is None else width)
    hidden = len(value) - keep_start - keep_end if width is None else width
    tail = value[len(value) - keep_end :] if keep_end else ""
    return value[:keep_start] + MASK_CHAR * hidden + tail


def _compact(value: str) -> str:
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", value)).upper()


def mask_cn_id(value: str) -> str:
    """110105********002X: region code and the last four characters."""
    number = _compact(value)
    if len(number) == 18:
        return mask(number, 6, 4)
    return mask(number, 2, 2)


def mask_phone(value: str) -> str:
    """138****5678, with any +86 country code dropped."""
    digits = _NON_DIGITS.sub("", unicodedata.normalize("NFKC", value))
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    elif len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    if len(digits) == 11:
        return mask(digits, 3, 4)
    return mask(digits, 2, 2)


def mask_bank_card(value: str) -> str:
    """6222 **** **** 1234 for any length, so the mask does not tell 16 from 19 digits."""
    digits = _NON_DIGITS.sub("", unicodedata.normalize("NFKC", value))
    if len(digits) < 12:
        return f"{MASK_CHAR * 4} {MASK_CHAR * 4} {MASK_CHAR * 4} {MASK_CHAR * 4}"
    return f"{digits[:4]} {MASK_CHAR * 4} {MASK_CHAR * 4} {digits[-4:]}"


def mask_name(value: str) -> str:
    """张* for two characters, 张*雯 for three, 欧**娜 for four: first and last only."""
    name = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", value)).strip()
    if len(name) <= 1:
        return MASK_CHAR * len(name)
    if len(name) == 2:
        return name[0] + MASK_CHAR
    return mask(name, 1, 1)


def mask_uscc(value: str) -> str:
    """91************0Y43: registration authority, category and the last four."""
    code = _compact(value)
    if len(code) == 18:
        return mask(code, 2, 4)
    return mask(code, 1, 1)


def mask_address(value: str) -> str:
    """The province and city prefix followed by a fixed mask: 广东省深圳市******.

    Without a recognisable prefix only the first two characters are kept.
    """
    address = _WHITESPACE.sub("", unicodedata.normalize("NFKC", value))
    prefix = _ADDRESS_PREFIX.match(address)
    kept = prefix.group(0) if prefix else ""
    if not kept:
        kept = address[:2] if len(address) > 4 else ""
    return kept + _HIDDEN_TAIL
