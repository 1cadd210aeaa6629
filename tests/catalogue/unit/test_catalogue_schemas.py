"""What the catalogue's schemas refuse: money that is not whole pence, counts below one."""

from __future__ import annotations

import msgspec
import pytest

from services.catalogue.schemas import Adjustment, BookCreate, BookUpdate, Delivery

BOOK = {"isbn13": "9798463348616", "title": "Imperialism", "price_pence": 1999}


def test_a_book_needs_an_isbn_a_title_and_a_price_in_whole_pence() -> None:
    book = msgspec.convert(BOOK, BookCreate)
    assert (book.authors, book.stock, book.reorder_point) == ([], 0, None)


@pytest.mark.parametrize("price", [12.5, "12.99", -1, 19.0, None])
def test_a_price_that_is_not_a_whole_number_of_pence_is_refused(price: object) -> None:
    with pytest.raises(msgspec.ValidationError, match="price_pence"):
        msgspec.convert({**BOOK, "price_pence": price}, BookCreate)


def test_unknown_fields_and_empty_titles_are_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({**BOOK, "prise": 1}, BookCreate)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({**BOOK, "title": ""}, BookCreate)


@pytest.mark.parametrize("quantity", [0, -2])
def test_a_delivery_line_of_zero_or_fewer_copies_is_refused(quantity: int) -> None:
    with pytest.raises(msgspec.ValidationError, match="quantity"):
        msgspec.convert({"lines": [{"isbn13": BOOK["isbn13"], "quantity": quantity}]}, Delivery)


def test_an_adjustment_needs_a_reason() -> None:
    with pytest.raises(msgspec.ValidationError, match="reason"):
        msgspec.convert({"isbn13": BOOK["isbn13"], "change": -1}, Adjustment)


def test_an_update_tells_a_cleared_field_from_one_not_given() -> None:
    update = msgspec.json.decode(b'{"subtitle": null}', type=BookUpdate)
    assert update.subtitle is None
    assert update.title is msgspec.UNSET
