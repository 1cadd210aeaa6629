"""The catalogue's pure rules: search terms, query recognition, availability wording, stock takes."""

from __future__ import annotations

import pytest

from services.catalogue.domain import (
    TermKind,
    availability_label,
    merge_quantities,
    normalise,
    parse_query,
    prefix_bounds,
    prefix_mask,
    search_terms,
    stock_differences,
    words_mask,
)


def test_normalise_folds_case_accents_apostrophes_and_punctuation() -> None:
    assert normalise("  Rosa Luxemburg's  Letters ") == "rosa luxemburgs letters"
    assert normalise("V.I. Lenin") == "v i lenin"
    assert normalise("Frantz Fanon — Les Damnés") == "frantz fanon les damnes"


def test_a_prefix_range_holds_exactly_the_terms_that_start_with_the_prefix() -> None:
    low, high = prefix_bounds("imp")
    inside = ["imp", "imperialism", "imp z", "impzzzz"]
    outside = ["im", "imo", "ina", "i"]
    assert all(low <= term < high for term in inside)
    assert not any(low <= term < high for term in outside)


def test_a_words_mask_has_the_bits_of_every_prefix_of_every_word_and_fits_a_bigint() -> None:
    words = ["road", "to", "wigan", "pier", "george", "orwell", "1984", "x"]
    mask = words_mask(words)
    assert 0 < mask < 2**63
    for word in words:
        for end in range(1, len(word) + 1):
            assert mask & prefix_mask(word[:end]) == prefix_mask(word[:end])
    # First characters are exact: no word starts with "b", "z" or "5".
    for absent in ("b", "z", "5"):
        assert mask & prefix_mask(absent) != prefix_mask(absent)
    assert words_mask([]) == 0


def test_search_terms_keep_titles_whole_authors_from_each_name_and_every_word() -> None:
    terms = search_terms(
        isbn13="9798463348616",
        title="The Road to Wigan Pier",
        subtitle=None,
        authors=["George Orwell", "V.I. Lenin"],
    )
    assert (TermKind.ISBN, "9798463348616") in terms
    assert (TermKind.TITLE, "the road to wigan pier") in terms
    assert (TermKind.TITLE, "road to wigan pier") in terms  # found without its article
    assert {(TermKind.AUTHOR, "george orwell"), (TermKind.AUTHOR, "orwell")} <= terms
    assert (TermKind.AUTHOR, "lenin") in terms
    assert (TermKind.AUTHOR, "i lenin") not in terms  # an initial does not start a name
    assert {(TermKind.WORD, "wigan"), (TermKind.WORD, "orwell")} <= terms


def test_a_whole_isbn_in_any_form_is_an_exact_lookup() -> None:
    assert parse_query("979-8-4633-4861-6").exact_isbn == "9798463348616"
    assert parse_query("ISBN 0-14-044913-2").exact_isbn == "9780140449136"
    assert parse_query(" 9798463348616 ").text == ""


def test_a_scanned_barcode_with_a_price_add_on_is_the_book() -> None:
    assert parse_query("979846334861651299").exact_isbn == "9798463348616"


def test_partial_digits_look_up_isbn_beginnings_and_still_search_words() -> None:
    query = parse_query("979846")
    assert query.exact_isbn is None
    assert "979846" in query.isbn_prefixes
    as_title = parse_query("1984")
    assert as_title.isbn_prefixes == ("9781984",)  # the start of an ISBN-10
    assert as_title.text == "1984"  # and Orwell's title
    assert parse_query("97").isbn_prefixes == ()  # too short to narrow anything


def test_words_are_words() -> None:
    query = parse_query("Callinicos imp")
    assert not query.is_isbn_lookup
    assert query.words == ["callinicos", "imp"]
    assert parse_query("   ").is_empty


@pytest.mark.parametrize(
    ("available", "label"),
    [
        (0, "Out of stock"),
        (-1, "Out of stock"),
        (1, "Only 1 left"),
        (3, "Only 3 left"),
        (4, "In stock"),
    ],
)
def test_availability_wording(available: int, label: str) -> None:
    assert availability_label(available) == label


def test_stock_take_differences_only_for_books_whose_count_differs() -> None:
    differences = stock_differences({"a": 5, "b": 2, "c": 0}, {"a": 5, "b": 3, "c": 1})
    assert differences == {"b": (3, 2), "c": (1, 0)}


def test_lines_for_the_same_book_are_added_and_sorted_by_isbn() -> None:
    merged = merge_quantities([("979b", 1), ("979a", 2), ("979b", 3)])
    assert list(merged.items()) == [("979a", 2), ("979b", 4)]
