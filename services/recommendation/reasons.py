"""The reason shown beside each recommended book: the sentence an editor or reader sees.

Kept apart from the ranking because it only puts the ranking's evidence (mentions,
shared terms, the article's closest subjects) into words; changing the wording must
never change an order.
"""

from __future__ import annotations

from services.recommendation.books import IndexedBook
from services.recommendation.lexical import LexicalIndex, book_document
from services.recommendation.mentions import Mention, MentionKind

PINNED_REASON = "Pinned by an editor for this article."
_REASON_TERMS = 4
_REASON_SUBJECTS = 2


def reason_for(
    book: IndexedBook,
    mention: Mention | None,
    terms: dict[str, str],
    affinity: dict[str, float],
    lexical: LexicalIndex,
) -> str:
    """How the article names `book`, if it does, then what the two are about together.

    `terms` maps the article's stems to the words it used for them, `affinity` each
    subject to the article's closeness to it, and `lexical` is the index the article was
    scored on (its analyser and term rarities).
    """
    about = _about(book, terms, affinity, lexical)
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


def _about(
    book: IndexedBook, terms: dict[str, str], affinity: dict[str, float], lexical: LexicalIndex
) -> str:
    subjects = sorted((s for s in book.subjects if s in affinity), key=lambda s: -affinity[s])[
        :_REASON_SUBJECTS
    ]
    shared = [stem for stem in set(lexical.analyser.tokens(book_document(book))) if stem in terms]
    shared.sort(key=lambda stem: -lexical.idf(stem))
    parts = []
    if subjects:
        parts.append("On " + " and ".join(s.replace("-", " ") for s in subjects))
    if shared:
        words = ", ".join(f"\u201c{terms[s]}\u201d" for s in shared[:_REASON_TERMS])
        parts.append(f"shares the article's terms {words}")
    if not parts:
        return "Close in meaning to the article."
    return "; ".join(parts) + "."
