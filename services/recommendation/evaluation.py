"""How good the rankings are: metrics against graded judgements, and the batch/eval runners.

Judgements (`gold`) grade books 3 (the article names it, or it is plainly *the* book),
2 (highly relevant) or 1 (relevant); books not listed count 0. An article without a relevant
book (no `gold`, or an empty one) has no figures to give, so it is left out of the averages.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np

from services.recommendation.books import IndexedBook, read_json_lines
from services.recommendation.cleaning import CleanArticle, clean_parts
from services.recommendation.lexical import LexicalIndex, book_document
from services.recommendation.ranking import Ranker
from services.recommendation.ranking_config import RankerConfig
from services.recommendation.semantic import Embedder, minilm_embedder, wordllama_embedder

NDCG_DEPTH = 5
RECALL_DEPTH = 10


class GoldBook(msgspec.Struct, frozen=True):
    isbn13: str
    grade: int


class Article(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    headline: str = ""
    paragraphs: tuple[str, ...] = ()
    text: str | None = None
    """Raw pasted text or HTML, instead of headline and paragraphs."""
    gold: tuple[GoldBook, ...] = ()

    def grades(self) -> dict[str, int]:
        return {g.isbn13: g.grade for g in self.gold}

    @property
    def judged(self) -> bool:
        """Some book is graded relevant: without one, every ranking scores 0 on every measure."""
        return any(g.grade > 0 for g in self.gold)


_ARTICLE = msgspec.json.Decoder(Article)


class NothingToScore(Exception):
    """No article has judgements, so no figure can be computed."""


def read_articles(path: Path) -> list[Article]:
    return read_json_lines(path, _ARTICLE.decode)


def clean_input(article: Article) -> str | CleanArticle:
    if article.text is not None:
        return article.text
    return clean_parts(article.headline, article.paragraphs)


# -- metrics ---------------------------------------------------------------------------


def ndcg_at(ranked: Sequence[str], grades: Mapping[str, int], depth: int = NDCG_DEPTH) -> float:
    """nDCG with gain 2^grade - 1 and log2 discount; 0 for an article without judgements."""
    dcg = sum(
        (2 ** grades.get(isbn, 0) - 1) / math.log2(rank + 2)
        for rank, isbn in enumerate(ranked[:depth])
    )
    ideal = sorted(grades.values(), reverse=True)[:depth]
    idcg = sum((2**grade - 1) / math.log2(rank + 2) for rank, grade in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], grades: Mapping[str, int], depth: int = RECALL_DEPTH) -> float:
    relevant = {isbn for isbn, grade in grades.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:depth])) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], grades: Mapping[str, int]) -> float:
    for rank, isbn in enumerate(ranked):
        if grades.get(isbn, 0) > 0:
            return 1.0 / (rank + 1)
    return 0.0


@dataclass
class Report:
    """The figures for one ranking method over an article set."""

    name: str
    ndcg: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    rr: list[float] = field(default_factory=list)
    grade3_first: list[bool] = field(default_factory=list)
    """One entry per article that has a grade-3 book: is the first result grade 3?"""
    misses: dict[str, list[str]] = field(default_factory=dict)
    unjudged: list[str] = field(default_factory=list)
    """Ids of the articles left out of the figures: they have no relevant book to find."""

    def add(self, article_id: str, ranked: Sequence[str], grades: Mapping[str, int]) -> None:
        self.ndcg.append(ndcg_at(ranked, grades))
        self.recall.append(recall_at(ranked, grades))
        self.rr.append(reciprocal_rank(ranked, grades))
        if 3 in grades.values():
            self.grade3_first.append(bool(ranked) and grades.get(ranked[0], 0) == 3)
        missing = [
            f"{isbn} (grade {grade})"
            for isbn, grade in sorted(grades.items(), key=lambda item: -item[1])
            if grade > 0 and isbn not in ranked[:NDCG_DEPTH]
        ]
        if missing:
            self.misses[article_id] = missing

    def summary(self) -> dict[str, float]:
        return {
            "ndcg@5": _mean(self.ndcg),
            "recall@10": _mean(self.recall),
            "mrr": _mean(self.rr),
            "grade3_first": _mean([float(x) for x in self.grade3_first]),
            "articles": float(len(self.ndcg)),
            "unjudged": float(len(self.unjudged)),
        }


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


# -- runners ---------------------------------------------------------------------------

Rank = Callable[[Article], list[str]]


def pipeline_ranker(
    books: Sequence[IndexedBook], *, k: int = RECALL_DEPTH, config: RankerConfig | None = None
) -> tuple[Ranker, Rank]:
    """The full pipeline over a throwaway in-memory index of `books`."""
    ranker = Ranker(books, config=config)

    def rank(article: Article) -> list[str]:
        return [r.isbn13 for r in ranker.recommend(clean_input(article), k=k)]

    return ranker, rank


def bm25_baseline(books: Sequence[IndexedBook], *, k: int = RECALL_DEPTH) -> Rank:
    """Plain BM25: headline and text against title, subtitle, authors, subjects, description."""
    index = LexicalIndex([book_document(b) for b in books], damp_repeats=False)
    isbns = [b.isbn13 for b in books]

    def rank(article: Article) -> list[str]:
        scores = index.scores(_plain_text(article), len(books))
        return [isbns[i] for i in np.argsort(-scores, kind="stable")[:k]]

    return rank


def embedding_baseline(
    books: Sequence[IndexedBook], model: Embedder, *, k: int = RECALL_DEPTH
) -> Rank:
    """Plain cosine between the whole article and each book's text, one model."""
    vectors = model.embed([book_document(b) for b in books])
    isbns = [b.isbn13 for b in books]

    def rank(article: Article) -> list[str]:
        scores = vectors @ model.embed([_plain_text(article)])[0]
        return [isbns[i] for i in np.argsort(-scores, kind="stable")[:k]]

    return rank


