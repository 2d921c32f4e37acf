"""Business licence (营业执照) OCR: read the company name and USCC, compare with what was submitted.

Tesseract (`chi_sim+eng`) reads the image once; the text is rebuilt line by line from its
word boxes, with wide gaps kept as column breaks so a label, its value and stray marks
on the same line stay apart. Then:

- USCC: the 18 characters after 统一社会信用代码 (or anywhere, if the label is garbled).
  Letters the code alphabet lacks are OCR slips for digits (O->0, I->1, S->5, Z->2), and
  positions 3-8 are the region code, so letters there are mapped to look-alike digits.
  Only a code that passes the GB 32100 check is reported as `uscc`.
- Name: the value after 名称 (OCR often splits or mangles the label), else the first line
  that ends like a company name.

`compare_licence` then answers the question KYB asks - does the licence show what the
applicant typed? - allowing exactly one look-alike character in the USCC: two valid codes
always differ in at least two characters, so that tolerance cannot confuse two companies.
"""

from __future__ import annotations

import difflib
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pytesseract
from PIL import Image, ImageOps, UnidentifiedImageError

from lendbridge.core.errors import InvalidParameter, ServiceUnavailable
from lendbridge.identity.validators import IdentityInvalid, validate_uscc

MatchStatus = Literal["match", "similar", "mismatch", "unreadable"]

_LANG = "chi_sim+eng"
_TESSERACT_CONFIG = "--psm 6"
_MIN_WIDTH = 1200
_NAME_SIMILAR = 0.85

_CJK = r"\u3400-\u9fff"
# Tesseract splits CJK text into words; single spaces between CJK characters are its
# artefacts, while wider gaps (column breaks) are kept.
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}（）()]) (?=[{_CJK}（）()])")
_COLUMN_GAP = re.compile(r"\s{2,}")
_USCC_LABEL = re.compile(r"统一社会信用代码|信用代码|社会信用|代码")
_NAME_LABEL = re.compile(r"名[\s\W_]{0,4}称")  # OCR puts spaces and stray marks inside it
_OTHER_LABELS = re.compile(r"类\s*型|住\s*所|法定代表人|注册资本|成立日期|营业期限|经营范围")
_COMPANY_SUFFIX = re.compile(
    rf"[{_CJK}A-Za-z0-9（）()]{{3,60}}?(?:有限责任公司|股份有限公司|有限公司|合伙企业|（有限合伙）|\(有限合伙\)"
    r"|集团|公司|合作社|事务所|个体工商户|厂|店)"
)
_RUN = re.compile(r"[0-9A-Z]{18,}")
# Letters outside the USCC alphabet, as tesseract produces them for digits.
_OUTSIDE_ALPHABET = str.maketrans({"O": "0", "I": "1", "S": "5", "Z": "2"})
# Region-code positions (3-8) hold digits only.
_DIGIT_LOOKALIKES = str.maketrans(
    {"B": "8", "D": "0", "Q": "0", "U": "0", "G": "6", "L": "1", "T": "7", "A": "4"}
)
# Pairs tesseract confuses within the alphabet; used only when comparing to a submitted code.
_CONFUSABLE = frozenset(
    frozenset(pair) for pair in "0D 0Q 0U 8B 1L 1T 7T 7Y 6G 4A MN HN WM XK PR EF CG VY VU".split()
)


class OcrUnavailable(ServiceUnavailable):
    code = "ocr_unavailable"
    title = "OCR engine unavailable"


@dataclass(frozen=True)
class LicenceReading:
    """What the OCR found on a licence image.

    `uscc` is set only when the code passes the GB 32100 check; `uscc_candidate` is the
    best 18-character string found, valid or not. `confidence` is tesseract's mean word
    confidence in [0, 1].
    """

    company_name: str | None
    uscc: str | None
    raw_text: str = field(repr=False)  # holds the legal representative's name and more
    confidence: float
    uscc_candidate: str | None = None


