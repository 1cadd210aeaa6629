"""Money is integer pence, never float."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

Pence = Annotated[int, msgspec.Meta(ge=0, description="an amount in pence (GBP), a whole number")]

# An amount typed in pounds: "3.50", "£3.50", "3.5" or "3" (ASCII digits only: "1e3" or "3,50"
# are mistakes to show, not amounts to guess at).
_TYPED_POUNDS = re.compile(r"£?\s*([0-9]{1,7})(?:\.([0-9]{1,2}))?")


class NotPounds(ValueError):
    """Typed text that is not an amount in pounds and pence; each form words its own refusal."""


def pounds_to_pence(typed: str) -> int:
    """Pence from an amount a person typed in pounds ("12.99", "£12.99", "12.5", "12"),
    exactly: never through a float."""
    match = _TYPED_POUNDS.fullmatch(typed.strip())
    if match is None:
        raise NotPounds(typed)
    pounds, pence = match.groups()
    return int(pounds) * 100 + int((pence or "0").ljust(2, "0"))


def format_pence(pence: int) -> str:
    """£12.99 from 1299; negative amounts keep their sign before the pound sign."""
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    return f"{sign}£{pounds:,}.{rest:02d}"


def vat_included(gross_pence: int, rate_percent: int) -> int:
    """The VAT inside a VAT-inclusive price, rounded half up to the penny."""
    return (gross_pence * rate_percent * 2 + (100 + rate_percent)) // (2 * (100 + rate_percent))
