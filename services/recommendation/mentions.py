"""Explicit mentions: ISBNs, titles (shortened or slightly wrong) and authors named in an article.

A named book is the strongest evidence an article can give, but names are also said in
passing ("Lenin and Trotsky had looked to..."), and short titles are ordinary phrases
("Strikes", "The Vote"). So each kind of mention needs its own proof:

* an ISBN is proof enough;
* a title (or its subtitle alone, or the title without its leading article) must match
  closely, and be long enough to be distinctive, or be written in title case, or come
  with its author's name; a one-word title needs both its author and title case, or
  quotation marks and a capital ("‘Germinal’"); beside its author a short title may
  be a letter wrong ("Strkes"), and after its author's name cut to its first words
  ("Galeano's Open Veins");
* an author's full name points to that author's books (the ranker picks among them by
  topic) unless the article already named one of them by title; a surname alone only
  vouches for a title, and not when other authors share it; a double-barrelled surname
  is said whole ("Wallace-Wells": "Wells" is another author);
* an author credited with a work ("Chomsky's book on...", "a short study by Federici")
  is meant as the writer of one of their books, by full name or by a surname no other
  author has: the ranker puts the one that fits the article best first.

Titles are found by looking the article's word n-grams up in a table of title phrases,
and fuzzy candidates through their two rarest words, so the cost grows with the article,
not with the catalogue.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from enum import IntEnum

from rapidfuzz import fuzz

from services.recommendation.article_words import ArticleWords, words_of
from services.recommendation.books import IndexedBook
from shared.isbn import InvalidISBN, to_isbn13

_ISBN = re.compile(r"(?<![\dX-])(?:97[89][\s-]?)?(?:\d[\s-]?){9}[\dX](?![\dX])", re.IGNORECASE)
_ARTICLES = frozenset({"the", "a", "an"})
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
# a title may be a little wrong only when it has this many content words; then it may lack
# (or misspell) one of them, or two when it has four or more
_FUZZY_MIN_WORDS = 3
_MAX_MISSING_WORDS = 2
# bounds on the fuzzy search's work per article, whatever the catalogue
_MAX_FUZZY_KEYED = 200
_MAX_FUZZY_CHECKS = 200
# short titles of the authors an article names, spelled out word by word against it
_MAX_SHORT_TITLE_CHECKS = 20
# rapidfuzz partial_ratio a title must reach: distinctive titles may be a little wrong
_MIN_RATIO_LONG = 86.0
_MIN_RATIO_SHORT = 90.0
_LONG_TITLE_WORDS = 4
_MIN_SPAN_WORD_SHARE = 0.75
_MIN_FUZZY_WORD_LENGTH = 5
_MIN_WORD_RATIO = 80.0
# small words ("of the") that may stand between two of a title's words in a run of them
_MAX_SMALL_WORDS = 2
# a surname shared by more authors than this says nothing on its own
_MAX_SURNAME_AUTHORS = 2


class MentionKind(IntEnum):
    """Stronger kinds sort higher."""

    AUTHOR = 2
    TITLE = 3
    ISBN = 4


@dataclass(frozen=True)
class Mention:
    position: int
    kind: MentionKind
    evidence: str
    """What the article said, for the reason shown to the editor."""
    with_author: bool = False
    credited: bool = False
    """An author mention naming them as a work's writer ("Chomsky's book on...")."""


@dataclass(frozen=True)
class _Author:
    name: str
    """As catalogued."""
    positions: set[int]
    full: bool
    """Named in full somewhere in the article, not by surname alone."""
    credited: bool
    spans: tuple[range, ...]
    """Where the article names them in full."""


@dataclass(frozen=True)
class _Variant:
    position: int
    words: tuple[str, ...]
    content: frozenset[str]
    is_subtitle: bool


