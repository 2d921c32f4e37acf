"""Which bank a card or account number belongs to, for routing ("does this channel reach it").

Card numbers start with an issuer identification number (BIN). The table holds the BINs
of the large Chinese issuers; anything else is "OTHER", which the clearing networks reach
and a bank-direct channel does not. Settlement accounts have no BIN: their bank is given
explicitly when the account is registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

OTHER = "OTHER"

BINS: Mapping[str, str] = MappingProxyType(
    {
        "622202": "ICBC",
        "621226": "ICBC",
        "621700": "CCB",
        "436742": "CCB",
        "622848": "ABC",
        "621661": "BOC",
        "456351": "BOC",
        "622588": "CMB",
        "621483": "CMB",
        "622262": "BOCOM",
        "621799": "PSBC",
        "622155": "ICBC",
    }
)

BANK_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "ICBC": "Industrial and Commercial Bank of China",
        "CCB": "China Construction Bank",
        "ABC": "Agricultural Bank of China",
        "BOC": "Bank of China",
        "CMB": "China Merchants Bank",
        "BOCOM": "Bank of Communications",
        "PSBC": "Postal Savings Bank of China",
    }
)


def bank_of_card(number: str) -> str:
    """The bank code of a card number by its BIN, or OTHER."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return BINS.get(digits[:6], OTHER)
