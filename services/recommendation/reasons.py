"""The reason shown beside each recommended book: the sentence an editor or reader sees.

Kept apart from the ranking because it only puts the ranking's evidence (mentions,
shared terms, the article's closest subjects) into words; changing the wording must
never change an order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from services.recommendation.books import IndexedBook
from services.recommendation.lexical import LexicalIndex, book_document
from services.recommendation.mentions import Mention, MentionKind
from services.recommendation.semantic import Embedder

PINNED_REASON = "Pinned by an editor for this article."
_REASON_TERMS = 4
_REASON_SUBJECTS = 2
# WordLlama cosine between a shared word and the book below which the word says nothing of
# what the book is about ("made", "written", "two": 0.02-0.11; "cobalt", "congo": 0.13-0.18)
_TELLING = 0.12


def telling_terms(
    books: Mapping[int, IndexedBook],
    terms: dict[str, str],
    lexical: LexicalIndex,
    word_model: Embedder,
    book_vectors: np.ndarray,
) -> dict[int, list[str]]:
    """For each book (by its row in `book_vectors`), the article's words it shares that say
    what it is about: rare in the catalogue and close in meaning to the book, best first.

    Rarity alone put words like "became", "led" or "first" first: rare in book descriptions,
    yet telling nothing. `terms` maps the article's stems to the words it used for them.
    """
    shared = {
        position: [
            stem for stem in set(lexical.analyser.tokens(book_document(book))) if stem in terms
        ]
        for position, book in books.items()
    }
    words = sorted({terms[stem] for stems in shared.values() for stem in stems})
    vectors = dict(zip(words, word_model.embed(words), strict=True)) if words else {}
    out: dict[int, list[str]] = {}
    for position, stems in shared.items():
        closeness = {stem: float(vectors[terms[stem]] @ book_vectors[position]) for stem in stems}
        telling = [stem for stem in stems if closeness[stem] >= _TELLING]
        telling.sort(key=lambda stem: (-closeness[stem] * lexical.idf(stem), stem))
        # two stems can show as one town ("palestinian" and "territori": Nablus)
        out[position] = list(dict.fromkeys(terms[stem] for stem in telling))[:_REASON_TERMS]
    return out


def reason_for(
    book: IndexedBook, mention: Mention | None, telling: list[str], affinity: dict[str, float]
) -> str:
    """How the article names `book`, if it does, then what the two are about together.

    `telling` is the article's words the book shares (`telling_terms`), `affinity` each
    subject to the article's closeness to it.
    """
    about = _about(book, telling, affinity)
    if mention is not None and mention.kind == MentionKind.ISBN:
        return f"The article gives this book's ISBN ({mention.evidence}). {about}"
    if mention is not None and mention.kind == MentionKind.TITLE:
        named = "names this book and its author" if mention.with_author else "names this book"
        return f"The article {named}: \u201c{mention.evidence}\u201d. {about}"
    if mention is not None and mention.kind == MentionKind.AUTHOR:
        return (
            f"The article names the author, {mention.evidence}; of their books this one is "
            f"closest to its subject. {about}"
        )
    return about


def _about(book: IndexedBook, telling: list[str], affinity: dict[str, float]) -> str:
    subjects = sorted((s for s in book.subjects if s in affinity), key=lambda s: -affinity[s])[
        :_REASON_SUBJECTS
    ]
    parts = []
    if subjects:
        parts.append("On " + " and ".join(s.replace("-", " ") for s in subjects))
    if telling:
        words = ", ".join(f"\u201c{word}\u201d" for word in telling)
        parts.append(f"shares the article's terms {words}")
    if not parts:
        return "Close in meaning to the article."
    sentence = "; ".join(parts) + "."
    return sentence[0].upper() + sentence[1:]
