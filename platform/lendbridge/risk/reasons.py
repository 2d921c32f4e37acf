"""The reason-code catalogue: every code a decision can carry, with what it means.

Partners show these to borrowers and institutions, regulators read them in decision
records. docs/risk.md renders this table (a test keeps the two in step). Codes are
stable: add new ones, never rename or reuse one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    INPUT = "input"
    KYC = "kyc"
    CONSENT = "consent"
    FRAUD = "fraud"
    BUREAU = "bureau"
    SCORE = "score"
    AFFORDABILITY = "affordability"
    MATCHING = "matching"
    REVIEW = "review"


@dataclass(frozen=True)
class Reason:
    code: str
    stage: Stage
    en: str
    zh: str


_ALL = (
    Reason(
        "kyc_not_verified", Stage.KYC, "The borrower's identity is not verified yet", "借款人身份尚未通过核验"
    ),
    Reason("consent_missing", Stage.CONSENT, "No valid credit-check authorisation", "缺少有效的征信查询授权"),
    Reason(
        "fraud_device_shared",
        Stage.FRAUD,
        "The device or Wi-Fi network is used by too many accounts",
        "该设备或无线网络关联的账户过多",
    ),
    Reason(
        "fraud_ip_burst",
        Stage.FRAUD,
        "Too many accounts applied from the same network",
        "同一网络申请的账户过多",
    ),
    Reason(
        "fraud_odd_hours_bulk",
        Stage.FRAUD,
        "Bulk applications from one network at unusual hours",
        "同一网络在异常时段批量申请",
    ),
    Reason(
        "fraud_velocity",
        Stage.FRAUD,
        "Too many applications with the same ID, phone or card",
        "同一证件、手机号或银行卡申请过于频繁",
    ),
    Reason(
        "fraud_blacklist", Stage.FRAUD, "A detail of the application is on a blacklist", "申请信息命中黑名单"
    ),
    Reason(
        "fraud_ring",
        Stage.FRAUD,
        "Shares details with accounts linked to known fraud or a fast-growing group",
        "与已知欺诈或快速扩张的关联群体共用信息",
    ),
    Reason(
        "identity_mismatch",
        Stage.FRAUD,
        "Identity details do not agree with each other",
        "身份信息之间不一致",
    ),
    Reason(
        "address_inconsistent",
        Stage.FRAUD,
        "ID region, delivery address and device location disagree (soft signal)",
        "身份证地区、收货地址与设备位置不一致（弱信号）",
    ),
    Reason(
        "bureau_unavailable",
        Stage.BUREAU,
        "The credit bureau could not be reached in time",
        "征信机构暂时无法访问",
    ),
    Reason(
        "bureau_delinquency",
        Stage.BUREAU,
        "The credit report shows serious or current delinquency",
        "征信报告显示严重或当前逾期",
    ),
    Reason(
        "bureau_thin_file",
        Stage.BUREAU,
        "The credit report holds no credit history to assess",
        "征信报告无信贷记录，无法评估",
    ),
    Reason("score_below_min", Stage.SCORE, "The credit score is below the minimum", "信用评分低于最低要求"),
    Reason(
        "score_review_band", Stage.SCORE, "The credit score needs a manual review", "信用评分需要人工审核"
    ),
    Reason(
        "dti_too_high",
        Stage.AFFORDABILITY,
        "Repayments would be too high compared with income",
        "还款额相对收入过高",
    ),
    Reason(
        "income_unknown",
        Stage.AFFORDABILITY,
        "No income information to check affordability",
        "缺少收入信息，无法评估还款能力",
    ),
    Reason(
        "no_eligible_product",
        Stage.MATCHING,
        "No loan product fits this application",
        "没有符合条件的贷款产品",
    ),
    Reason(
        "amount_above_limit",
        Stage.MATCHING,
        "The amount asked for is above what the products allow",
        "申请金额超出产品上限",
    ),
    Reason(
        "amount_below_minimum",
        Stage.MATCHING,
        "The amount asked for is below the products' minimum",
        "申请金额低于产品下限",
    ),
    Reason("term_not_offered", Stage.MATCHING, "No product offers this term", "没有产品提供该期限"),
    Reason(
        "age_out_of_range",
        Stage.MATCHING,
        "The borrower's age is outside the products' range",
        "借款人年龄不在产品范围内",
    ),
    Reason("region_not_served", Stage.MATCHING, "The products do not serve this region", "产品不覆盖该地区"),
    Reason(
        "occupation_not_eligible",
        Stage.MATCHING,
        "The occupation does not fit the products",
        "职业不符合产品要求",
    ),
    Reason(
        "borrower_type_mismatch",
        Stage.MATCHING,
        "No product for this kind of borrower",
        "没有适合该借款人类型的产品",
    ),
    Reason("apr_above_cap", Stage.MATCHING, "The price would exceed the APR cap", "年化利率将超过上限"),
    Reason("data_missing", Stage.INPUT, "Information needed for a decision is missing", "缺少决策所需信息"),
    Reason("review_approved", Stage.REVIEW, "Approved after manual review", "人工审核通过"),
    Reason("review_declined", Stage.REVIEW, "Declined after manual review", "人工审核拒绝"),
    Reason(
        "amount_requires_review", Stage.REVIEW, "Large amounts are reviewed by staff", "大额申请需人工审核"
    ),
)

CATALOGUE: dict[str, Reason] = {r.code: r for r in _ALL}


def describe(code: str) -> Reason:
    """The catalogue entry of `code` (KeyError for an unknown code: a programming error)."""
    return CATALOGUE[code]


def markdown_table() -> str:
    """The catalogue as the Markdown table in docs/risk.md."""
    lines = ["| code | stage | meaning | 说明 |", "|---|---|---|---|"]
    lines.extend(f"| `{r.code}` | {r.stage.value} | {r.en} | {r.zh} |" for r in _ALL)
    return "\n".join(lines)


if __name__ == "__main__":  # python -m lendbridge.risk.reasons > the table for docs/risk.md
    print(markdown_table())  # noqa: T201 - a developer command's output
