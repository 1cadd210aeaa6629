import pytest

from services.recommendation.books import IndexedBook
from services.recommendation.genres import is_imaginative, speaks_of_literature


@pytest.mark.parametrize(
    "text",
    [
        "Shelley's verses on Peterloo were read aloud at the rally.",
        "The Swedish inspector who made noir a world genre: detective fiction from Ystad.",
        "Her first novel sold out in a week.",
        "The POETS of the trenches.",
        "Library cuts: where will children’s books be borrowed now?",
        "A picture-book life of Rosa Parks.",
    ],
)
def test_articles_about_imaginative_writing_are_recognised(text: str) -> None:
    assert speaks_of_literature(text)


@pytest.mark.parametrize(
    "text",
    [
        "Tube drivers walked out over pensions; the union says the story is not over.",
        "Settlers uproot olive groves near Nablus as the harvest begins.",
        "The report's figures tell a novelty of a kind: pay fell for the tenth month.",
        "Children's centres close as the council cuts another £2m.",
    ],
)
def test_news_that_never_speaks_of_such_writing_is_not(text: str) -> None:
    assert not speaks_of_literature(text)


def test_fiction_poetry_and_childrens_books_are_imaginative_and_history_is_not() -> None:
    def filed(*subjects: str) -> IndexedBook:
        return IndexedBook(isbn13="9780000000001", title="A Book", subjects=subjects)

    assert is_imaginative(filed("crime-fiction", "trade-unions"))
    assert is_imaginative(filed("poetry"))
    assert is_imaginative(filed("children", "black-history"))
    assert not is_imaginative(filed("trade-unions", "labour-history"))
