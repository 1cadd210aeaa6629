"""The stock pages' form fields: what people type, checked, with messages they can act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared import money
from shared.errors import InvalidInput

MAX_PRICE_PENCE = 100_000_000


def text(form: Mapping[str, Any], name: str, *, limit: int = 500) -> str:
    value = form.get(name)
    return str(value).strip()[:limit] if value is not None else ""


def whole_number(raw: str, *, what: str, low: int, high: int) -> int:
    try:
        number = int(raw.strip())
    except ValueError:
        example = "3 or -2" if low < 0 else "3"
        raise InvalidInput(f"{what} must be a whole number, like {example}") from None
    if not low <= number <= high:
        raise InvalidInput(f"{what} must be from {low} to {high}")
    return number


def pounds_to_pence(raw: str) -> int:
    """'12.99', '£12.99' or '12' as pence, as a price."""
    try:
        pence = money.pounds_to_pence(raw)
    except money.NotPounds:
        raise InvalidInput(f"'{raw}' is not a price: type pounds and pence, like 12.99") from None
    if pence > MAX_PRICE_PENCE:
        raise InvalidInput("that price is too high: check the decimal point")
    return pence


def pounds(pence: int) -> str:
    """1299 as "12.99": a price as its field shows it, for pounds_to_pence to read back."""
    return f"{pence // 100}.{pence % 100:02d}"


def prefixed(form: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """Fields named `<prefix><isbn>` (one per book on a form), by ISBN."""
    return {
        name[len(prefix) :]: str(value)
        for name, value in form.items()
        if name.startswith(prefix) and len(name) - len(prefix) == 13
    }
