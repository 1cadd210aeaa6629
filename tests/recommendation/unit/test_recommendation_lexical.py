import numpy as np
import pytest

from services.recommendation.books import IndexedBook
from services.recommendation.lexical import LexicalAnalyser, LexicalIndex, book_document

DOCS = [
    "Strikes: why workers walk out and how employers respond",
    "The Kitchen Diaries: recipes through the seasons",
    "Fossil Capital: steam power and the roots of global warming",
]


def test_analyser_stems_and_drops_stop_words() -> None:
    assert LexicalAnalyser().tokens("The Strikers were striking for the workers") == [
        "striker",
        "were",
        "strike",
        "worker",
    ]


def test_bm25_ranks_the_book_sharing_the_articles_terms() -> None:
    index = LexicalIndex(DOCS)

    scores = index.scores("Thousands of workers strike over pay", len(DOCS))

    assert int(np.argmax(scores)) == 0
    assert scores[1] == 0


def test_book_document_reads_every_field_subjects_as_words() -> None:
    book = IndexedBook(
        isbn13="9798672639963",
        title="Fossil Capital",
        subtitle="The Rise of Steam Power",
        authors=("Andreas Malm",),
        subjects=("climate-ecology",),
        description="Coal and the cotton mills.",
    )
    document = book_document(book)

    for part in ("Fossil Capital", "Steam Power", "Andreas Malm", "climate ecology", "cotton"):
        assert part in document


def test_overlay_document_is_scored_against_the_built_index() -> None:
    index = LexicalIndex(DOCS)
    index.set_overlay(3, "Glorious Summer: miners' flying pickets and strike victories")

    scores = index.scores("flying pickets at the miners' strike", 4)

    assert int(np.argmax(scores)) == 3
    assert index.overlay_size == 1


def test_overlay_scores_a_document_as_the_built_index_does() -> None:
    index = LexicalIndex(DOCS)
    index.set_overlay(3, DOCS[0])

    scores = index.scores("workers strike and walk out", 4)

    assert scores[3] == pytest.approx(scores[0], rel=1e-5)


REPEATS_DOCS = [
    "A novel told by a union official's driver",
    "Pensions, ballots and the right to strike",
    "Recipes through the seasons",
]
# one word said four times against three words said once each
REPEATING_QUERY = "driver driver driver driver pensions ballot strike"


def test_a_repeated_query_word_counts_less_than_as_many_different_words() -> None:
    index = LexicalIndex(REPEATS_DOCS)

    scores = index.scores(REPEATING_QUERY, len(REPEATS_DOCS))

    assert int(np.argmax(scores)) == 1


def test_plain_bm25_counts_every_repeat() -> None:
    index = LexicalIndex(REPEATS_DOCS, damp_repeats=False)

    scores = index.scores(REPEATING_QUERY, len(REPEATS_DOCS))

    assert int(np.argmax(scores)) == 0


def test_overlay_damps_repeats_as_the_built_index_does() -> None:
    index = LexicalIndex(REPEATS_DOCS)
    index.set_overlay(3, REPEATS_DOCS[0])

    scores = index.scores(REPEATING_QUERY, 4)

    assert scores[3] == pytest.approx(scores[0], rel=1e-5)
