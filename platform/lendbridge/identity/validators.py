"""Validators for Chinese identity numbers: citizen ID, USCC, bank card, mobile number.

Each returns a normalised value object or raises `IdentityInvalid` (an InvalidParameter,
HTTP 422) whose `param` is the caller's field name, `reason` the failed rule and `code`
"<kind>_<reason>" (e.g. `id_number_check_digit`). The reasons are those of the shared
vector files. Messages name the field and the rule, never the value: these are personal
data and errors end up in logs and API responses.

Input policy: by default NFKC (full-width digits from Chinese input methods become ASCII),
surrounding and inner spaces are removed and letters upper-cased, because users type
"11010519491231002x" and "9135 0100 M000 100Y 43". `strict=True` checks the value exactly
as given, as GB 11643 / GB 32100 write it.

The value objects mask themselves in repr, so logging one leaks nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from lendbridge.core.clock import SystemClock, business_date
from lendbridge.core.errors import InvalidParameter
from lendbridge.identity.masking import mask_bank_card, mask_cn_id, mask_phone, mask_uscc

Sex = Literal["male", "female"]


class IdentityInvalid(InvalidParameter):
    """An identity number failed validation; `reason` names the rule it broke."""

    def __init__(self, kind: str, reason: str, param: str, detail: str) -> None:
        super().__init__(detail, param=param, code=f"{kind}_{reason}")
        self.reason = reason


def _normalise(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()


def _require_str(value: object, kind: str, param: str) -> str:
    # JSON input can carry numbers or null where a string belongs.
    if not isinstance(value, str):
        raise IdentityInvalid(kind, "format", param, f"{param} must be a string")
    return value


# --- citizen identity number (GB 11643-1999) -------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_FORMAT = re.compile(r"[0-9]{17}[0-9X]")
# GB/T 2260 province-level prefixes (81/82: Hong Kong / Macao residents' residence permits).
_PROVINCES = frozenset(
    [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46]
    + [50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82]
)
# 83: Taiwan residents' residence permits; 9x: 2023 foreign permanent resident ID cards.
_PERMIT_PREFIXES = frozenset([83, 91, 92, 93, 94, 95, 96, 97, 98, 99])
_EARLIEST_BIRTH_YEAR = 1800


@dataclass(frozen=True, repr=False)
class CnId:
    """A valid 18-character citizen identity number and what it encodes."""

    number: str
    region_code: str
    birth_date: date
    sequence: str
    sex: Sex
    check_char: str

    def age_on(self, day: date) -> int:
        """Completed years of age on `day`."""
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday

    def __str__(self) -> str:
        return self.number

    def __repr__(self) -> str:
        return f"CnId({mask_cn_id(self.number)})"


def cn_id_check_char(body17: str) -> str:
    """The GB 11643 check character for 17 digits (ISO 7064 MOD 11-2)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


def upgrade_cn_id_15(value: str, *, param: str = "id_number") -> str:
    """The 18-character form of a first-generation 15-digit number (GB 11643-1989).

    Inserts "19" before the two-digit birth year and appends the check character; the
    result still has to pass `validate_cn_id` (birth date, region).
    """
    number = _normalise(_require_str(value, "id_number", param))
    if len(number) != 15:
        raise IdentityInvalid("id_number", "length", param, f"{param} must have 15 digits to upgrade")
    if not number.isascii() or not number.isdigit():
        raise IdentityInvalid("id_number", "format", param, f"{param} must be 15 digits")
    body = number[:6] + "19" + number[6:]
    return body + cn_id_check_char(body)


def _birth_date(digits: str) -> date | None:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def validate_cn_id(
    value: str,
    *,
    param: str = "id_number",
    strict: bool = False,
    allow_15: bool = False,
    allow_permits: bool = False,
    today: date | None = None,
) -> CnId:
    """A validated citizen identity number (居民身份证号码), GB 11643-1999.

    Rules in order, each with its reason: length (18) -> format (17 digits + digit or X)
    -> birth_date (a real date from 1800 up to `today`, default today in Asia/Shanghai)
    -> region (a GB/T 2260 province prefix) -> check_digit (ISO 7064 MOD 11-2).
    Only the province prefix is checked: retired county codes stay on valid cards.

    `allow_15` upgrades a 15-digit first-generation number first (those cards expired in
    2013, hence off by default). `allow_permits` also accepts Taiwan residents' permits
    (83...) and foreign permanent resident ID cards (9...), which share the layout but are
    not citizen IDs, hence off by default.
    """
    raw = _require_str(value, "id_number", param)
    number = raw if strict else _normalise(raw)
    if allow_15 and len(number) == 15:
        number = upgrade_cn_id_15(number, param=param)
    if len(number) != 18:
        raise IdentityInvalid("id_number", "length", param, f"{param} must be 18 characters")
    if not _ID_FORMAT.fullmatch(number):
        raise IdentityInvalid(
            "id_number", "format", param, f"{param} must be 17 digits followed by a digit or X"
        )
    born = _birth_date(number[6:14])
    latest = today if today is not None else business_date(SystemClock().now())
    if born is None or born.year < _EARLIEST_BIRTH_YEAR or born > latest:
        raise IdentityInvalid(
            "id_number", "birth_date", param, f"{param} does not contain a valid birth date"
        )
    province = int(number[:2])
    if province not in _PROVINCES and not (allow_permits and province in _PERMIT_PREFIXES):
        raise IdentityInvalid("id_number", "region", param, f"{param} has an unknown region code")
    if cn_id_check_char(number[:17]) != number[17]:
        raise IdentityInvalid("id_number", "check_digit", param, f"{param} has an invalid check character")
    return CnId(
        number=number,
        region_code=number[:6],
        birth_date=born,
        sequence=number[14:17],
        sex="male" if int(number[16]) % 2 else "female",
        check_char=number[17],
    )