class MentionIndex:
    """Titles, subtitles and authors of the indexed books, by the words in them."""

    def __init__(self) -> None:
        self._variants: list[_Variant | None] = []
        self._by_position: dict[int, list[int]] = defaultdict(list)
        # exact phrases, looked up by the article's word n-grams
        self._phrases: dict[tuple[str, ...], list[int]] = defaultdict(list)
        self._first_words: Counter[str] = Counter()
        self._longest = 0
        # titles long enough to match fuzzily, posted under their rarest words, one more
        # than a title may lack: an article holding none of them cannot match it anyway
        self._fuzzy_keys: dict[str, list[int]] = defaultdict(list)
        self._title_word_counts: Counter[str] = Counter()
        self._isbns: dict[str, int] = {}
        self._authors_by_surname: dict[str, dict[tuple[str, ...], set[int]]] = defaultdict(dict)
        self._author_names: dict[tuple[str, ...], str] = {}
        # the surnames of more than one word ("Wallace-Wells"), by author; the others are
        # their names' last words
        self._long_surnames: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._books: dict[int, IndexedBook] = {}

    def add(self, position: int, book: IndexedBook) -> None:
        self.remove(position)
        self._books[position] = book
        self._isbns[book.isbn13] = position
        for words, is_subtitle in _title_variants(book):
            content = frozenset(w for w in words if w not in _FUNCTION_WORDS)
            if not content:
                continue
            variant_id = len(self._variants)
            self._variants.append(_Variant(position, words, content, is_subtitle))
            self._by_position[position].append(variant_id)
            self._phrases[words].append(variant_id)
            self._first_words[words[0]] += 1
            self._longest = max(self._longest, len(words))
            self._title_word_counts.update(content)
            if len(content) >= _FUZZY_MIN_WORDS:
                rarest = sorted(content, key=lambda w: (self._title_word_counts[w], w))
                for word in rarest[: _MAX_MISSING_WORDS + 1]:
                    self._fuzzy_keys[word].append(variant_id)
        for name in book.authors:
            words = tuple(words_of(name))
            if words:
                self._author_names[words] = name
                surname = tuple(words_of(name.split()[-1]))
                if len(surname) > 1:
                    self._long_surnames[words] = surname
                self._authors_by_surname[words[-1]].setdefault(words, set()).add(position)

    def remove(self, position: int) -> None:
        book = self._books.pop(position, None)
        if book is None:
            return
        if self._isbns.get(book.isbn13) == position:
            del self._isbns[book.isbn13]
        for variant_id in self._by_position.pop(position, []):
            variant = self._variants[variant_id]
            if variant is not None:
                self._first_words[variant.words[0]] -= 1
                ids = self._phrases[variant.words]
                ids.remove(variant_id)
                if not ids:
                    del self._phrases[variant.words]
            self._variants[variant_id] = None
        for name in book.authors:
            words = tuple(words_of(name))
            if words:
                by_name = self._authors_by_surname.get(words[-1], {})
                by_name.get(words, set()).discard(position)
                if not by_name.get(words, True):
                    del by_name[words]

    def find(self, text: str) -> dict[int, Mention]:
        """The strongest mention of each book the article names, by position."""
        article = ArticleWords(text)
        found: dict[int, Mention] = {}
        for position, isbn in self._isbn_mentions(text):
            found[position] = Mention(position, MentionKind.ISBN, f"ISBN {isbn}")
        authors, name_spans = self._author_mentions(article)
        surname_positions = {p for author in authors for p in author.positions}
        titles, claimed = self._title_mentions(article, surname_positions, name_spans)
        for mention in titles:
            found.setdefault(mention.position, mention)
        named_by_title = set(found)
        # "As Wheen argues in ‘Karl Marx’": a name said in full only within titles is a
        # title's words
        authors = [
            replace(a, full=False, spans=())
            if a.spans and all(any(_within(s, title) for title in claimed) for s in a.spans)
            else a
            for a in authors
        ]
        named_positions = {p for author in authors if author.full for p in author.positions}
        for author in authors:
            # the article named one of this author's books: the name was about that book
            if author.positions & named_by_title:
                continue
            # a surname alone ("Marx explained...") is said in passing too often to rank by;
            # it only vouches for a title above, unless it credits the author with a work
            if not (author.full or author.credited):
                continue
            for position in author.positions:
                found.setdefault(
                    position,
                    Mention(position, MentionKind.AUTHOR, author.name, credited=author.credited),
                )
        for position in named_positions & named_by_title:
            mention = found[position]
            if mention.kind == MentionKind.TITLE and not mention.with_author:
                found[position] = Mention(position, mention.kind, mention.evidence, True)
        return found

    def _isbn_mentions(self, text: str) -> Iterable[tuple[int, str]]:
        for match in _ISBN.finditer(text):
            try:
                isbn = to_isbn13(match.group())
            except InvalidISBN:
                continue
            if isbn in self._isbns:
                yield self._isbns[isbn], isbn

    def _author_mentions(self, article: ArticleWords) -> tuple[list[_Author], list[range]]:
        """The authors the article names, in the order it first names them, and where
        their full names are in it."""
        full_names: dict[tuple[str, ...], list[range]] = {}
        credited: set[tuple[str, ...]] = set()
        name_spans: list[range] = []
        alone: dict[tuple[str, ...], None] = {}
        # "Muhammad Ali" anywhere means a later "Ali" is him, not Tariq Ali
        in_other_names: set[tuple[str, ...]] = set()
        words = article.words
        for i, word in enumerate(words):
            by_name = self._authors_by_surname.get(word)
            if not by_name or not article.capitalised[i]:
                continue
            full = [n for n in by_name if _full_name_before(words, i, n)]
            for name_words in full:
                span = range(i + 1 - len(name_words), i + 1)
                full_names.setdefault(name_words, []).append(span)
                name_spans.append(span)
                if article.credits_work(span.start, span.stop):
                    credited.add(name_words)
            if full:
                continue
            surnames = self._surnames_at(words, i, by_name)
            if not surnames:
                continue
            surname = self._surname(surnames[0])
            start = i + 1 - len(surname)
            if article.part_of_other_name(start, i + 1):
                in_other_names.add(surname)
            elif len(word) >= 3 and len(surnames) <= _MAX_SURNAME_AUTHORS:
                alone.update(dict.fromkeys(surnames))
                # a surname credits only the one author who has it
                if len(surnames) == 1 and article.credits_work(start, i + 1):
                    credited.update(surnames)
        named = dict.fromkeys(full_names)
        named.update(dict.fromkeys(n for n in alone if self._surname(n) not in in_other_names))
        out = []
        for name_words in named:
            positions = self._authors_by_surname[name_words[-1]].get(name_words, set())
            if positions:
                out.append(
                    _Author(
                        self._author_names[name_words],
                        set(positions),
                        full=name_words in full_names,
                        credited=name_words in credited,
                        spans=tuple(full_names.get(name_words, ())),
                    )
                )
        return out, name_spans

    def _surnames_at(
        self, words: list[str], index: int, by_name: dict[tuple[str, ...], set[int]]
    ) -> list[tuple[str, ...]]:
        """The authors whose whole surname ends at `index`, the longest surname's: a
        double-barrelled one is said whole ("Wallace-Wells"), and "Wells" alone is not
        David Wallace-Wells."""
        surnames = {n: self._surname(n) for n in by_name}
        spelled = {
            n: len(surname)
            for n, surname in surnames.items()
            if tuple(words[max(0, index + 1 - len(surname)) : index + 1]) == surname
        }
        longest = max(spelled.values(), default=0)
        return [n for n, length in spelled.items() if length == longest]

    def _surname(self, name_words: tuple[str, ...]) -> tuple[str, ...]:
        return self._long_surnames.get(name_words, name_words[-1:])

    def _title_mentions(
        self, article: ArticleWords, author_positions: set[int], name_spans: list[range]
    ) -> tuple[list[Mention], list[range]]:
        """The titles the article names, and the words they take."""
        mentions: dict[int, Mention] = {}
        claimed: list[range] = []
        # longest titles first, so "Imperialism" inside "Imperialism and Global Political
        # Economy" is not also taken as Lenin's "Imperialism"
        matches = [
            *self._exact_matches(article),
            *self._fuzzy_matches(article),
            *self._fuzzy_short_matches(article, author_positions),
            *self._shorthand_matches(article, author_positions),
        ]
        # the words that name one edition of a work name them all: the works named, by
        # the title's words and where they are
        naming: dict[tuple[tuple[str, ...], range], set[tuple[str, tuple[str, ...]]]] = {}
        for variant, span in sorted(
            matches, key=lambda m: (-len(" ".join(m[0].words)), m[1].start)
        ):
            named_here = naming.get((variant.words, span))
            if any(_overlaps(span, other) for other in claimed) and (
                named_here is None or self._books[variant.position].work_key not in named_here
            ):
                continue
            with_author = variant.position in author_positions
            # "Rosa Luxemburg" names her before it names Frolich's life of her, unless it is
            # in quotation marks
            within_a_name = any(_within(span, name) for name in name_spans)
            if within_a_name and not with_author and not article.quoted(span):
                continue
            if not _convincing(variant, article, span, with_author):
                continue
            claimed.append(span)
            works = naming.setdefault((variant.words, span), set())
            works.add(self._books[variant.position].work_key)
            if variant.position not in mentions:
                book = self._books[variant.position]
                mentions[variant.position] = Mention(
                    variant.position, MentionKind.TITLE, book.title, with_author
                )
        return list(mentions.values()), claimed

    def _exact_matches(self, article: ArticleWords) -> Iterator[tuple[_Variant, range]]:
        words = article.words
        for start, first in enumerate(words):
            if self._first_words[first] <= 0:
                continue
            for stop in range(start + 1, min(len(words), start + self._longest) + 1):
                for variant_id in self._phrases.get(tuple(words[start:stop]), ()):
                    variant = self._variants[variant_id]
                    if variant is not None:
                        yield variant, range(start, stop)

    def _fuzzy_matches(self, article: ArticleWords) -> Iterator[tuple[_Variant, range]]:
        """Titles a little wrong ("Econmy", "The days that shook...", "Imperialism & Global
        Political Economy", a "the" too many or too few): long ones only.

        A word that keys thousands of titles is too common to find a title by, so titles
        whose rarest words are all that common are only matched exactly.
        """
        close: dict[int, int] = {}
        for word in article.word_set:
            keyed = self._fuzzy_keys.get(word, ())
            if len(keyed) > _MAX_FUZZY_KEYED:
                continue
            for variant_id in keyed:
                if variant_id in close:
                    continue
                variant = self._variants[variant_id]
                if variant is None:
                    continue
                missing = sum(w not in article.word_set for w in variant.content)
                allowed = 1 if len(variant.content) < _LONG_TITLE_WORDS else _MAX_MISSING_WORDS
                # every word there and the phrase too: the exact match has it
                exact = missing == 0 and f" {' '.join(variant.words)} " in f" {article.joined} "
                close[variant_id] = missing if missing <= allowed and not exact else -1
        nearest = sorted((m, i) for i, m in close.items() if m >= 0)[:_MAX_FUZZY_CHECKS]
        for _, variant_id in nearest:
            variant = self._variants[variant_id]
            assert variant is not None
            span = _fuzzy_span(variant, article)
            if span is not None:
                yield variant, span

    def _fuzzy_short_matches(
        self, article: ArticleWords, author_positions: set[int]
    ) -> Iterator[tuple[_Variant, range]]:
        """Short titles a little wrong ("Strkes", "The Golden Noteook") by an author the
        article names: too common to look for in every article, but with their author
        beside them a near miss is a mention."""
        short = [
            v
            for v in self._variants_of(sorted(author_positions))
            if len(v.content) < _FUZZY_MIN_WORDS and not v.content <= article.word_set
        ]
        for variant in short[:_MAX_SHORT_TITLE_CHECKS]:
            span = _spelled_span(variant, article)
            if span is not None:
                yield variant, span

    def _shorthand_matches(
        self, article: ArticleWords, author_positions: set[int]
    ) -> Iterator[tuple[_Variant, range]]:
        """A title cut to its first words after its author's name ("Galeano's Open Veins",
        "Trotsky's History"), in title case, as people speak of books they know."""
        for i, word in enumerate(article.words):
            if not (article.possessive[i] and article.capitalised[i]):
                continue
            theirs = set().union(*self._authors_by_surname.get(word, {}).values())
            for variant in self._variants_of(sorted(theirs & author_positions)):
                span = None if variant.is_subtitle else _leading_words(variant, article, i + 1)
                if span is not None:
                    yield variant, span

    def _variants_of(self, positions: Iterable[int]) -> Iterator[_Variant]:
        """The title variants of these books."""
        for position in positions:
            for variant_id in self._by_position.get(position, ()):
                variant = self._variants[variant_id]
                if variant is not None:
                    yield variant


