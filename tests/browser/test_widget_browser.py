"""The widget in headless Chromium on the EduLink course page, under a strict CSP:
the whole enrol-to-disburse flow in both languages, a decline, keyboard-only use, and the
browser's validators agreeing with the server's."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from lendbridge.identity.validators import (
    IdentityInvalid,
    cn_id_check_char,
    validate_bank_card,
    validate_cn_id,
    validate_cn_mobile,
)
from tests.browser.conftest import ARTIFACTS, Console, Stack
from tests.conftest import load_vectors

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TEXT = {
    "zh-CN": {
        "enrol": "开始分期报名",
        "preview": "分期方案",
        "per_month": "12 期 × ¥",
        "apply": "申请分期",
        "name": "姓名",
        "id": "身份证号",
        "phone": "手机号",
        "card": "还款银行卡（选填）",
        "bureau": "我授权查询本人征信信息（必选）",
        "data": "我同意个人信息处理规则（必选）",
        "send": "获取验证码",
        "code": "6 位验证码",
        "verify": "验证并提交申请",
        "face": "开始人脸识别",
        "approved": "审批通过",
        "continue": "继续",
        "agreement": "借款合同",
        "agree": "我已阅读并同意借款合同",
        "sign": "签署合同",
        "signed": "签署成功",
        "paid": "已支付给",
        "declined": "暂时无法提供贷款",
    },
    "en": {
        "enrol": "Enrol and pay in instalments",
        "preview": "Your instalment plan",
        "per_month": "12 × ¥",
        "apply": "Apply",
        "name": "Full name (as on your ID card)",
        "id": "Chinese ID number",
        "phone": "Mobile number",
        "card": "Bank card for repayments (optional)",
        "bureau": "I authorise the credit bureau check (required)",
        "data": "I agree to the processing of my personal data (required)",
        "send": "Send code",
        "code": "6-digit code",
        "verify": "Verify and apply",
        "face": "Start face verification",
        "approved": "You are approved",
        "continue": "Continue",
        "agreement": "Loan agreement",
        "agree": "I have read and agree to the loan agreement",
        "sign": "Sign the agreement",
        "signed": "Agreement signed",
        "paid": "has been paid to",
        "declined": "We cannot offer you a loan right now",
    },
}


def magic_id(sequence: str, birth: str) -> str:
    """Sandbox ID numbers: the bureau simulator gives 995 a prime file, 997 a delinquent one."""
    body = "110105" + birth + sequence
    return body + cn_id_check_char(body)


def _sms_code(stack: Stack) -> str:
    """The code the SMS simulator delivered for the newest session (test-mode delivery log)."""
    headers = {"Authorization": f"Bearer {stack.secret_key()}"}
    newest = requests.get(f"{stack.api}/v1/widget_sessions?limit=1", headers=headers, timeout=5).json()
    session_id = newest["data"][0]["id"]
    log = requests.get(
        f"{stack.api}/v1/widget_sessions/{session_id}/sms_messages", headers=headers, timeout=5
    )
    match = re.search(r"\b(\d{6})\b", log.json()["data"][0]["text"])
    assert match, log.text
    return match.group(1)


def _enrol(page: Any, stack: Stack, lang: str, *, hint: bool = True) -> str:
    """Open the course page and enrol with instalments; returns the page's CSP header."""
    page.goto(f"{stack.site}/courses/py-fullstack?lang={lang}")
    if hint:
        page.fill("#student-name", "李明")
        page.fill("#student-phone", "13812345678")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name=TEXT[lang]["enrol"]).click()
    csp: str = nav.value.headers["content-security-policy"]
    return csp


def _assert_clean(page: Any, console: Console) -> None:
    assert console.csp_violations(page) == []
    assert console.errors == []
    assert [m for m in console.messages if m.startswith("error")] == []


