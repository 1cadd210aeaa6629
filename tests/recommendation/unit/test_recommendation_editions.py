from collections.abc import Collection, Sequence

import numpy as np

from services.recommendation.books import IndexedBook
from services.recommendation.editions import one_edition_each


def edition(isbn: str, title: str) -> IndexedBook:
    return IndexedBook(isbn13=isbn, title=title, authors=("A. Writer",))


# positions 0-1 and 2-3 are two editions each of one work; 4 and 5 are works of one edition
BOOKS = [
    edition("9780000000101", "The History"),
    edition("9780000000102", "The History"),
    edition("9780000000103", "Ten Days"),
    edition("9780000000104", "Ten Days"),
    edition("9780000000105", "Russia"),
    edition("9780000000106", "The State"),
]
# the second edition of each two-edition work is the one in stock
AVAILABLE = np.array([0, 4, 0, 2, 1, 1])


def shown(
    ranked: list[int], *, pinned: Sequence[int] = (), named: Collection[int] = ()
) -> list[int]:
    return one_edition_each(ranked, list(pinned), 10, BOOKS, AVAILABLE, named=frozenset(named))


def test_the_first_work_brings_every_edition_in_stock_first() -> None:
    assert shown([0, 4, 1, 5]) == [1, 0, 4, 5]


def test_a_later_work_shows_one_edition_the_in_stock_one() -> None:
    assert shown([4, 2, 0, 3, 1]) == [4, 3, 1]


def test_a_named_work_leaves_the_first_work_after_it_every_edition() -> None:
    assert shown([2, 0, 4, 1, 3, 5], named={2, 3}) == [3, 2, 1, 0, 4, 5]


def test_every_named_work_brings_its_editions_and_then_one_more() -> None:
    assert shown([4, 2, 3, 0, 1, 5], named={4, 2}) == [4, 3, 2, 1, 0, 5]


def test_pins_come_first_and_their_works_are_not_shown_again() -> None:
    assert shown([0, 1, 4, 2, 3], pinned=[5, 1]) == [5, 1, 4, 3]
