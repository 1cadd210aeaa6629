"""The form that adds a book, or corrects a book's details: what staff type, checked by the
rules every import's records go through (`imports.records.check_book`), so a book added here
is held to what an imported one is. Each problem is said beside its field, and what was typed
is kept to correct."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.catalogue.imports.records import check_book
from services.catalogue.schemas import BookCreate, BookRead, BookUpdate
from services.catalogue.staff_pages import forms
from shared.errors import InvalidInput, ShopError
from shared.web import sentence

# The details a correction changes: not the ISBN (another ISBN is another book), and not the
# stock, which moves only through the ledger (goods in, adjustments).
DETAILS = (
    "title",
    "subtitle",
    "authors",
    "publisher",
    "year",
    "format",
    "price_pence",
    "subjects",
    "description",
)
# The record's keys the form names otherwise: the ISBN as typed, the price in pounds.
_FIELD_OF_KEY = {"isbn13": "isbn", "price_pence": "price"}
# The form's fields, in the order the page shows them.
FIELDS = ("isbn", *(_FIELD_OF_KEY.get(key, key) for key in DETAILS))
# More than any field may hold: what is too long is said by the rules, not cut off unseen.
MAX_TYPED = 25_000
_NAME_SEPARATORS = re.compile(r"[,;]")


class FormInvalid(InvalidInput):
    """Fields the rules refuse; `errors` says what is wrong with each, by field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("Please correct the fields marked below.")
        self.errors = dict(errors)


@dataclass(frozen=True)
class BookForm:
    """The form as typed, by field; each field's problem, and one about the whole form (the
    book is in the catalogue already, or was changed meanwhile)."""

    typed: Mapping[str, str]
    errors: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> BookForm:
        typed = {name: forms.text(data, name, limit=MAX_TYPED) for name in FIELDS}
        # Unstripped: a line break in them says the names are one a line (names).
        for name in ("authors", "subjects"):
            typed[name] = str(data.get(name) or "")[:MAX_TYPED]
        return cls(typed=typed)

    @classmethod
    def of_book(cls, book: BookRead) -> BookForm:
        """The book's details as the form shows them to correct: a name a line, each ended
        by its line break, so that one name holding a comma is read back as one."""
        return cls(
            typed={
                "isbn": book.isbn13,
                "title": book.title,
                "subtitle": book.subtitle or "",
                "authors": "".join(f"{author}\n" for author in book.authors),
                "publisher": book.publisher or "",
                "year": "" if book.year is None else str(book.year),
                "format": book.format or "",
                "price": forms.pounds(book.price_pence),
                "subjects": "".join(f"{subject}\n" for subject in book.subjects),
                "description": book.description,
            }
        )

    def refused(self, error: ShopError, *, problem: str | None = None) -> BookForm:
        """The form as typed, with why it was refused: each field's problem when the rules
        refused fields, and `problem` (else the error's message) about the whole."""
        errors = error.errors if isinstance(error, FormInvalid) else {}
        return BookForm(typed=self.typed, errors=errors, problem=problem or error.message)

    @property
    def first_error(self) -> str | None:
        """The first field, in the page's order, that has a problem: where the cursor goes."""
        return next((name for name in FIELDS if name in self.errors), None)


def new_book(form: BookForm) -> BookCreate:
    """The book the form adds (no stock: goods in receives it), or FormInvalid."""
    return _checked(form, isbn=form.typed.get("isbn", ""))


def corrected_details(form: BookForm, *, isbn13: str) -> BookUpdate:
    """Every one of the book's DETAILS as the form gives them (a blank one is cleared), or
    FormInvalid."""
    book = _checked(form, isbn=isbn13)
    return BookUpdate(**{name: getattr(book, name) for name in DETAILS})


def names(typed: str) -> list[str]:
    """Authors or subjects as typed: one a line, or on one line separated by commas (or by
    semicolons, as in an import's CSV cell)."""
    parts = typed.splitlines() if "\n" in typed or "\r" in typed else _NAME_SEPARATORS.split(typed)
    return [part.strip() for part in parts if part.strip()]


def _checked(form: BookForm, *, isbn: str) -> BookCreate:
    typed = form.typed
    errors: dict[str, str] = {}
    price: int | None = None
    if typed.get("price"):
        try:
            price = forms.pounds_to_pence(typed["price"])
        except InvalidInput as error:
            errors["price"] = _as_said(error.message)
    checked = check_book(
        {
            "isbn13": isbn,
            "title": typed.get("title"),
            "subtitle": typed.get("subtitle"),
            "authors": names(typed.get("authors", "")),
            "publisher": typed.get("publisher"),
            "year": typed.get("year"),
            "format": typed.get("format"),
            "price_pence": price,
            "subjects": names(typed.get("subjects", "")),
            "description": typed.get("description"),
        }
    )
    if isinstance(checked, BookCreate) and not errors:
        return checked
    problems = {} if isinstance(checked, BookCreate) else checked
    for key, problem in problems.items():
        # An import's messages name its file's column ("missing ISBN (isbn13)"): not here.
        errors.setdefault(_FIELD_OF_KEY.get(key, key), _as_said(problem.replace(f" ({key})", "")))
    raise FormInvalid(errors)


def _as_said(problem: str) -> str:
    """A problem as a sentence beside its field: "missing title" as "Missing title."."""
    return sentence(problem[:1].upper() + problem[1:])