def _events(page: Any) -> str:
    return str(page.locator("#event-log").inner_text())


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_student_enrols_in_instalments_and_the_school_is_paid(
    stack: Stack, page: tuple[Any, Console], lang: str
) -> None:
    from playwright.sync_api import expect

    pg, console = page
    t = TEXT[lang]
    csp = _enrol(pg, stack, lang)
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        f"connect-src 'self' {stack.api}",
        "style-src 'self'",
    ):
        assert directive in csp
    widget = pg.locator("lendbridge-checkout")
    expect(widget.get_by_role("heading", name=t["preview"])).to_be_visible()
    expect(widget.get_by_text(t["per_month"])).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / f"widget-{lang}-offer.png"))
    widget.get_by_role("button", name=t["apply"], exact=True).click()

    expect(widget.get_by_label(t["name"])).to_have_value("李明")  # the partner's hint
    expect(widget.get_by_label(t["phone"])).to_have_value("13812345678")
    widget.get_by_label(t["id"]).fill(magic_id("995", "19900307" if lang == "en" else "19920611"))
    if lang == "zh-CN":
        widget.get_by_label(t["card"]).fill("6222 0212 3456 7890 128")
    widget.get_by_label(t["bureau"]).check()
    widget.get_by_label(t["data"]).check()
    widget.get_by_role("button", name=t["send"]).click()

    expect(widget.get_by_label(t["code"])).to_be_visible()
    code = _sms_code(stack) if lang == "zh-CN" else "000000"  # the real code, or the test-mode magic code
    widget.get_by_label(t["code"]).fill(code)
    widget.get_by_role("button", name=t["verify"]).click()
    widget.get_by_role("button", name=t["face"]).click()

    expect(widget.get_by_role("heading", name=t["approved"])).to_be_visible(timeout=15_000)
    widget.get_by_role("button", name=t["continue"]).click()
    expect(widget.get_by_role("heading", name=t["agreement"])).to_be_visible()
    expect(widget.locator(".doc")).to_contain_text("LOAN AGREEMENT")
    widget.get_by_label(t["agree"]).check()
    widget.get_by_role("button", name=t["sign"]).click()

    expect(widget.get_by_role("heading", name=t["signed"])).to_be_visible()
    expect(widget.get_by_text(t["paid"])).to_be_visible(timeout=15_000)
    # EduLink's own page: the webhook for loan.disbursed marked the enrolment paid.
    expect(pg.locator("#enrolment-status")).to_have_attribute("data-status", "paid", timeout=20_000)
    assert "lendbridge:approved" in _events(pg) and "lendbridge:signed" in _events(pg)
    pg.screenshot(path=str(ARTIFACTS / f"widget-{lang}.png"), full_page=True)
    _assert_clean(pg, console)


def test_a_declined_student_is_told_and_the_page_hears_it(stack: Stack, page: tuple[Any, Console]) -> None:
    from playwright.sync_api import expect

    pg, console = page
    t = TEXT["zh-CN"]
    _enrol(pg, stack, "zh-CN")
    widget = pg.locator("lendbridge-checkout")
    widget.get_by_role("button", name=t["apply"], exact=True).click()
    widget.get_by_label(t["id"]).fill(magic_id("997", "19870420"))
    widget.get_by_label(t["bureau"]).check()
    widget.get_by_label(t["data"]).check()
    widget.get_by_role("button", name=t["send"]).click()
    widget.get_by_label(t["code"]).fill("000000")
    widget.get_by_role("button", name=t["verify"]).click()
    widget.get_by_role("button", name=t["face"]).click()
    expect(widget.get_by_role("heading", name=t["declined"])).to_be_visible(timeout=15_000)
    expect(pg.locator("#event-log")).to_contain_text("lendbridge:declined")
    expect(pg.locator("#enrolment-status")).to_have_attribute("data-status", "declined")
    widget.get_by_role("button", name="关闭").click()
    expect(pg.locator("#event-log")).to_contain_text("lendbridge:closed")
    expect(widget).to_be_hidden()
    _assert_clean(pg, console)


def server(validate: Any, value: str) -> str | None:
    """The server's verdict as the widget names it: None, "required" or the error code."""
    if not value.strip():
        return "required"
    try:
        validate(value)
    except IdentityInvalid as exc:
        return exc.code
    return None


def _focused(page: Any) -> dict[str, Any]:
    """What has the keyboard focus, looking inside the widget's shadow root."""
    result: dict[str, Any] = page.evaluate(
        """() => {
          let el = document.activeElement;
          while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
          const label = el.labels && el.labels[0] ? el.labels[0].textContent : null;
          const style = getComputedStyle(el);
          return {tag: el.tagName, text: (el.textContent || '').trim().slice(0, 60), label,
                  type: el.type || null, invalid: el.getAttribute('aria-invalid'),
                  describedby: el.getAttribute('aria-describedby'),
                  outline: style.outlineStyle + ' ' + style.outlineWidth};
        }"""
    )
    return result


def _tab_to(page: Any, match: Any, limit: int = 25) -> dict[str, Any]:
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = _focused(page)
        if match(now):
            return now
    raise AssertionError(f"keyboard focus never reached the target; last: {now}")


