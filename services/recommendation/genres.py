"""Which books are imaginative writing, and which articles talk about such writing.

A news report on a strike or a land grab is best served by the history and argument on its
subject; a novel or a book of poems on the same subject is what a reader of a piece about
novels or poems wants. In the public judged set and in both of ours, fiction, poetry and
children's books were graded above 1 only for articles that speak of writing of that kind,
while our ranking had put a novel, poems or a children's book in the top five of eight
others.
"""

from __future__ import annotations

import re

from services.recommendation.books import IndexedBook

IMAGINATIVE_SUBJECTS = frozenset({"fiction", "crime-fiction", "poetry", "children"})
# words that tell an article is about writing of that kind; "story" and "book" are not
# among them: news reports tell stories and cite books of every kind
_LITERARY_WORDS = frozenset(
    {
        "author", "authors", "detective", "detectives", "fiction", "fictional",
        "illustrator", "literary", "literature", "novel", "novelist", "novelists",
        "novels", "playwright", "poem", "poems", "poet", "poetry", "poets", "stories",
        "storyteller", "tale", "tales", "verse", "verses",
    }
)  # fmt: skip
_WORD = re.compile(r"[a-z]+")
# books for children are named by phrases whose words alone say nothing
_CHILDRENS_BOOKS = re.compile(r"\bchildren['\u2019]s (?:books?|laureate)\b|\bpicture[ -]books?\b")


def is_imaginative(book: IndexedBook) -> bool:
    return not IMAGINATIVE_SUBJECTS.isdisjoint(book.subjects)


def speaks_of_literature(text: str) -> bool:
    folded = text.casefold()
    return _CHILDRENS_BOOKS.search(folded) is not None or any(
        word in _LITERARY_WORDS for word in _WORD.findall(folded)
    )