def _fuzzy_span(variant: _Variant, article: ArticleWords) -> range | None:
    """The article's words that spell this title closely enough, if any."""
    phrase = " ".join(variant.words)
    if len(article.joined) < len(phrase):
        return None
    alignment = fuzz.partial_ratio_alignment(phrase, article.joined)
    threshold = _MIN_RATIO_LONG if len(variant.content) >= _LONG_TITLE_WORDS else _MIN_RATIO_SHORT
    if alignment is None or alignment.score < threshold:
        # a short title loses more of its score to one small word than a long one
        return _content_run(variant, article)
    span = article.word_span(alignment.dest_start, alignment.dest_end)
    # a close character alignment can still be another phrase ending the same way
    # ("a movement that shook the world"): most of the title's words must be there
    present = sum(_word_in(word, article, span) for word in variant.content)
    return span if present >= _MIN_SPAN_WORD_SHARE * len(variant.content) else None


def _content_run(variant: _Variant, article: ArticleWords) -> range | None:
    """The first run of the article's words that has the title's words in its order,
    each exactly, with no more than a small word dropped, added or changed between
    them ("The History of Russian Revolution")."""
    order = [w for w in variant.words if w in variant.content]
    words = article.words
    for start, word in enumerate(words):
        if word != order[0]:
            continue
        at = start
        for wanted in order[1:]:
            gap = at + 1
            while gap < len(words) and gap - at <= _MAX_SMALL_WORDS + 1:
                if words[gap] == wanted or words[gap] not in _FUNCTION_WORDS:
                    break
                gap += 1
            if gap >= len(words) or words[gap] != wanted:
                break
            at = gap
        else:
            return range(start, at + 1)
    return None


