"""ISBNs as the shop stores them: ISBN-13 strings, checked on the way in."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-‐‑–]")


class InvalidISBN(ValueError):
    """Raised for input that is not a valid ISBN-10, ISBN-13 or EAN-13 barcode."""


def _isbn13_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _isbn10_is_valid(isbn10: str) -> bool:
    total = sum((10 - i) * (10 if c in "Xx" else int(c)) for i, c in enumerate(isbn10))
    return total % 11 == 0


def to_isbn13(raw: str) -> str:
    """Return the ISBN-13 for `raw` (ISBN-13, ISBN-10, hyphens or spaces allowed).

    Raises InvalidISBN with a message a person can act on.
    """
    text = _SEPARATORS.sub("", raw.strip())
    if text.upper().startswith("ISBN"):
        text = text[4:].lstrip(":")
    if re.fullmatch(r"\d{13}", text):
        if not text.startswith(("978", "979")):
            raise InvalidISBN(
                f"{raw!r} is a 13-digit barcode but not a book (ISBNs start 978 or 979)"
            )
        if _isbn13_check_digit(text[:12]) != text[12]:
            raise InvalidISBN(f"{raw!r} has a wrong check digit: is a digit mistyped?")
        return text
    if re.fullmatch(r"\d{9}[\dXx]", text):
        if not _isbn10_is_valid(text):
            raise InvalidISBN(f"{raw!r} has a wrong ISBN-10 check digit: is a digit mistyped?")
        first12 = "978" + text[:9]
        return first12 + _isbn13_check_digit(first12)
    raise InvalidISBN(f"{raw!r} is not an ISBN: expected 13 digits (or 10, the last may be X)")


def is_isbn(raw: str) -> bool:
    """True when `raw` reads as a valid ISBN-10 or ISBN-13."""
    try:
        to_isbn13(raw)
    except InvalidISBN:
        return False
    return True


def hyphenless(raw: str) -> str:
    """Strip the separators people and scanners put inside ISBNs."""
    return _SEPARATORS.sub("", raw)
