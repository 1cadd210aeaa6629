"""The catalogue's rules: pure functions, no I/O."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from shared.isbn import InvalidISBN, hyphenless, to_isbn13


class Movement(StrEnum):
    """A ledger entry's kind: why the stock moved."""

    RECEIVED = "received"
    SOLD = "sold"
    ADJUSTED = "adjusted"
    RETURNED_TO_SUPPLIER = "returned_to_supplier"
    # Sold copies back from a customer, or refunded before they left the shop.
    RETURNED = "returned"
    STOCKTAKE = "stocktake"
    RESERVED = "reserved"
    RELEASED = "released"


# Fewer copies than this and the page says how many are left.
FEW_LEFT = 3
# Longest term kept in the index; titles longer than this match on their first 200 characters.
MAX_TERM_LENGTH = 200
# Above every character a normalised term can hold ([a-z0-9 ]), so term < prefix + "~" bounds
# the terms that start with prefix.
_PREFIX_CEILING = "~"
_LEADING_ARTICLES = ("the ", "a ", "an ")
_APOSTROPHES = re.compile(r"['’‘`]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_DIGITS_ONLY = re.compile(r"\d{1,18}[xX]?")
_WORD_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
_PAIR_BUCKETS = 63 - len(_WORD_CHARACTERS)


class TermKind(IntEnum):
    """Which tier a term ranks in: lower is better."""

    ISBN = 0
    TITLE = 1
    AUTHOR = 2
    WORD = 3


def normalise(text: str) -> str:
    """Lower case ASCII words separated by single spaces: "Rosa Luxemburg's" -> "rosa luxemburgs"."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    folded = _APOSTROPHES.sub("", folded)
    return _NOT_ALNUM.sub(" ", folded).strip()


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """The half-open range of terms that start with `prefix` (usable by a btree index)."""
    return prefix, prefix + _PREFIX_CEILING


def prefix_mask(prefix: str) -> int:
    """The bits a book's words mask has whenever one of its words starts with `prefix`.

    Bits 0-35: a word starts with that character (exact: a normalised word is [a-z0-9]+);
    bits 36-62: a word's first two characters hash to that bucket. 63 bits, so the mask is a
    positive BIGINT on Postgres and SQLite alike.
    """
    bits = 1 << _WORD_CHARACTERS.index(prefix[0])
    if len(prefix) > 1:
        pair = (ord(prefix[0]) * 31 + ord(prefix[1])) % _PAIR_BUCKETS
        bits |= 1 << (len(_WORD_CHARACTERS) + pair)
    return bits


def words_mask(words: Iterable[str]) -> int:
    """A book's words in 63 bits, so a search can drop most books lacking a word without
    looking their words up: `mask & prefix_mask(p) == prefix_mask(p)` for every prefix p of
    one of the words (and for about one other prefix in ten)."""
    mask = 0
    for word in words:
        mask |= prefix_mask(word)
    return mask


def search_terms(
    *, isbn13: str, title: str, subtitle: str | None, authors: Sequence[str]
) -> set[tuple[TermKind, str]]:
    """Every (kind, term) a book is found by.

    Titles are kept whole (and without a leading article) for title-prefix matches; each author's
    name is kept from each of its words on, so "callin" finds "Alex Callinicos" as an author match;
    every word of title, subtitle and authors is a word term.
    """
    terms: set[tuple[TermKind, str]] = {(TermKind.ISBN, isbn13)}
    title_text = normalise(title)
    if title_text:
        terms.add((TermKind.TITLE, title_text[:MAX_TERM_LENGTH]))
        for article in _LEADING_ARTICLES:
            if title_text.startswith(article):
                terms.add((TermKind.TITLE, title_text[len(article) :][:MAX_TERM_LENGTH]))
    for author in authors:
        words = normalise(author).split()
        for start in range(len(words)):
            if start == 0 or len(words[start]) > 1:
                terms.add((TermKind.AUTHOR, " ".join(words[start:])[:MAX_TERM_LENGTH]))
    for text in (title, subtitle or "", *authors):
        for word in normalise(text).split():
            terms.add((TermKind.WORD, word[:MAX_TERM_LENGTH]))
    return terms


@dataclass(frozen=True)
class SearchQuery:
    """What a typed query asks for.

    `exact_isbn`: a whole ISBN or barcode, looked up and nothing else. `isbn_prefixes`: the
    ISBN-13 beginnings a run of digits may be (typed as ISBN-13, or as the start of an ISBN-10).
    `text`: the normalised words, for title, author and word matches.
    """

    raw: str
    exact_isbn: str | None = None
    isbn_prefixes: tuple[str, ...] = ()
    text: str = ""

    @property
    def words(self) -> list[str]:
        return self.text.split()

    @property
    def is_isbn_lookup(self) -> bool:
        return self.exact_isbn is not None or bool(self.isbn_prefixes)

    @property
    def is_empty(self) -> bool:
        return not (self.exact_isbn or self.isbn_prefixes or self.text)


def parse_query(raw: str) -> SearchQuery:
    """Recognise ISBNs and barcodes as typed or scanned; everything else is words.

    A scanned book barcode may carry a 2- or 5-digit price add-on after the EAN-13; it is dropped.
    A partial run of digits may also be a title ("1984"), so it is searched as words too.
    """
    raw = raw.strip()[:200]
    compact = hyphenless(raw)
    if compact.upper().startswith("ISBN"):
        compact = compact[4:].lstrip(":")
    if not _DIGITS_ONLY.fullmatch(compact):
        return SearchQuery(raw=raw, text=normalise(raw))
    candidates = [compact]
    if len(compact) in (15, 18) and compact.startswith(("978", "979")):
        candidates.append(compact[:13])
    for candidate in candidates:
        if len(candidate) in (10, 13):
            try:
                return SearchQuery(raw=raw, exact_isbn=to_isbn13(candidate))
            except InvalidISBN:
                pass
    prefixes: list[str] = []
    # Fewer digits than this match too many books to be worth an ISBN lookup.
    if len(compact) >= 4 and compact.isdigit():
        if compact.startswith(("978", "979")) and len(compact) < 13:
            prefixes.append(compact)
        if len(compact) <= 9:
            prefixes.append("978" + compact)
    return SearchQuery(raw=raw, isbn_prefixes=tuple(dict.fromkeys(prefixes)), text=normalise(raw))


def availability_label(available: int) -> str:
    if available <= 0:
        return "Out of stock"
    if available <= FEW_LEFT:
        return f"Only {available} left"
    return "In stock"


def stock_differences(
    counted: Mapping[str, int], on_shelf: Mapping[str, int]
) -> dict[str, tuple[int, int]]:
    """For each counted ISBN whose count differs from the copies the books' figures put on the
    shelf: (on the shelf, counted)."""
    return {
        isbn: (on_shelf[isbn], count)
        for isbn, count in counted.items()
        if isbn in on_shelf and on_shelf[isbn] != count
    }


def merge_quantities(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    """One quantity per ISBN, in ISBN order: rows are always locked in the same order, so two
    orders for the same books cannot deadlock on Postgres."""
    merged: dict[str, int] = {}
    for isbn, quantity in lines:
        merged[isbn] = merged.get(isbn, 0) + quantity
    return dict(sorted(merged.items()))


def fields_digest(book: object, names: Iterable[str]) -> str:
    """A digest of a book's fields `names` (of a Book or a BookRead) as a form showed them:
    the save compares it with the book's, so a change made meanwhile is not overwritten unseen."""
    shown = json.dumps({name: getattr(book, name) for name in sorted(names)}, ensure_ascii=False)
    return hashlib.blake2b(shown.encode(), digest_size=9).hexdigest()
