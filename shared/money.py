"""Money is integer pence, never float."""

from __future__ import annotations

from typing import Annotated

import msgspec

Pence = Annotated[int, msgspec.Meta(ge=0, description="an amount in pence (GBP), a whole number")]


def format_pence(pence: int) -> str:
    """£12.99 from 1299; negative amounts keep their sign before the pound sign."""
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    return f"{sign}£{pounds:,}.{rest:02d}"


def vat_included(gross_pence: int, rate_percent: int) -> int:
    """The VAT inside a VAT-inclusive price, rounded half up to the penny."""
    return (gross_pence * rate_percent * 2 + (100 + rate_percent)) // (2 * (100 + rate_percent))
