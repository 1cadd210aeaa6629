"""Lexical stage: BM25 (bm25s) over a book's title, subtitle, authors, subjects and description.

bm25s builds a static index. Books changed after the build are scored by the same
BM25 formula, against the built index's document frequencies, from a small overlay,
so one changed description does not rebuild the index; the ranker compacts the
overlay into a fresh build once it grows.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_EN_PLUS

from services.recommendation.article_words import fold
from services.recommendation.books import IndexedBook

# bm25s sets its logger to DEBUG when imported and logs every index build: that would fill a
# command's output (wordllama's import gives the root logger a handler) and the services' logs.
logging.getLogger("bm25s").setLevel(logging.WARNING)

_WORD = re.compile(r"[a-z0-9]+")
# bm25s's short English list ranks best; its longer one also drops words like "about",
# "where", "own", which rank harmlessly but make poor reasons to show a person
_STOPWORDS = frozenset(STOPWORDS_EN) | {"s", "t"}
_NOT_WORTH_SHOWING = frozenset(STOPWORDS_EN_PLUS) | _STOPWORDS
# bm25s's defaults ("lucene" BM25, whose term weight has no (k1 + 1) factor); the overlay
# uses the same formula, so a re-described book scores as it would after a rebuild
_K1 = 1.5
_B = 0.75


class LexicalAnalyser:
    """Words -> English stems, stop words dropped. One instance per index (Stemmer is stateful)."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")

    def tokens(self, text: str) -> list[str]:
        return self._stemmer.stemWords(self._words(text))

    def stems_to_words(self, text: str) -> dict[str, str]:
        """Each telling stem in `text` and the first word that gave it, to show people words."""
        words = [w for w in self._words(text) if w not in _NOT_WORTH_SHOWING and len(w) > 2]
        out: dict[str, str] = {}
        for word, stem in zip(words, self._stemmer.stemWords(words), strict=True):
            out.setdefault(stem, word)
        return out

    def _words(self, text: str) -> list[str]:
        return [w for w in _WORD.findall(fold(text)) if w not in _STOPWORDS]


def book_document(book: IndexedBook) -> str:
    """The text BM25 sees for a book."""
    return " \n".join(
        part
        for part in (
            book.title,
            book.subtitle or "",
            " ".join(book.authors),
            book.subject_words,
            book.description,
        )
        if part
    )


class LexicalIndex:
    """BM25 scores for every indexed position; positions are the ranker's row numbers.

    With `damp_repeats` (the default) a word the query repeats weighs 1 + ln(repeats)
    rather than `repeats`. An article is a long query: plain BM25 gives a word said three
    times thrice the weight of one said once, so an incidental word an article keeps
    using (a place, a job) lifted a book that happens to share it over the books that
    share several of its words. `damp_repeats=False` is plain BM25 (the baseline).
    """

    def __init__(self, documents: Sequence[str], *, damp_repeats: bool = True) -> None:
        self._damp_repeats = damp_repeats
        self._analyser = LexicalAnalyser()
        corpus = [self._analyser.tokens(doc) for doc in documents]
        self._n_built = len(corpus)
        self._doc_freq: Counter[str] = Counter()
        for tokens in corpus:
            self._doc_freq.update(set(tokens))
        self._avg_len = (sum(map(len, corpus)) / len(corpus)) if corpus else 1.0
        self._retriever = bm25s.BM25(k1=_K1, b=_B)
        # bm25s cannot index an empty corpus; an empty shop scores nothing
        if corpus:
            self._retriever.index(corpus, show_progress=False)
        self._overlay: dict[int, Counter[str]] = {}

    @property
    def size(self) -> int:
        return self._n_built + len(self._overlay)

    @property
    def overlay_size(self) -> int:
        return len(self._overlay)

    @property
    def analyser(self) -> LexicalAnalyser:
        return self._analyser

    def idf(self, token: str) -> float:
        df = self._doc_freq.get(token, 0)
        return math.log(1 + (max(self._n_built, 1) - df + 0.5) / (df + 0.5))

    def set_overlay(self, position: int, document: str) -> None:
        """Score `position` from `document` from now on (a new or re-described book)."""
        self._overlay[position] = Counter(self._analyser.tokens(document))

    def scores(self, query: str, n_positions: int) -> np.ndarray:
        """BM25 score of every position below `n_positions` (0 for none and tombstones)."""
        repeats = Counter(self._analyser.tokens(query))
        out = np.zeros(n_positions, dtype=np.float32)
        if self._n_built:
            # bm25s weighs every query word alike, so words are scored in groups that
            # share a weight: as many groups as distinct repeat counts, a handful
            by_repeats: defaultdict[int, list[str]] = defaultdict(list)
            for token, count in repeats.items():
                if token in self._retriever.vocab_dict:
                    by_repeats[count].append(token)
            for count, tokens in by_repeats.items():
                out[: self._n_built] += self._query_weight(count) * self._retriever.get_scores(
                    tokens
                )
        for position, counts in self._overlay.items():
            out[position] = self._overlay_score(repeats, counts)
        return out

    def _query_weight(self, repeats: int) -> float:
        return 1 + math.log(repeats) if self._damp_repeats else float(repeats)

    def _overlay_score(self, query: Counter[str], counts: Counter[str]) -> float:
        length = sum(counts.values())
        norm = _K1 * (1 - _B + _B * length / self._avg_len)
        score = 0.0
        for token, repeats in query.items():
            tf = counts.get(token, 0)
            if tf:
                weight = self._query_weight(repeats)
                score += weight * self.idf(token) * tf / (tf + norm)
        return score