def _plain_text(article: Article) -> str:
    clean = clean_input(article)
    return clean if isinstance(clean, str) else clean.full_text


def evaluate(name: str, rank: Rank, articles: Iterable[Article]) -> Report:
    report = Report(name)
    for article in articles:
        if article.judged:
            report.add(article.id, rank(article), article.grades())
        else:
            report.unjudged.append(article.id)
    return report


Progress = Callable[[Sequence[Article], str], Iterable[Article]]


def run_evaluation(
    books: Sequence[IndexedBook],
    articles: Sequence[Article],
    *,
    progress: Progress = lambda articles, _label: articles,
) -> list[Report]:
    """Each method's report on `articles`: the plain baselines, then the full pipeline.

    The baselines show what each stage adds: BM25 alone, each embedding model alone.
    Articles without judgements are left out of every report; with none judged at all there
    is nothing to score, and NothingToScore says so before any model is loaded.
    """
    if not any(article.judged for article in articles):
        raise NothingToScore(
            f"none of the {len(articles)} articles has a 'gold' list grading a book 1 to 3: "
            "there is nothing to score"
        )
    methods: list[tuple[str, Callable[[], Rank]]] = [
        ("plain BM25", lambda: bm25_baseline(books)),
        ("plain WordLlama", lambda: embedding_baseline(books, wordllama_embedder())),
        ("plain MiniLM", lambda: embedding_baseline(books, minilm_embedder())),
        ("full pipeline", lambda: pipeline_ranker(books)[1]),
    ]
    return [evaluate(name, make(), progress(articles, name)) for name, make in methods]


def batch_lines(ranker: Ranker, articles: Iterable[Article], *, k: int) -> Iterator[str]:
    """One JSON line per article: its id, ranked ISBNs and a reason for each."""
    for article in articles:
        results = ranker.recommend(clean_input(article), k=k)
        yield json.dumps(
            {
                "id": article.id,
                "isbns": [r.isbn13 for r in results],
                "reasons": [r.reason for r in results],
            },
            ensure_ascii=False,
        )
