"""Identity numbers: validation (GB 11643, GB 32100, Luhn, mobile), display masks, licence OCR.

`ocr` is not imported here: it needs pytesseract and the tesseract binary, which the pure
validators and masks must not depend on.
"""

from lendbridge.identity.masking import (
    mask,
    mask_address,
    mask_bank_card,
    mask_cn_id,
    mask_name,
    mask_phone,
    mask_uscc,
)
from lendbridge.identity.validators import (
    BankCard,
    CnId,
    CnMobile,
    IdentityInvalid,
    Uscc,
    upgrade_cn_id_15,
    validate_bank_card,
    validate_cn_id,
    validate_cn_mobile,
    validate_uscc,
)

__all__ = [
    "BankCard",
    "CnId",
    "CnMobile",
    "IdentityInvalid",
    "Uscc",
    "mask",
    "mask_address",
    "mask_bank_card",
    "mask_cn_id",
    "mask_name",
    "mask_phone",
    "mask_uscc",
    "upgrade_cn_id_15",
    "validate_bank_card",
    "validate_cn_id",
    "validate_cn_mobile",
    "validate_uscc",
]
