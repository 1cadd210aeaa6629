"""How often a book an article names comes first, by the way the article names it.

    uv run python benchmarks/recommendation_mentions.py [--books B.jsonl]

For every book whose author has no other book in the catalogue (so "the author's book" is
that one), short articles are made that name it one way each, between sentences that say
nothing of any subject: its title with its author; its title alone, bare and in quotation
marks; its title a letter wrong beside its author; its title a small word short; its first words after its author's
surname ("Galeano's Open Veins"); its author credited with a work on its first subject
("Noam Chomsky's book on war peace..."), in full and by a surname no other author has;
its author in full, speaking on its subject with no work named ("Noam Chomsky spoke about
war peace to the rally").
Each is ranked by the full pipeline and counted when the book comes first, and when it is
in the top five.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from services.recommendation.books import IndexedBook, read_books
from services.recommendation.ranking import Ranker

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
OPENING = "It was a cold evening and the hall was full."
SMALL_WORDS = frozenset(["a", "an", "and", "for", "from", "in", "of", "on", "the", "to"])
CLOSING = (
    "People stayed long after the last speaker had finished. Tickets for the next one are selling."
)


def misspelt(title: str) -> str | None:
    """The title with the middle letter of its longest word dropped, if that word is long
    enough to be told from another word (five letters or more)."""
    words = title.split()
    longest = max(range(len(words)), key=lambda i: len(re.sub(r"\W", "", words[i])))
    word = words[longest]
    if len(re.sub(r"\W", "", word)) < 6:
        return None
    middle = len(word) // 2
    words[longest] = word[:middle] + word[middle + 1 :]
    return " ".join(words)


def small_word_dropped(title: str) -> str | None:
    """The title without a small word after its first ("The History of Russian
    Revolution"), a "the" or "a" if it has one, as people misremember titles; titles of
    three words or more beside the small ones (two words a small word apart, "Border
    Rule", are too like any two words to be read as a title)."""
    words = title.split()
    if sum(w.lower() not in SMALL_WORDS for w in words) < 3:
        return None
    inner = [i for i, w in enumerate(words) if i > 0 and w.lower() in SMALL_WORDS]
    if not inner:
        return None
    articles = [i for i in inner if words[i].lower() in ("the", "a", "an")]
    del words[(articles or inner)[0]]
    return " ".join(words)


def shorthand(title: str) -> str | None:
    """What people call a long title (three words or more beside "the", "of"...): its
    first word or two, without a leading article ("Open Veins", "History")."""
    words = title.split()
    if words[0].lower() in ("the", "a", "an"):
        words = words[1:]
    content = [w for w in words if w.lower() not in SMALL_WORDS]
    if len(content) < 3:
        return None
    return " ".join(words[:2]) if words[1].lower() not in SMALL_WORDS else words[0]


def surname(book: IndexedBook) -> str:
    """The surname of the book's first author, as the article says it."""
    return book.authors[0].split()[-1]


def subject_words(book: IndexedBook) -> str:
    return book.subjects[0].replace("-", " ") if book.subjects else "its subject"


FORMS: dict[str, Callable[[IndexedBook, Counter[str]], str | None]] = {
    "title with its author": lambda b, _: f'As {b.authors[0]} argues in "{b.title}", it is clear.',
    "title alone": lambda b, _: f"{b.title} remains the best place to start.",
    "title alone, in quotation marks": lambda b, _: (
        f"\u201c{b.title}\u201d remains the best place to start."
    ),
    "title a letter wrong, with its author": lambda b, _: (
        None
        if (wrong := misspelt(b.title)) is None
        else f"As {b.authors[0]} argues in {wrong}, it is clear."
    ),
    "title a small word short": lambda b, _: (
        None
        if (short := small_word_dropped(b.title)) is None
        else f"{short} remains the best place to start."
    ),
    "its first words after its author's surname": lambda b, surnames: (
        None
        if surnames[surname(b)] > 1 or (short := shorthand(b.title)) is None
        else f"{surname(b)}'s {short} is still worth reading."
    ),
    "author in full, speaking on its subject (no work named)": lambda b, _: (
        f"{b.authors[0]} spoke about {subject_words(b)} to the rally."
    ),
    "author in full, credited with a work on its subject": lambda b, _: (
        f"{b.authors[0]}'s book on {subject_words(b)} is the place to start."
    ),
    "surname, credited with a work on its subject": lambda b, surnames: (
        None
        if surnames[surname(b)] > 1
        else f"{surname(b)}'s book on {subject_words(b)} is the place to start."
    ),
}


def sole_books(books: Iterable[IndexedBook]) -> list[IndexedBook]:
    """Books whose first author wrote no other book in the catalogue."""
    books = list(books)
    by_author = Counter(author for book in books for author in book.authors)
    return [b for b in books if b.authors and by_author[b.authors[0]] == 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=Path, default=DATA / "books.jsonl")
    args = parser.parse_args()

    books = read_books(args.books)
    ranker = Ranker(books)
    surnames = Counter(name.split()[-1] for name in {a for b in books for a in b.authors})
    table = Table(title="Named books first, by how the article names them")
    for column in ("how the article names it", "articles", "first", "in the top 5"):
        table.add_column(column, justify="left" if column.startswith("how") else "right")
    for form, write in FORMS.items():
        counts = Counter[str]()
        for book in sole_books(books):
            sentence = write(book, surnames)
            if sentence is None:
                continue
            ranked = [r.isbn13 for r in ranker.recommend(f"{OPENING} {sentence} {CLOSING}", k=5)]
            counts["articles"] += 1
            counts["first"] += ranked[:1] == [book.isbn13]
            counts["top 5"] += book.isbn13 in ranked
        n = counts["articles"]
        table.add_row(
            form,
            str(n),
            f"{counts['first']} ({counts['first'] / n:.0%})",
            f"{counts['top 5']} ({counts['top 5'] / n:.0%})",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
