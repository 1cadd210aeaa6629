"""The recommendation service's rules: what an acceptable article is, where a link lands, what a
report adds up to. Pure functions and values; no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from urllib.parse import quote, urlencode, urlsplit

from shared.contracts.recommendation import ARTICLE_ID, ARTICLE_ID_LENGTH
from shared.errors import InvalidInput, Unprocessable

MIN_K, MAX_K, DEFAULT_K = 1, 50, 5
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>")
# Beyond this share of control or undecodable characters, input is a binary file, not words.
_BINARY_SHARE = 0.01
_ALLOWED_SCHEMES = ("http", "https")
_PORTS = range(1, 65536)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SourceKind(StrEnum):
    TEXT = "text"
    HTML = "html"
    URL = "url"


@dataclass(frozen=True)
class ArticleSource:
    """Where an article's words come from: pasted text, HTML, or a page to fetch."""

    kind: SourceKind
    value: str


def article_source(*, text: str | None, html: str | None, url: str | None) -> ArticleSource:
    given = [
        ArticleSource(kind, value)
        for kind, value in ((SourceKind.TEXT, text), (SourceKind.HTML, html), (SourceKind.URL, url))
        if value is not None
    ]
    if len(given) != 1:
        raise InvalidInput("Give the article as exactly one of 'text', 'html' or 'url'.")
    return given[0]


def check_k(k: int) -> int:
    if not MIN_K <= k <= MAX_K:
        raise InvalidInput(f"k must be between {MIN_K} and {MAX_K} books; it was {k}.")
    return k


def check_article_id(article_id: str) -> str:
    if not ARTICLE_ID.fullmatch(article_id):
        raise InvalidInput(
            f"An article id is 1 to {ARTICLE_ID_LENGTH} letters, digits, '_', '-', '.' or ':', "
            "not dots alone; "
            f"{article_id[:40]!r} is not."
        )
    return article_id


def check_text(text: str, *, max_chars: int, what: str = "article's text") -> str:
    if not text.strip():
        raise InvalidInput(f"The {what} is empty.")
    if len(text) > max_chars:
        raise InvalidInput(
            f"The {what} is {len(text):,} characters long; the most accepted is {max_chars:,}."
        )
    if looks_binary(text):
        raise InvalidInput(f"The {what} looks like a binary file, not words.")
    return text


def check_html(html: str, *, max_chars: int) -> str:
    check_text(html, max_chars=max_chars, what="article's HTML")
    if not _TAG.search(html):
        raise InvalidInput("The article's HTML has no tags: send it as 'text' instead.")
    return html


def check_url(url: str) -> str:
    url = url.strip()
    if not url:
        raise InvalidInput("The article's address is empty.")
    try:
        parts = urlsplit(url)
        # The port is parsed when read: one that is not a number, or is above 65535, raises here.
        port = parts.port
    except ValueError as error:
        raise not_a_web_address(url) from error
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        raise InvalidInput(f"Only http and https addresses can be fetched, not {url[:80]!r}.")
    if not parts.hostname:
        raise InvalidInput(f"{url[:80]!r} has no host to fetch from.")
    if (port is not None and port not in _PORTS) or not _is_host_name(parts.hostname):
        raise not_a_web_address(url)
    return url


def not_a_web_address(address: str) -> InvalidInput:
    return InvalidInput(f"{address[:80]!r} is not a valid web address.")


def _is_host_name(host: str) -> bool:
    """True for a host the resolver can look up: IDNA encodes it (no empty or overlong label)
    and decodes it back (an 'xn--' label must be real Punycode)."""
    try:
        host.encode("idna").decode("idna")
    except UnicodeError:
        return False
    return True


def check_headline(headline: str) -> str:
    if _CONTROL.search(headline):
        raise InvalidInput("The headline has control characters: give it as plain text.")
    return headline


def check_clean_text(text: str, *, max_chars: int) -> str:
    """What is left after the page furniture went must still be an article."""
    if not text.strip():
        raise Unprocessable("Nothing is left of the article once its page furniture is removed.")
    if len(text) > max_chars:
        raise InvalidInput(
            f"The article is {len(text):,} characters long; the most accepted is {max_chars:,}."
        )
    return text


def looks_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    sample = text[:20_000]
    odd = sum(
        1
        for ch in sample
        if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    )
    return odd > _BINARY_SHARE * len(sample)


def go_path(article_id: str, isbn13: str) -> str:
    """The link an article carries for a book: it records the click and lands on the book."""
    return f"/go/{quote(article_id, safe='')}/{isbn13}"


def book_path(isbn13: str, article_id: str | None, *, gone: str | None = None) -> str:
    """The catalogue's page of a book; the article id rides along into its Buy form, and
    `gone`, the ISBN-13 of the book the link was for, lets the page say why it shows another."""
    fields = {"article": article_id, "gone": gone}
    query = urlencode({name: value for name, value in fields.items() if value})
    return f"/books/{isbn13}" + (f"?{query}" if query else "")


