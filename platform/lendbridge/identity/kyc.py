"""KYC/KYB status machine, reason codes and the consent text catalogue (pure).

A borrower's `kyc_status` moves `pending -> verified | rejected | review` as checks come
back. Identity numbers are checked at creation (a borrower with a bad ID or USCC is never
created), so what moves the status afterwards is evidence from a provider: a liveness /
face-match / video-signing check for individuals, licence OCR for businesses. Each piece of
evidence is an `Outcome` (passed, failed, inconclusive, or error) with reason codes;
`transition` turns (status, outcome) into the next status.

Rules, and why:
- `error` (provider timeout or outage) never moves the status: nothing was learned.
- `rejected` is final here: a spoof attempt or a licence for another company is not
  undone by trying again; a person reviews it outside this machine.
- a verified borrower stays verified on later passes and inconclusive results (e.g. a
  video-signing check at loan signature), but a failed check sends it to `review`: fresh
  evidence of fraud must reach a person, and must not silently erase the earlier pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Literal, Protocol

from lendbridge.core.errors import IllegalTransition, InvalidParameter
from lendbridge.core.hashchain import sm3_hex


class KycStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    REVIEW = "review"


OutcomeKind = Literal["passed", "failed", "inconclusive", "error"]


@dataclass(frozen=True)
class Reason:
    code: str
    en: str
    zh: str


# Borrower-facing explanations, in English and zh-CN. Codes are stable API values.
REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason("liveness_passed", "Liveness and face match passed", "活体检测与人脸比对通过"),
        Reason("liveness_spoof_detected", "A spoofing attempt was detected", "检测到疑似伪造攻击"),
        Reason("face_mismatch", "The face does not match the ID photo", "人脸与身份证照片不一致"),
        Reason(
            "liveness_score_low", "The liveness score is too low to decide", "活体检测分数不足，需人工复核"
        ),
        Reason("video_sign_passed", "Video signing passed", "视频面签通过"),
        Reason("video_sign_speech_mismatch", "The spoken statement did not match", "面签朗读内容不一致"),
        Reason("provider_timeout", "The verification provider timed out", "核验服务响应超时"),
        Reason("provider_unavailable", "The verification provider is unavailable", "核验服务暂不可用"),
        Reason("licence_matched", "The business licence matches", "营业执照信息一致"),
        Reason("licence_name_mismatch", "The company name on the licence differs", "营业执照企业名称不一致"),
        Reason(
            "licence_name_similar",
            "The company name on the licence is similar",
            "营业执照企业名称相近，需人工复核",
        ),
        Reason("licence_name_unreadable", "The company name could not be read", "无法识别营业执照企业名称"),
        Reason(
            "licence_uscc_mismatch",
            "The credit code on the licence differs",
            "营业执照统一社会信用代码不一致",
        ),
        Reason(
            "licence_uscc_similar",
            "The credit code differs by one look-alike character",
            "统一社会信用代码存在疑似识别误差",
        ),
        Reason("licence_uscc_unreadable", "The credit code could not be read", "无法识别统一社会信用代码"),
        Reason("licence_image_unreadable", "The licence image could not be opened", "营业执照图片无法读取"),
        Reason("ocr_unavailable", "Licence recognition is unavailable", "执照识别服务暂不可用"),
    )
}


@dataclass(frozen=True)
class Outcome:
    """What one check found: its kind and the reason codes behind it."""

    kind: OutcomeKind
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [r for r in self.reasons if r not in REASONS]
        if unknown:
            raise ValueError(f"unknown KYC reason codes: {unknown}")


def transition(current: KycStatus, outcome: Outcome) -> KycStatus:
    """The status after `outcome`. Raises IllegalTransition for a rejected borrower."""
    if current is KycStatus.REJECTED:
        raise IllegalTransition("This borrower's KYC was rejected; new checks are not accepted", param="id")
    if outcome.kind == "error":
        return current
    if current is KycStatus.VERIFIED:
        return KycStatus.REVIEW if outcome.kind == "failed" else KycStatus.VERIFIED
    return {
        "passed": KycStatus.VERIFIED,
        "failed": KycStatus.REJECTED,
        "inconclusive": KycStatus.REVIEW,
    }[outcome.kind]


def ensure_accepts_checks(current: KycStatus) -> None:
    """Refuse to start a check whose result could not change anything (rejected borrowers)."""
    if current is KycStatus.REJECTED:
        raise IllegalTransition("This borrower's KYC was rejected; new checks are not accepted", param="id")


# --- liveness / face match / video signing ------------------------------------------------

PASS_SCORE = 0.80
REVIEW_SCORE = 0.60


def liveness_outcome(
    *, score: float, spoof: bool, face_match: bool, kind: str = "liveness", speech_match: bool | None = None
) -> Outcome:
    """Provider evidence -> outcome. A spoof or a face mismatch fails outright; a score between
    REVIEW_SCORE and PASS_SCORE is inconclusive (review); below REVIEW_SCORE fails."""
    if spoof:
        return Outcome("failed", ("liveness_spoof_detected",))
    if not face_match:
        return Outcome("failed", ("face_mismatch",))
    if kind == "video_sign" and speech_match is False:
        return Outcome("failed", ("video_sign_speech_mismatch",))
    if score < REVIEW_SCORE:
        return Outcome("failed", ("liveness_score_low",))
    if score < PASS_SCORE:
        return Outcome("inconclusive", ("liveness_score_low",))
    return Outcome("passed", ("video_sign_passed" if kind == "video_sign" else "liveness_passed",))


# --- business licence (KYB) -----------------------------------------------------------------

MatchStatus = Literal["match", "similar", "mismatch", "unreadable"]


def licence_outcome(name: MatchStatus, uscc: MatchStatus) -> Outcome:
    """Licence OCR comparison -> outcome.

    Any mismatch rejects (the licence shows another company). Both matching verifies.
    Otherwise (look-alike characters, an unreadable field) a person reviews the image.
    """
    if name == "match" and uscc == "match":
        return Outcome("passed", ("licence_matched",))
    reasons = tuple(
        f"licence_{field}_{status}" for field, status in (("name", name), ("uscc", uscc)) if status != "match"
    )
    if "mismatch" in (name, uscc):
        return Outcome("failed", reasons)
    return Outcome("inconclusive", reasons)


# --- consent texts ----------------------------------------------------------------------------

ConsentKind = Literal["credit_bureau_query", "data_processing", "alt_data"]
CONSENT_KINDS: tuple[str, ...] = ("credit_bureau_query", "data_processing", "alt_data")
LANGUAGES: tuple[str, ...] = ("zh-CN", "en")


@dataclass(frozen=True)
class ConsentText:
    kind: str
    version: str
    texts: dict[str, str]
    validity: timedelta | None
    """How long a grant of this text lasts (None: until revoked)."""

    def text_hash(self, language: str) -> str:
        """SM3 (hex) of the exact text shown, UTF-8: what the consent record proves."""
        return sm3_hex(self.texts[language].encode())


_CATALOGUE: tuple[ConsentText, ...] = (
    ConsentText(
        "credit_bureau_query",
        "2026-01",
        {
            "zh-CN": "本人授权贷款机构及其合作的技术服务方，在本人申请及存续期间，"
            "向中国人民银行征信中心及依法设立的征信机构查询、报送本人的信用信息，"
            "用于审核贷款申请和贷后管理。",
            "en": "I authorise the lender and its technology service provider to query and report my "
            "credit information with the Credit Reference Center of the People's Bank of China and "
            "licensed credit bureaus while my application and any resulting loan are open, to assess "
            "the application and manage the loan.",
        },
        timedelta(days=365),
    ),
    ConsentText(
        "data_processing",
        "2026-01",
        {
            "zh-CN": "本人同意平台依据《个人信息保护法》处理本人提交的身份、联系方式和银行账户信息，"
            "仅用于身份核验、贷款申请、放款与还款，本人可随时撤回同意或要求删除。",
            "en": "I agree that the platform processes the identity, contact and bank account details I "
            "submit, under the Personal Information Protection Law, only for identity verification, "
            "loan applications, disbursement and repayment. I may withdraw this consent or ask for "
            "erasure at any time.",
        },
        None,
    ),
    ConsentText(
        "alt_data",
        "2026-01",
        {
            "zh-CN": "本人授权平台向合法的第三方数据服务机构查询本人的运营商、消费等替代数据，"
            "仅用于信用评估，不作其他用途。",
            "en": "I authorise the platform to query alternative data about me (telecom, consumption) from "
            "licensed third-party data providers, for credit assessment only.",
        },
        timedelta(days=180),
    ),
)
CONSENT_TEXTS: dict[tuple[str, str], ConsentText] = {(c.kind, c.version): c for c in _CATALOGUE}


def consent_text(kind: str, version: str, language: str = "zh-CN") -> ConsentText:
    """The catalogue entry the partner says it showed; InvalidParameter when unknown."""
    if kind not in CONSENT_KINDS:
        raise InvalidParameter(f"kind must be one of {', '.join(CONSENT_KINDS)}", param="kind")
    entry = CONSENT_TEXTS.get((kind, version))
    if entry is None:
        known = sorted(v for k, v in CONSENT_TEXTS if k == kind)
        raise InvalidParameter(
            f"unknown version for {kind}; known versions: {', '.join(known)}",
            param="version",
            code="consent_version_unknown",
        )
    if language not in entry.texts:
        raise InvalidParameter(f"language must be one of {', '.join(LANGUAGES)}", param="language")
    return entry


# --- the liveness provider port ---------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class LivenessRequest:
    """What a liveness / face-match / video-signing provider needs for one check.

    The provider compares the captured face with the ID photo of (name, id_number) held by
    the public security database; `capture_token` is what the provider's client SDK handed
    the partner's app after capturing the face or the signing video.
    """

    reference: str
    """Our check id: the provider's idempotency key."""
    kind: str
    """`liveness` or `video_sign`."""
    name: str
    id_number: str
    phone: str
    capture_token: str | None = None

    def __repr__(self) -> str:
        return f"LivenessRequest({self.reference}, {self.kind})"


@dataclass(frozen=True)
class LivenessResult:
    """The provider's finding: a score in [0, 1], face match, spoof flag, and for video
    signing whether the spoken statement matched."""

    provider_reference: str
    score: float
    face_match: bool
    spoof: bool
    speech_match: bool | None = None


class ProviderError(Exception):
    """A provider could not give an answer; the check ends in `error` and may be retried."""

    reason = "provider_unavailable"


class ProviderTimeout(ProviderError):
    reason = "provider_timeout"


class ProviderUnavailable(ProviderError):
    reason = "provider_unavailable"


class LivenessProvider(Protocol):
    """A liveness / face-match / video-signing provider (the sandbox simulator or a real one)."""

    name: str

    def start_check(self, request: LivenessRequest) -> str:
        """Submit a check; returns the provider's reference. Raises ProviderError."""
        ...

    def result(self, provider_reference: str) -> LivenessResult | None:
        """The finding, or None while the provider is still processing. Raises ProviderError."""
        ...
