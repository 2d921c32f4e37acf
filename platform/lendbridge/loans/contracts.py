"""The loan agreement: a bilingual text from a template, its SM3 hash, the platform's SM2 signature.

The text is rendered from the loan's terms and schedule when the borrower signs and is
stored with the loan, so the hash can always be recomputed from what was signed (a later
template change does not alter a signed agreement). The platform signs the SM3 hash with
its SM2 key: `LENDBRIDGE_SM2_PRIVATE_KEY` in production; in the embedded mode (and in
tests) a key is generated once into the data dir (`sm2.key`, mode 0600).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lendbridge.core.money import format_yuan
from lendbridge.crypto.errors import KeyConfigError
from lendbridge.crypto.sm2 import Sm2KeyPair, Sm2PublicKey
from lendbridge.crypto.sm3 import sm3_hex

TEMPLATE_VERSION = "2026-11-01"

_METHOD_NAMES = {
    "equal_instalment": ("等额本息", "equal instalments (annuity)"),
    "equal_principal": ("等额本金", "equal principal"),
    "interest_first": ("先息后本", "interest first, principal at maturity"),
    "bullet": ("一次性还本付息", "single repayment at maturity"),
}


@dataclass(frozen=True)
class AgreementTerms:
    loan_id: str
    borrower_id: str
    institution_id: str
    partner_id: str
    principal: int
    annual_rate: Decimal
    term: int
    method: str
    start_date: date
    upfront_fee: int
    monthly_fee_rate: Decimal
    prepayment_fee_rate: Decimal
    penalty_rate: Decimal
    apr_nominal: str
    apr_effective: str
    disburse_to: str
    merchant_name: str | None
    subsidy: int
    instalments: Sequence[tuple[int, date, int]]  # number, due date, payment


def _pct(rate: Decimal | str) -> str:
    return f"{(Decimal(rate) * 100).quantize(Decimal('0.01'))}%"


def render(terms: AgreementTerms, signer: str) -> str:
    """The agreement text (zh-CN first, then English); deterministic for the same inputs."""
    zh_method, en_method = _METHOD_NAMES.get(terms.method, (terms.method, terms.method))
    payee_zh = f"商户（{terms.merchant_name}）" if terms.disburse_to == "merchant" else "借款人本人账户"
    payee_en = (
        f"the merchant ({terms.merchant_name})"
        if terms.disburse_to == "merchant"
        else "the borrower's own account"
    )
    rows = "\n".join(f"  {n:>3}  {d.isoformat()}  ¥{format_yuan(p)}" for n, d, p in terms.instalments)
    subsidy_zh = (
        f"本借款为商户贴息免息分期，借款人不支付利息，贴息 ¥{format_yuan(terms.subsidy)} 由商户承担。\n"
        if terms.subsidy
        else ""
    )
    subsidy_en = (
        f"This is a merchant-subsidised 0% instalment loan: the borrower pays no interest; the merchant "
        f"bears a subsidy of ¥{format_yuan(terms.subsidy)}.\n"
        if terms.subsidy
        else ""
    )
    return (
        f"借款合同 / LOAN AGREEMENT  (模板版本 / template {TEMPLATE_VERSION})\n"
        f"合同编号 / Agreement no.: {terms.loan_id}\n"
        f"借款人 / Borrower: {terms.borrower_id}    签署人 / Signed by: {signer}\n"
        f"贷款人（持牌机构）/ Lender (licensed institution): {terms.institution_id}\n"
        f"技术服务方 / Technology provider: LendBridge, on behalf of partner {terms.partner_id}\n"
        "\n"
        "一、借款条款\n"
        f"借款本金 ¥{format_yuan(terms.principal)}，期限 {terms.term} 个月，还款方式：{zh_method}。\n"
        f"名义年利率 {_pct(terms.annual_rate)}，月服务费率 {_pct(terms.monthly_fee_rate)}，"
        f"前期手续费 ¥{format_yuan(terms.upfront_fee)}（从放款金额中扣除）。\n"
        f"年化利率（IRR，含全部费用）{_pct(terms.apr_nominal)}，实际年利率 {_pct(terms.apr_effective)}。\n"
        f"逾期罚息：按逾期本金以年利率 {_pct(terms.penalty_rate)} 按日计收。\n"
        f"提前还款：可随时提前还款，提前还款手续费为提前偿还本金的 {_pct(terms.prepayment_fee_rate)}。\n"
        f"放款至：{payee_zh}。起息日为实际放款日，还款日为此后每月对应日。\n"
        f"{subsidy_zh}"
        "资金由贷款人托管账户直接划付，技术服务方不归集、不沉淀任何借贷资金。\n"
        "\n"
        "1. Terms\n"
        f"Principal ¥{format_yuan(terms.principal)} over {terms.term} months, repaid by {en_method}.\n"
        f"Nominal annual interest rate {_pct(terms.annual_rate)}; monthly service fee rate "
        f"{_pct(terms.monthly_fee_rate)}; upfront fee ¥{format_yuan(terms.upfront_fee)} "
        "(withheld from the payout).\n"
        f"APR (IRR including every fee) {_pct(terms.apr_nominal)}; "
        f"effective annual rate {_pct(terms.apr_effective)}.\n"
        f"Late payment: penalty interest on overdue principal at {_pct(terms.penalty_rate)} a year, daily.\n"
        f"Prepayment: allowed at any time; the prepayment fee is {_pct(terms.prepayment_fee_rate)} of the "
        "principal prepaid.\n"
        f"Paid out to {payee_en}. Interest runs from the payout date; "
        "instalments fall due monthly on that day.\n"
        f"{subsidy_en}"
        "Funds move directly from the lender's custody account; the technology provider never pools or holds "
        "loan funds.\n"
        "\n"
        "二、还款计划（以放款日为准）/ 2. Indicative schedule (dates follow the payout date)\n"
        f"{rows}\n"
    )


def agreement_hash(text: str) -> str:
    return sm3_hex(text.encode("utf-8"))


# -- the platform's signing key ------------------------------------------------------------

_lock = threading.Lock()
_keys: dict[str, Sm2KeyPair] = {}


def platform_key(settings: Any) -> Sm2KeyPair:
    """The platform's SM2 key pair from settings, or generated into the embedded data dir."""
    configured: str | None = getattr(settings, "sm2_private_key", None)
    cache_key = configured or str(settings.data_dir)
    with _lock:
        if cache_key in _keys:
            return _keys[cache_key]
        if configured:
            pair = Sm2KeyPair(configured)
        elif settings.embedded or settings.testing:
            pair = _load_or_create(settings.data_dir / "sm2.key")
        else:
            raise KeyConfigError(
                "LENDBRIDGE_SM2_PRIVATE_KEY is required to sign loan agreements in production"
            )
        _keys[cache_key] = pair
        return pair


def _load_or_create(path: Any) -> Sm2KeyPair:
    if path.exists():
        return Sm2KeyPair(path.read_text().strip())
    pair = Sm2KeyPair.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return Sm2KeyPair(path.read_text().strip())
    with os.fdopen(fd, "w") as f:
        f.write(pair.private_key_hex)
    return pair


def sign_hash(pair: Sm2KeyPair, digest_hex: str) -> str:
    """The SM2 signature (hex r || s) over the agreement's SM3 hash bytes."""
    return pair.sign(bytes.fromhex(digest_hex))


def verify_agreement(text: str, digest_hex: str, signature: str, public_key_hex: str) -> bool:
    """Whether `text` hashes to `digest_hex` and the signature over that hash is valid."""
    return agreement_hash(text) == digest_hex and Sm2PublicKey(public_key_hex).verify(
        bytes.fromhex(digest_hex), signature
    )