# --- unified social credit code (GB 32100-2015) ----------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_FORMAT = re.compile(rf"[{USCC_ALPHABET}]{{2}}[0-9]{{6}}[{USCC_ALPHABET}]{{10}}")


@dataclass(frozen=True, repr=False)
class Uscc:
    """A valid unified social credit code (统一社会信用代码) and its parts."""

    code: str
    registration_authority: str
    category: str
    region_code: str
    org_code: str
    check_char: str

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"Uscc({mask_uscc(self.code)})"


def uscc_check_char(body17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(_USCC_VALUES[c] * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    # 31 - 0 would index past the alphabet; the standard maps it to "0".
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str, *, param: str = "uscc", strict: bool = False) -> Uscc:
    """A validated unified social credit code, GB 32100-2015.

    Rules: length (18) -> format (code alphabet, which has no I O S V Z; digits in
    positions 3-8) -> check_digit. Codes issued in pilot regions before the standard can
    fail the check character although they are real: route a `check_digit` failure on a
    business applicant to manual or registry verification rather than a silent decline.
    """
    raw = _require_str(value, "uscc", param)
    code = raw if strict else _normalise(raw)
    if len(code) != 18:
        raise IdentityInvalid("uscc", "length", param, f"{param} must be 18 characters")
    if not _USCC_FORMAT.fullmatch(code):
        raise IdentityInvalid("uscc", "format", param, f"{param} contains characters not allowed in a USCC")
    if uscc_check_char(code[:17]) != code[17]:
        raise IdentityInvalid("uscc", "check_digit", param, f"{param} has an invalid check character")
    return Uscc(
        code=code,
        registration_authority=code[0],
        category=code[1],
        region_code=code[2:8],
        org_code=code[8:17],
        check_char=code[17],
    )


# --- bank card (ISO/IEC 7812 Luhn) ----------------------------------------------------

_CARD_SEPARATORS = re.compile(r"[\s-]+")


@dataclass(frozen=True, repr=False)
class BankCard:
    """A bank card number that passes length and Luhn checks, digits only."""

    number: str

    @property
    def iin(self) -> str:
        """The first six digits (issuer identification number)."""
        return self.number[:6]

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def __str__(self) -> str:
        return self.number

    def __repr__(self) -> str:
        return f"BankCard({mask_bank_card(self.number)})"


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def validate_bank_card(value: str, *, param: str = "bank_card") -> BankCard:
    """A validated mainland bank card number: 16-19 digits passing Luhn.

    Spaces and hyphens are removed. Rules: format (digits only) -> length -> check_digit
    (Luhn). Luhn catches typos; whether the account exists and belongs to the borrower is
    for bank verification to say.
    """
    number = _CARD_SEPARATORS.sub("", unicodedata.normalize("NFKC", _require_str(value, "bank_card", param)))
    if not number or not number.isascii() or not number.isdigit():
        raise IdentityInvalid("bank_card", "format", param, f"{param} must contain only digits")
    if not 16 <= len(number) <= 19:
        raise IdentityInvalid("bank_card", "length", param, f"{param} must have 16 to 19 digits")
    if not luhn_valid(number):
        raise IdentityInvalid("bank_card", "check_digit", param, f"{param} fails the card number check")
    return BankCard(number)


# --- mainland mobile number ------------------------------------------------------------

_PHONE_SEPARATORS = re.compile(r"[\s\-()]+")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


@dataclass(frozen=True, repr=False)
class CnMobile:
    """A mainland China mobile number, 11 digits without country code."""

    number: str

    @property
    def e164(self) -> str:
        return "+86" + self.number

    def __str__(self) -> str:
        return self.number

    def __repr__(self) -> str:
        return f"CnMobile({mask_phone(self.number)})"


def validate_cn_mobile(value: str, *, param: str = "phone") -> CnMobile:
    """A validated mainland mobile number: 11 digits starting 13-19, optional +86/0086.

    Spaces, hyphens and parentheses are removed. Rules: format (digits, optionally a
    leading + or country code) -> length (11 digits) -> format (prefix 1[3-9]).
    """
    text = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", _require_str(value, "phone", param)))
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not text or not text.isascii() or not text.isdigit():
        raise IdentityInvalid("phone", "format", param, f"{param} must be a mainland mobile number")
    if len(text) != 11:
        raise IdentityInvalid("phone", "length", param, f"{param} must have 11 digits")
    if not _MOBILE.fullmatch(text):
        raise IdentityInvalid("phone", "format", param, f"{param} must be a mainland mobile number")
    return CnMobile(text)
