"""An article as folded words, each knowing how it was written: capitalised, opening a
sentence, possessive, between quotation marks; and which names in it credit a work.

Kept apart from the mention index because it reads the article alone, never the catalogue.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

_POSSESSIVE = re.compile(r"['\u2019]s\b")
_APOSTROPHE = re.compile(r"['\u2019]")
_TOKEN = re.compile(r"[^\W_]+")

# words for a piece of writing: "Galeano's history of...", "a study by Federici" (not
# "biography": "Trotsky's biography" is more often a life of him than one he wrote)
_WORK_WORDS = frozenset(
    [
        "account",
        "analysis",
        "autobiography",
        "book",
        "books",
        "classic",
        "collection",
        "essay",
        "essays",
        "history",
        "memoir",
        "memoirs",
        "novel",
        "novels",
        "pamphlet",
        "poems",
        "polemic",
        "stories",
        "study",
        "survey",
        "work",
        "works",
    ]
)
# how many words ("short", "classic 1938") may stand between a name and its work
_WORK_WORD_GAP = 2
_OPENING_QUOTES = frozenset("\"'“‘")
_CLOSING_QUOTES = frozenset("\"'”’")


class ArticleWords:
    """An article as folded tokens, each knowing whether it was capitalised."""

    def __init__(self, text: str) -> None:
        folded_chars: list[str] = []
        origin: list[int] = []
        source = _POSSESSIVE.sub("  ", text)
        for index, char in enumerate(source):
            for out in fold(char):
                folded_chars.append(out)
                origin.append(index)
        folded = _APOSTROPHE.sub(" ", "".join(folded_chars))
        self.words: list[str] = []
        self.capitalised: list[bool] = []
        self.sentence_start: list[bool] = []
        self.possessive: list[bool] = []
        self.opens_quote: list[bool] = []
        self.closes_quote: list[bool] = []
        previous_end = 0
        for match in _TOKEN.finditer(folded):
            self.words.append(match.group())
            first, last = origin[match.start()], origin[match.end() - 1]
            self.capitalised.append(source[first].isupper())
            self.possessive.append(_POSSESSIVE.match(text, last + 1) is not None)
            self.opens_quote.append(first > 0 and text[first - 1] in _OPENING_QUOTES)
            # a title's own "!" or "?" may stand before the mark ("“BOSH!”")
            after = text[last + 1 : last + 3].lstrip("!?")
            self.closes_quote.append(after[:1] in _CLOSING_QUOTES)
            gap = folded[previous_end : match.start()]
            self.sentence_start.append(previous_end == 0 or any(c in ".!?\n" for c in gap))
            previous_end = match.end()
        self.joined = " ".join(self.words)
        self.word_set = frozenset(self.words)
        # character offset of each word in `joined`, to map fuzzy alignments back to words
        self._starts: list[int] = []
        offset = 0
        for word in self.words:
            self._starts.append(offset)
            offset += len(word) + 1

    def word_span(self, start: int, end: int) -> range:
        first = max(0, bisect_right(self._starts, start) - 1)
        last = bisect_right(self._starts, max(start, end - 1))
        return range(first, last)

    def quoted(self, span: range) -> bool:
        """The words are all there is between quotation marks ("‘Germinal’")."""
        return self.opens_quote[span.start] and self.closes_quote[span.stop - 1]

    def credits_work(self, start: int, end: int) -> bool:
        """The name in words [start, end) is a work's writer: "Chomsky's (new) book",
        "a (short) study by Chomsky"."""
        if self.possessive[end - 1]:
            after = self.words[end : end + _WORK_WORD_GAP + 1]
            if any(word in _WORK_WORDS for word in after):
                return True
        if start >= 2 and self.words[start - 1] == "by":
            before = self.words[max(0, start - 2 - _WORK_WORD_GAP) : start - 1]
            return any(word in _WORK_WORDS for word in before)
        return False

    def part_of_other_name(self, start: int, stop: int) -> bool:
        """A capitalised neighbour makes the words [start, stop) part of a longer name
        ("Muhammad Ali"), but not across a possessive ("Galeano's Open Veins")."""
        before = (
            start > 0
            and self.capitalised[start - 1]
            and not self.sentence_start[start]
            and not self.possessive[start - 1]
        )
        after = stop < len(self.words) and self.capitalised[stop] and not self.possessive[stop - 1]
        return before or after


def fold(text: str) -> str:
    """Lower case without accents, as titles, names and articles are compared: "Dikötter"
    and "Dikotter" read the same."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words_of(text: str) -> list[str]:
    """A title's or a name's folded words, a possessive's "s" dropped."""
    return _TOKEN.findall(_APOSTROPHE.sub(" ", _POSSESSIVE.sub("", fold(text))))
