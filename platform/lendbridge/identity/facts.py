"""Borrower facts for other areas (risk decisioning, payments), derived on the fly (pure).

Facts are computed from decrypted personal data each time they are asked for and are never
stored: a birth date, a region code or a card's last four digits kept in a column would be
personal data outside the encryption and outside erasure. Callers keep them in memory for
the decision at hand only; what they persist is their own output (scores, reason codes).

`build_facts` takes the decrypted fields as a mapping; `identity.services.borrower_facts`
is the entry point other areas call.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from lendbridge.identity.masking import (
    mask_address,
    mask_bank_card,
    mask_cn_id,
    mask_name,
    mask_phone,
    mask_uscc,
)
from lendbridge.identity.validators import validate_cn_id

# The four municipalities are provinces and cities at once.
MUNICIPALITIES = ("北京市", "上海市", "天津市", "重庆市")
_PROVINCE = re.compile(r"[\u4e00-\u9fff]{2,7}?(?:省|自治区|特别行政区)")
_CITY = re.compile(r"[\u4e00-\u9fff]{1,7}?(?:市|自治州|地区|盟)")
_WHITESPACE = re.compile(r"\s+")

# Which mask each personal field is shown with; fields not listed are shown as they are.
MASKS = {
    "name": mask_name,
    "id_number": mask_cn_id,
    "phone": mask_phone,
    "bank_card": mask_bank_card,
    "address": mask_address,
    "employer": mask_name,
    "company_name": mask_name,
    "uscc": mask_uscc,
    "legal_representative": mask_name,
    "settlement_account": mask_bank_card,
    "contact_phone": mask_phone,
}


def masked(field_name: str, value: str | None) -> str | None:
    """The display form of one personal field (None stays None)."""
    if value is None:
        return None
    masker = MASKS.get(field_name)
    return masker(value) if masker else value


def address_parts(address: str | None) -> tuple[str | None, str | None]:
    """(province, city) text from the start of a Chinese address, when recognisable."""
    if not address:
        return None, None
    text = _WHITESPACE.sub("", unicodedata.normalize("NFKC", address))
    for municipality in MUNICIPALITIES:
        if text.startswith(municipality):
            return municipality, municipality
    province_match = _PROVINCE.match(text)
    province = province_match.group(0) if province_match else None
    rest = text[province_match.end() :] if province_match else text
    city_match = _CITY.match(rest)
    return province, city_match.group(0) if city_match else None


@dataclass(frozen=True)
class BorrowerFacts:
    """What risk and payments may know about a borrower, for one decision.

    `blind_indexes` (field -> tenant-keyed HMAC) let fraud counters and graphs link
    borrowers sharing an ID number, phone or card without seeing any of them. `masked`
    holds display forms. An erased borrower has every personal fact None.
    """

    borrower_id: str
    type: str
    kyc_status: str
    erased: bool
    test_clock_id: str | None
    age: int | None = None
    sex: str | None = None
    region_code: str | None = None
    occupation: str | None = None
    employer: str | None = None
    address_province: str | None = None
    address_city: str | None = None
    blind_indexes: Mapping[str, str] = field(default_factory=dict)
    masked: Mapping[str, str] = field(default_factory=dict)
    has_payout_account: bool = False
    birth_date: date | None = field(default=None, repr=False)
    """In memory only, for `age_on`; never persist it."""

    @property
    def province_code(self) -> str | None:
        return self.region_code[:2] if self.region_code else None

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday

    def __repr__(self) -> str:
        return f"BorrowerFacts({self.borrower_id}, {self.type}, kyc={self.kyc_status}, erased={self.erased})"


def build_facts(
    *,
    borrower_id: str,
    type: str,
    kyc_status: str,
    erased: bool,
    test_clock_id: str | None,
    fields: Mapping[str, str],
    blind_indexes: Mapping[str, str],
    on: date,
) -> BorrowerFacts:
    """Facts from a borrower's decrypted `fields`, ages counted on the business date `on`."""
    if erased:
        return BorrowerFacts(borrower_id, type, kyc_status, True, test_clock_id)
    age = sex = region = None
    birth = None
    if type == "individual" and fields.get("id_number"):
        # Stored numbers were validated at creation; re-reading them cannot fail on
        # birth date against `on` unless `on` precedes the birth (then no age).
        cn_id = validate_cn_id(fields["id_number"], today=date.max)
        birth, sex, region = cn_id.birth_date, cn_id.sex, cn_id.region_code
        age = cn_id.age_on(on) if on >= birth else None
    elif type == "business" and fields.get("uscc"):
        region = fields["uscc"][2:8]
    province, city = address_parts(fields.get("address"))
    payout_field = "bank_card" if type == "individual" else "settlement_account"
    return BorrowerFacts(
        borrower_id=borrower_id,
        type=type,
        kyc_status=kyc_status,
        erased=False,
        test_clock_id=test_clock_id,
        age=age,
        sex=sex,
        region_code=region,
        occupation=fields.get("occupation"),
        employer=fields.get("employer"),
        address_province=province,
        address_city=city,
        blind_indexes=dict(blind_indexes),
        masked={k: m for k, v in fields.items() if (m := masked(k, v)) is not None},
        has_payout_account=bool(fields.get(payout_field)),
        birth_date=birth,
    )


@dataclass(frozen=True, repr=False)
class PayoutAccount:
    """Where a disbursement goes: full account number and holder name (payments only)."""

    borrower_id: str
    kind: str
    """`bank_card` (individuals) or `settlement_account` (businesses)."""
    account_number: str
    holder_name: str

    @property
    def masked_account(self) -> str:
        return mask_bank_card(self.account_number)

    def __repr__(self) -> str:
        return f"PayoutAccount({self.borrower_id}, {self.kind}, {self.masked_account})"
