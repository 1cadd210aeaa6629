"""The words a reason shows: shared with the article, rare, and about the book."""

from collections.abc import Sequence

import numpy as np

from services.recommendation.books import IndexedBook
from services.recommendation.lexical import LexicalIndex, book_document
from services.recommendation.reasons import reason_for, telling_terms

BOOK = IndexedBook(
    isbn13="9780000000001",
    title="The Comintern",
    authors=("Duncan Hallas",),
    subjects=("stalinism",),
    description="How the communist international became an arm of Stalin's foreign policy.",
)
OTHERS = [
    IndexedBook(isbn13=f"978000000010{n}", title=f"Book {n}", description="Workers and history.")
    for n in range(5)
]


class Meanings:
    """Word vectors by hand: the first axis is what the book is about, the second is not."""

    dimensions = 2
    ABOUT = {"communist": 1.0, "international": 0.8, "stalin": 0.6, "became": 0.05}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [[self.ABOUT.get(t, 0.0), 1.0] for t in texts]
        vectors = np.array(rows, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def telling(article: str) -> list[str]:
    books = [BOOK, *OTHERS]
    lexical = LexicalIndex([book_document(b) for b in books])
    terms = lexical.analyser.stems_to_words(article)
    book_vectors = np.array([[1.0, 0.0]] * len(books), dtype=np.float32)
    return telling_terms({0: BOOK}, terms, lexical, Meanings(), book_vectors)[0]


def test_a_shared_word_that_says_nothing_of_the_book_is_left_out() -> None:
    words = telling("The party became a tool of Stalin and the communist international.")
    assert "became" not in words  # as rare in the catalogue as the others, but not about it
    assert words == ["communist", "international", "stalin"]


def test_the_reason_names_the_telling_words_after_the_subject() -> None:
    reason = reason_for(BOOK, None, ["communist", "stalin"], {"stalinism": 0.4})
    assert (
        reason
        == "On stalinism; shares the article's terms \u201ccommunist\u201d, \u201cstalin\u201d."
    )


def test_a_book_with_no_telling_word_or_subject_is_close_in_meaning() -> None:
    assert telling("It became clear.") == []
    assert reason_for(BOOK, None, [], {}) == "Close in meaning to the article."


def test_a_reason_without_subjects_still_reads_as_a_sentence() -> None:
    assert reason_for(BOOK, None, ["communist"], {}) == (
        "Shares the article's terms \u201ccommunist\u201d."
    )
