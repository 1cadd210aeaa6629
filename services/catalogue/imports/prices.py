"""Prices as people write them, converted exactly to integer pence (Decimal, never float)."""

from __future__ import annotations

import re
from decimal import Decimal

_PENCE = re.compile(r"[0-9]+")
_POUNDS = re.compile(r"[0-9]+(\.[0-9]+)?")
# Above this many pounds a bare whole number in a column of prices in pounds is taken as
# pence: the shop sells nothing dearer.
MOST_POUNDS_WRITTEN_WHOLE = 200
_HINT = "write pence as a whole number (1299) or pounds with a point (12.99 or £12.99)"


class BadPrice(ValueError):
    """A price that does not read as an exact amount of pence."""


def _pounds_text_to_pence(raw: str, digits: str) -> int:
    if not _POUNDS.fullmatch(digits):
        raise BadPrice(f"bad price {raw!r}: {_HINT}")
    pence = Decimal(digits) * 100
    if pence != pence.to_integral_value():
        raise BadPrice(f"bad price {raw!r}: it is not a whole number of pence")
    return int(pence)


def price_to_pence(raw: str) -> int:
    """A price from a spreadsheet cell: "1299" is pence; "12.99", "£12.99" and "£12" are pounds."""
    text = raw.strip()
    if text.startswith("£"):
        return _pounds_text_to_pence(raw, text[1:].strip())
    if _PENCE.fullmatch(text):
        return int(text)
    return _pounds_text_to_pence(raw, text)


def written_in_pounds(raw: str) -> bool:
    """Whether a cell gives its price in pounds ("12.99", "£10"), not in pence."""
    text = raw.strip()
    return text.startswith("£") or "." in text


def ambiguous_in_pounds(raw: str) -> str | None:
    """Why a bare whole number cannot stand in a column whose other prices are in pounds, if
    it cannot: 10 could be 10p or £10, but 1499 is £14.99 (no book costs £1,499)."""
    text = raw.strip()
    if not _PENCE.fullmatch(text) or int(text) > MOST_POUNDS_WRITTEN_WHOLE:
        return None
    return (
        f"{text} in a column of prices in pounds: write {text}.00 for £{text}, "
        f"or {int(text) * 100} for pence"
    )


def pounds_to_pence(raw: str) -> int:
    """An amount in pounds, as ONIX's PriceAmount gives it ("12.99", "12", "12.50")."""
    return _pounds_text_to_pence(raw, raw.strip())