def _convincing(variant: _Variant, article: ArticleWords, span: range, with_author: bool) -> bool:
    # "‘Germinal’": between quotation marks and capitalised, even at a sentence's
    # start, words are a title; scare quotes ("‘progressive’") are lower case
    content = _content_words(variant, article, span)
    if article.quoted(span) and _capitalised(article, content):
        return True
    title_case = _title_case(article, content)
    if len(variant.content) == 1:
        return with_author and title_case
    if variant.is_subtitle:
        return with_author or (title_case and len(variant.content) >= 3)
    return with_author or title_case or len(variant.content) >= _LONG_TITLE_WORDS


def _leading_words(variant: _Variant, article: ArticleWords, start: int) -> range | None:
    """The article's words from `start` that begin this title, in title case, up to its
    last content word: a shorthand for the title, not the whole of it."""
    stop = start
    while (
        stop < len(article.words)
        and stop - start < len(variant.words) - 1
        and article.words[stop] == variant.words[stop - start]
    ):
        stop += 1
    while stop > start and article.words[stop - 1] in _FUNCTION_WORDS:
        stop -= 1
    content = [i for i in range(start, stop) if article.words[i] in variant.content]
    if not content or not all(article.capitalised[i] for i in content):
        return None
    return range(start, stop)


def _spelled_span(variant: _Variant, article: ArticleWords) -> range | None:
    """The first run of the article's words that spells this title word by word, each
    word exactly or a little wrong: a short title is too short for a character alignment
    to tell one wrong letter ("Strkes") from another word."""
    size = len(variant.words)
    for start in range(len(article.words) - size + 1):
        if all(_spells(article.words[start + j], w) for j, w in enumerate(variant.words)):
            return range(start, start + size)
    return None