@dataclass(frozen=True)
class LicenceCheck:
    """Licence versus submitted data. `similar` means OCR-level differences: send to review."""

    name: MatchStatus
    name_similarity: float
    uscc: MatchStatus

    @property
    def matched(self) -> bool:
        return self.name == "match" and self.uscc == "match"

    @property
    def needs_review(self) -> bool:
        return not self.matched


def _prepare(image_bytes: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(image_bytes))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError):
        raise InvalidParameter(
            "licence image is not a readable image", param="licence_image", code="image_unreadable"
        ) from None
    gray = ImageOps.autocontrast(ImageOps.grayscale(ImageOps.exif_transpose(image)))
    if gray.width < _MIN_WIDTH:
        # Tesseract reads CJK best at roughly 30+ pixel glyphs.
        factor = _MIN_WIDTH / gray.width
        gray = gray.resize((_MIN_WIDTH, round(gray.height * factor)), Image.Resampling.LANCZOS)
    return gray


def _lines_from_data(data: dict[str, list[Any]]) -> tuple[list[str], float]:
    """Text lines rebuilt from tesseract word boxes, wide gaps as double spaces."""
    lines: dict[tuple[int, int, int], list[tuple[int, int, int, str]]] = {}
    confidences: list[float] = []
    for i, word in enumerate(data["text"]):
        text = str(word).strip()
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        confidences.append(conf)
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        lines.setdefault(key, []).append(
            (int(data["left"][i]), int(data["width"][i]), int(data["height"][i]), text)
        )
    rebuilt = []
    for key in sorted(lines):
        words = sorted(lines[key])
        height = max(1, sorted(h for _, _, h, _ in words)[len(words) // 2])
        parts = [words[0][3]]
        for (left, width, _, _), (next_left, _, _, text) in zip(words, words[1:], strict=False):
            gap = next_left - (left + width)
            parts.append(("  " if gap > 1.5 * height else " ") + text)
        rebuilt.append(_join_cjk("".join(parts)))
    confidence = sum(confidences) / len(confidences) / 100 if confidences else 0.0
    return rebuilt, round(confidence, 3)


def _join_cjk(text: str) -> str:
    return _SPACE_BETWEEN_CJK.sub("", text)


def _clean_name(value: str) -> str | None:
    value = _COLUMN_GAP.split(value.strip(" :：,，.。·|_-\t"))[0]
    value = _join_cjk(value).strip(" :：,，.。·|_-\"“”'")
    return value if len(value) >= 2 and re.search(f"[{_CJK}]", value) else None


def _find_name(lines: Sequence[str]) -> str | None:
    for line in lines:
        label = _NAME_LABEL.search(line)
        if label and not _OTHER_LABELS.search(line[: label.start()]):
            name = _clean_name(line[label.end() :])
            if name:
                return name
    # Label unreadable: a column that ends like a company name, on a line of no other field.
    for line in lines:
        if _OTHER_LABELS.search(line) or _USCC_LABEL.search(line):
            continue
        for column in _COLUMN_GAP.split(line):
            match = _COMPANY_SUFFIX.search(_join_cjk(column).replace(" ", ""))
            if match:
                return match.group(0)
    return None


def _uscc_candidates(text: str) -> list[str]:
    compact = re.sub(r"[\s\-_.·,，:：|]", "", unicodedata.normalize("NFKC", text))
    # Lower-case l and o are digits far more often than letters in a code.
    compact = compact.replace("l", "1").replace("o", "0").upper().translate(_OUTSIDE_ALPHABET)
    candidates = []
    for run in _RUN.findall(compact):
        for start in range(len(run) - 17):
            window = run[start : start + 18]
            candidates.append(window[:2] + window[2:8].translate(_DIGIT_LOOKALIKES) + window[8:])
    return candidates


def _find_uscc(lines: Sequence[str]) -> tuple[str | None, str | None]:
    labelled = [line[m.end() :] for line in lines if (m := _USCC_LABEL.search(line))]
    first_candidate: str | None = None
    for text in [*labelled, "\n".join(lines)]:
        for candidate in _uscc_candidates(text):
            first_candidate = first_candidate or candidate
            try:
                return validate_uscc(candidate, strict=True).code, candidate
            except IdentityInvalid:
                continue
    return None, first_candidate


def extract_licence_fields(text: str) -> tuple[str | None, str | None, str | None]:
    """(company name, valid USCC, best USCC candidate) from licence OCR text."""
    lines = [line for line in text.splitlines() if line.strip()]
    uscc, candidate = _find_uscc(lines)
    return _find_name(lines), uscc, candidate


def read_business_licence(image_bytes: bytes, *, timeout: float = 30.0) -> LicenceReading:
    """OCR a business licence photo or scan.

    Raises InvalidParameter (param `licence_image`) for bytes that are not an image and
    OcrUnavailable (503) when tesseract or its Chinese data is missing or times out.
    """
    image = _prepare(image_bytes)
    try:
        data = pytesseract.image_to_data(
            image, lang=_LANG, config=_TESSERACT_CONFIG, output_type=pytesseract.Output.DICT, timeout=timeout
        )
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, RuntimeError) as exc:
        # RuntimeError is pytesseract's timeout.
        raise OcrUnavailable(f"OCR failed: {type(exc).__name__}") from None
    lines, confidence = _lines_from_data(data)
    raw_text = "\n".join(lines)
    name, uscc, candidate = extract_licence_fields(raw_text)
    return LicenceReading(
        company_name=name, uscc=uscc, raw_text=raw_text, confidence=confidence, uscc_candidate=candidate
    )


def normalise_company_name(name: str) -> str:
    """NFKC, letters and digits only (no spaces, brackets, punctuation): what names compare on."""
    text = unicodedata.normalize("NFKC", name)
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def name_similarity(a: str, b: str) -> float:
    """Similarity of two company names in [0, 1] after normalisation (difflib ratio)."""
    left, right = normalise_company_name(a), normalise_company_name(b)
    if not left or not right:
        return 0.0
    return round(difflib.SequenceMatcher(None, left, right).ratio(), 4)


def _uscc_status(reading: LicenceReading, submitted: str) -> MatchStatus:
    code = re.sub(r"\s+", "", unicodedata.normalize("NFKC", submitted)).upper()
    if reading.uscc is not None and reading.uscc == code:
        return "match"
    candidate = reading.uscc_candidate
    if candidate is None:
        return "unreadable"
    if reading.uscc is None and len(candidate) == len(code) and _is_valid_uscc(code):
        diffs = [frozenset((x, y)) for x, y in zip(candidate, code, strict=True) if x != y]
        if len(diffs) == 1 and diffs[0] in _CONFUSABLE:
            return "similar"
    return "mismatch"


def _is_valid_uscc(code: str) -> bool:
    try:
        validate_uscc(code, strict=True)
    except IdentityInvalid:
        return False
    return True


def compare_licence(
    reading: LicenceReading, submitted_name: str, submitted_uscc: str, *, similar_at: float = _NAME_SIMILAR
) -> LicenceCheck:
    """Whether the licence shows the submitted company name and USCC.

    Names: `match` when equal after normalisation, `similar` from `similar_at` upwards
    (OCR noise or an abbreviation: review), else `mismatch`. USCC: `match` when the
    licence's valid code equals the submitted one; `similar` when the OCR text differs
    from it in one look-alike character and did not itself read as a valid code.
    Either field is `unreadable` when the OCR found nothing.
    """
    if reading.company_name is None:
        name_status: MatchStatus = "unreadable"
        similarity = 0.0
    else:
        similarity = name_similarity(reading.company_name, submitted_name)
        if normalise_company_name(reading.company_name) == normalise_company_name(submitted_name):
            name_status = "match"
        elif similarity >= similar_at:
            name_status = "similar"
        else:
            name_status = "mismatch"
    return LicenceCheck(
        name=name_status, name_similarity=similarity, uscc=_uscc_status(reading, submitted_uscc)
    )