def search_path(words: str, *, gone: str) -> str:
    """A search for a book that is gone, `gone` its ISBN-13 for the page to say so."""
    return f"/search?{urlencode({'q': words, 'gone': gone})}"


@dataclass(frozen=True)
class ShelfBook:
    """A book as this service holds it, for choosing where a link lands."""

    isbn13: str
    title: str
    available: int
    withdrawn: bool

    @property
    def on_sale(self) -> bool:
        return not self.withdrawn


def landing_path(
    *,
    article_id: str | None,
    isbn13: str,
    book: ShelfBook | None,
    alternatives: Sequence[ShelfBook],
) -> str:
    """Where a link for `isbn13` lands.

    The book's page while it is on sale; when it is gone, the article's best other book in
    stock (else its best other book on sale), else a search for the gone book's title.
    """
    if book is not None and book.on_sale:
        return book_path(isbn13, article_id)
    others = [b for b in alternatives if b.isbn13 != isbn13 and b.on_sale]
    in_stock = [b for b in others if b.available > 0]
    if article_id is not None and (in_stock or others):
        return book_path((in_stock or others)[0].isbn13, article_id, gone=isbn13)
    return search_path(book.title if book is not None else isbn13, gone=isbn13)


@dataclass(frozen=True)
class BookPick:
    """One recommended book as the API returns it."""

    isbn13: str
    title: str
    authors: tuple[str, ...]
    price_pence: int
    available: int
    reason: str
    score: float
    link: str


@dataclass(frozen=True)
class ArticleSummary:
    id: str
    headline: str
    published: date | None
    source_url: str | None


@dataclass(frozen=True)
class ArticleBooks:
    article: ArticleSummary | None
    books: tuple[BookPick, ...]
    index_version: int


class RuleKind(StrEnum):
    PIN = "pin"
    BAN = "ban"


@dataclass(frozen=True)
class EditorRules:
    article_id: str
    pins: tuple[str, ...]
    bans: tuple[str, ...]


@dataclass(frozen=True)
class BookReport:
    isbn13: str
    title: str | None
    clicks: int
    copies_sold: int


@dataclass(frozen=True)
class ArticleReport:
    article_id: str
    headline: str
    clicks: int
    orders: int
    gross_pence: int
    refunded_pence: int
    revenue_pence: int
    books: tuple[BookReport, ...]


@dataclass(frozen=True)
class OrderFigures:
    total_pence: int
    refunds_pence: int
    """Every refund recorded for the order, added up: more than it paid if checkout said so."""
    lines: tuple[tuple[str, int], ...]
    """(ISBN, quantity) of each line."""
    refunded_copies: Mapping[str, int] = field(default_factory=dict)
    """ISBN -> copies its refunds paid back, added up: more than it sold if checkout said so."""

    def copies_sold(self) -> dict[str, int]:
        """ISBN -> copies sold and not refunded, never below none."""
        sold: dict[str, int] = {}
        for isbn13, quantity in self.lines:
            sold[isbn13] = sold.get(isbn13, 0) + quantity
        return {
            isbn13: max(quantity - self.refunded_copies.get(isbn13, 0), 0)
            for isbn13, quantity in sold.items()
        }


def article_report(
    *,
    article_id: str,
    headline: str,
    clicks: dict[str, int],
    orders: Iterable[OrderFigures],
    titles: dict[str, str],
) -> ArticleReport:
    """Clicks per book, and the orders the article brought: revenue and copies sold are net
    of refunds."""
    orders = list(orders)
    copies: dict[str, int] = {}
    for order in orders:
        for isbn13, quantity in order.copies_sold().items():
            copies[isbn13] = copies.get(isbn13, 0) + quantity
    isbns = sorted({*clicks, *copies}, key=lambda i: (-clicks.get(i, 0), -copies.get(i, 0), i))
    gross = sum(o.total_pence for o in orders)
    refunded = sum(refund_applied(o.total_pence, o.refunds_pence) for o in orders)
    return ArticleReport(
        article_id=article_id,
        headline=headline,
        clicks=sum(clicks.values()),
        orders=len(orders),
        gross_pence=gross,
        refunded_pence=refunded,
        revenue_pence=gross - refunded,
        books=tuple(
            BookReport(
                isbn13=i,
                title=titles.get(i),
                clicks=clicks.get(i, 0),
                copies_sold=copies.get(i, 0),
            )
            for i in isbns
        ),
    )


def refund_applied(total_pence: int, refunds_pence: int) -> int:
    """What an order's refunds take off its revenue: never more than was paid."""
    return min(total_pence, refunds_pence)