def test_the_whole_flow_works_with_the_keyboard_alone(stack: Stack, page: tuple[Any, Console]) -> None:
    from playwright.sync_api import expect

    pg, console = page
    t = TEXT["en"]
    _enrol(pg, stack, "en", hint=False)
    widget = pg.locator("lendbridge-checkout")
    expect(widget.get_by_role("heading", name=t["preview"])).to_be_visible()
    assert _focused(pg)["tag"] == "BODY"  # loading the widget does not take the focus

    apply_button = _tab_to(pg, lambda f: f["tag"] == "BUTTON" and f["text"] == t["apply"])
    assert apply_button["outline"].startswith("solid")  # a visible focus ring
    pg.keyboard.press("Enter")
    assert _focused(pg)["tag"] == "H2" and _focused(pg)["text"] == "Your details"  # focus follows the step

    _tab_to(pg, lambda f: f["label"] == t["name"])
    pg.keyboard.type("李明")
    _tab_to(pg, lambda f: f["label"] == t["id"])
    pg.keyboard.type("110105194912310021")  # wrong check character
    pg.keyboard.press("Tab")
    expect(widget.locator("#lb-id_number-err")).to_have_text(
        "The last character does not match the number; please check it"
    )
    expect(widget.get_by_label(t["id"])).to_have_attribute("aria-invalid", "true")
    assert "lb-id_number-err" in (widget.get_by_label(t["id"]).get_attribute("aria-describedby") or "")
    pg.keyboard.press("Shift+Tab")
    pg.keyboard.press("Control+A")
    pg.keyboard.type(magic_id("995", "19950101"))
    expect(widget.locator("#lb-id_number-err")).to_have_text("")  # fixed as the student types
    _tab_to(pg, lambda f: f["label"] == t["phone"])
    pg.keyboard.type("13912345678")
    pg.keyboard.press("Enter")  # submit without the consents
    first_invalid = _focused(pg)
    assert first_invalid["type"] == "checkbox" and first_invalid["invalid"] == "true"
    expect(widget.locator("#lb-consent-credit_bureau_query-err")).to_have_text("Tick this box to continue")
    pg.keyboard.press("Space")
    _tab_to(pg, lambda f: f["type"] == "checkbox" and f["label"] == t["data"])
    pg.keyboard.press("Space")
    _tab_to(pg, lambda f: f["tag"] == "BUTTON" and f["text"] == t["send"])
    pg.keyboard.press("Enter")

    expect(widget.get_by_role("heading", name="Enter the code we texted you")).to_be_focused()
    _tab_to(pg, lambda f: f["label"] == t["code"])
    pg.keyboard.type("000000")
    pg.keyboard.press("Enter")

    expect(widget.get_by_role("heading", name="Face verification")).to_be_focused()
    _tab_to(pg, lambda f: f["tag"] == "BUTTON" and f["text"] == t["face"])
    pg.keyboard.press("Enter")
    expect(widget.get_by_role("heading", name=t["approved"])).to_be_focused(timeout=15_000)
    _tab_to(pg, lambda f: f["tag"] == "BUTTON" and f["text"] == t["continue"])
    pg.keyboard.press("Enter")
    expect(widget.get_by_role("heading", name=t["agreement"])).to_be_focused()
    _tab_to(pg, lambda f: f["tag"] == "DIV")  # the agreement text scrolls with the keyboard
    pg.keyboard.press("PageDown")
    _tab_to(pg, lambda f: f["type"] == "checkbox")
    pg.keyboard.press("Space")
    _tab_to(pg, lambda f: f["tag"] == "BUTTON" and f["text"] == t["sign"])
    pg.keyboard.press("Enter")
    expect(widget.get_by_role("heading", name=t["signed"])).to_be_focused()
    _assert_clean(pg, console)


def test_the_browser_validates_id_numbers_and_phones_exactly_like_the_server(
    stack: Stack, page: tuple[Any, Console]
) -> None:
    pg, console = page
    _enrol(pg, stack, "en", hint=False)
    pg.wait_for_function("() => window.LendBridgeCheckout !== undefined")
    # The shared vectors plus what people type: spaces, full-width digits, a lower-case x.
    numbers = [c["number"] for c in load_vectors("cn_id.json")["cases"]]
    numbers += ["110105 19491231 002X", "１１０１０５１９４９１２３１００２Ｘ", "", "11010519491231002x"]
    got = pg.evaluate("(ns) => ns.map((n) => window.LendBridgeCheckout.checkIdNumber(n))", numbers)
    expected = [server(validate_cn_id, n) for n in numbers]
    assert got == expected, json.dumps(list(zip(numbers, got, expected, strict=True)), ensure_ascii=False)
    assert expected.count(None) >= 5 and "id_number_check_digit" in expected

    phones = [
        "13812345678",
        "+86 138 1234 5678",
        "0086-13812345678",
        "8613812345678",
        "１３８１２３４５６７８",
        "12812345678",
        "1381234567",
        "138123456789",
        "138-1234-567a",
        "(138) 1234 5678",
    ]

    got_phones = pg.evaluate("(ps) => ps.map((p) => window.LendBridgeCheckout.checkPhone(p))", phones)
    assert got_phones == [server(validate_cn_mobile, p) for p in phones]

    cards = [c["number"] for c in load_vectors("bank_card.json")["cases"]] + [
        "6222 0212-3456 7890 128",
        "６２２２０２１２３４５６７８９０１２８",
    ]
    got_cards = pg.evaluate("(cs) => cs.map((c) => window.LendBridgeCheckout.checkBankCard(c))", cards)
    assert got_cards == [server(validate_bank_card, c) for c in cards], list(
        zip(cards, got_cards, strict=True)
    )
    _assert_clean(pg, console)
