"""Business licence OCR: text extraction and comparison (fast), real tesseract runs (slow).

The slow tests draw licences with Pillow and the Debian Noto CJK font in the layout of a
real 营业执照, then OCR them: one clean scan, one small, rotated, speckled, blurred JPEG.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from lendbridge.core.errors import InvalidParameter
from lendbridge.identity.ocr import (
    LicenceReading,
    compare_licence,
    extract_licence_fields,
    name_similarity,
    read_business_licence,
)
from tests.factories.identity import require_ocr

COMPANY = "北京云上畅游科技有限公司"
USCC = "91350100M000100Y43"
OTHER_USCC = "91310110666007217T"
PAPER = (250, 246, 236)


def draw_licence(font_path: Path, name: str, uscc: str, *, scale: float = 1.0, noisy: bool = False) -> bytes:
    width, height = int(1400 * scale), int(1000 * scale)
    image = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(image)

    def font(size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(font_path), int(size * scale), index=2)  # index 2: Simplified Chinese

    draw.rectangle(
        [20 * scale, 20 * scale, width - 20 * scale, height - 20 * scale], outline=(180, 40, 40), width=6
    )
    draw.text((width / 2, 110 * scale), "营业执照", font=font(80), fill=(20, 20, 20), anchor="mm")
    draw.text((120 * scale, 220 * scale), f"统一社会信用代码 {uscc}", font=font(34), fill=(20, 20, 20))
    rows = [
        ("名        称", name),
        ("类        型", "有限责任公司（自然人投资或控股）"),
        ("法定代表人", "张晓雯"),
        ("注册资本", "壹仟万元整"),
        ("成立日期", "2016年03月18日"),
        ("住        所", "北京市朝阳区建国路88号SOHO现代城5号楼1201室"),
    ]
    for i, (label, value) in enumerate(rows):
        y = (320 + 80 * i) * scale
        draw.text((120 * scale, y), label, font=font(34), fill=(20, 20, 20))
        draw.text((380 * scale, y), value, font=font(34), fill=(20, 20, 20))
    out = io.BytesIO()
    if noisy:
        rng = random.Random(7)
        pixels = image.load()
        assert pixels is not None
        for _ in range(width * height // 60):
            shade = rng.randrange(256)
            pixels[rng.randrange(width), rng.randrange(height)] = (shade, shade, shade)
        image = image.rotate(0.7, fillcolor=PAPER).filter(ImageFilter.GaussianBlur(0.5))
        image.save(out, "JPEG", quality=70)
    else:
        image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def clean_reading() -> LicenceReading:
    return read_business_licence(draw_licence(require_ocr(), COMPANY, USCC))


@pytest.fixture(scope="module")
def noisy_reading() -> LicenceReading:
    return read_business_licence(draw_licence(require_ocr(), COMPANY, USCC, scale=0.7, noisy=True))


@pytest.mark.slow
def test_clean_licence_reads_name_and_uscc(clean_reading: LicenceReading) -> None:
    assert clean_reading.company_name == COMPANY
    assert clean_reading.uscc == USCC
    assert "营业执照" in clean_reading.raw_text
    assert 0.6 < clean_reading.confidence <= 1
    check = compare_licence(clean_reading, COMPANY, USCC)
    assert check.matched and not check.needs_review


@pytest.mark.slow
def test_clean_licence_against_other_company_is_a_mismatch(clean_reading: LicenceReading) -> None:
    check = compare_licence(clean_reading, "上海云帆教育科技有限公司", OTHER_USCC)
    assert (check.name, check.uscc) == ("mismatch", "mismatch")
    assert check.needs_review


@pytest.mark.slow
def test_noisy_small_photo_still_matches_or_goes_to_review(noisy_reading: LicenceReading) -> None:
    assert noisy_reading.company_name is not None
    assert name_similarity(noisy_reading.company_name, COMPANY) >= 0.85
    check = compare_licence(noisy_reading, COMPANY, USCC)
    assert check.name in ("match", "similar")
    assert check.uscc in ("match", "similar")
    assert compare_licence(noisy_reading, COMPANY, OTHER_USCC).uscc == "mismatch"


# --- text extraction, no OCR engine needed ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "营业执照\n统一社会信用代码 91350100M000100Y43\n名  称  北京云上畅游科技有限公司\n类  型  有限公司",
        # O/I/l for 0/1, spaces inside the code, split label, tesseract word spaces
        "营 业 执 照\n统一社会 信用代码：9I35 O1OO MOOO lOOY 43\n"
        "名 “ 称  北京 云上 畅游 科技 有限 公司  OES\n",
        # letters in the digit-only region positions (3-8) are look-alike digits: D->0
        "统一社会信用代码 9135D1DDM000100Y43\n名称：北京云上畅游科技有限公司\n",
        # label unreadable: the name is found by its company suffix
        "营业执照\n代码 91350100M000100Y43\n名秘  北京云上畅游科技有限公司\n住  所  北京市朝阳区建国路88号",
    ],
)
def test_extracts_name_and_uscc_from_noisy_text(text: str) -> None:
    name, uscc, candidate = extract_licence_fields(text)
    assert (name, uscc, candidate) == (COMPANY, USCC, USCC)


def test_type_line_is_not_taken_for_the_name() -> None:
    name, uscc, candidate = extract_licence_fields("类  型  有限责任公司（自然人投资或控股）\n住  所  北京市")
    assert (name, uscc, candidate) == (None, None, None)


def test_invalid_code_is_only_a_candidate() -> None:
    _, uscc, candidate = extract_licence_fields("统一社会信用代码 91350100M000100743")
    assert uscc is None and candidate == "91350100M000100743"


def reading(name: str | None, uscc: str | None, candidate: str | None) -> LicenceReading:
    return LicenceReading(company_name=name, uscc=uscc, raw_text="", confidence=0.9, uscc_candidate=candidate)


def test_one_lookalike_character_in_the_uscc_is_similar() -> None:
    check = compare_licence(reading(COMPANY, None, "91350100M000100743"), COMPANY, USCC)
    assert (check.name, check.uscc) == ("match", "similar")
    assert check.needs_review


def test_a_valid_but_different_uscc_is_a_mismatch() -> None:
    check = compare_licence(reading(COMPANY, OTHER_USCC, OTHER_USCC), COMPANY, USCC)
    assert check.uscc == "mismatch"


def test_lookalike_tolerance_needs_a_valid_submitted_code() -> None:
    assert (
        compare_licence(reading(COMPANY, None, "91350100M000100743"), COMPANY, "91350100M000100Y44").uscc
        == "mismatch"
    )


def test_names_compare_after_normalisation() -> None:
    check = compare_licence(
        reading("天津云上畅游科技合伙企业(有限合伙)", USCC, USCC),
        "天津云上畅游科技合伙企业（有限合伙）",
        " 9135 0100 m000 100y43 ",
    )
    assert (check.name, check.name_similarity, check.uscc) == ("match", 1.0, "match")


def test_one_character_off_is_similar_not_match() -> None:
    check = compare_licence(reading("北京云上畅游科枝有限公司", USCC, USCC), COMPANY, USCC)
    assert check.name == "similar" and 0.85 <= check.name_similarity < 1


def test_nothing_found_is_unreadable() -> None:
    check = compare_licence(reading(None, None, None), COMPANY, USCC)
    assert (check.name, check.uscc) == ("unreadable", "unreadable")


def test_reading_repr_leaves_out_the_raw_text() -> None:
    shown = repr(LicenceReading(COMPANY, USCC, "法定代表人 张晓雯", 0.9, USCC))
    assert "张晓雯" not in shown and COMPANY in shown


def test_bytes_that_are_not_an_image_are_an_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter) as raised:
        read_business_licence(b"%PDF-1.7 not an image")
    assert raised.value.param == "licence_image"