def _word_in(word: str, article: ArticleWords, span: range) -> bool:
    """The word is in the span, or a misspelling of it is ("Econmy")."""
    return any(_spells(article.words[i], word) for i in span)


def _spells(written: str, word: str) -> bool:
    return written == word or (
        min(len(word), len(written)) >= _MIN_FUZZY_WORD_LENGTH
        and fuzz.ratio(word, written) >= _MIN_WORD_RATIO
    )


def _title_case(article: ArticleWords, content: list[int]) -> bool:
    """The title's words, `content`, are capitalised, not only by opening a sentence."""
    if len(content) == 1 and article.sentence_start[content[0]]:
        return False
    return _capitalised(article, content)


def _capitalised(article: ArticleWords, content: list[int]) -> bool:
    """Most of the title's words, `content`, are capitalised."""
    return bool(content) and sum(article.capitalised[i] for i in content) * 2 > len(content)


def _content_words(variant: _Variant, article: ArticleWords, span: range) -> list[int]:
    """Where in the span the title's own words (not its small ones) are."""
    return [i for i in span if any(_spells(article.words[i], w) for w in variant.content)]


def _title_variants(book: IndexedBook) -> Iterable[tuple[tuple[str, ...], bool]]:
    title = tuple(words_of(book.title))
    yield title, False
    if len(title) > 1 and title[0] in _ARTICLES:
        yield title[1:], False
    if book.subtitle:
        subtitle = tuple(words_of(book.subtitle))
        yield title + subtitle, False
        yield subtitle, True


def _full_name_before(words: list[str], index: int, name_words: tuple[str, ...]) -> bool:
    """The surname at `index` comes with the author's given name(s) or initials."""
    before = name_words[:-1]
    if not before:
        return True
    if tuple(words[max(0, index - len(before)) : index]) == before:
        return True
    given = [w for w in before if len(w) > 1]
    # "Robert Paxton" for "Robert O. Paxton"; "Lenin" alone for "V.I. Lenin" is a surname
    return bool(given) and index >= 1 and words[index - 1] == given[-1] and len(given) == 1


def _overlaps(a: range, b: range) -> bool:
    return a.start < b.stop and b.start < a.stop


def _within(inner: range, outer: range) -> bool:
    return inner.start >= outer.start and inner.stop <= outer.stop
