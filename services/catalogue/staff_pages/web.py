"""What the stock pages share: their base controller (path, role, no caching), rendering,
redirects, lists cut short and the form and query types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, NamedTuple, TypeVar
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from services.catalogue.staff_pages.submissions import Submissions
from shared.auth.guards import requires
from shared.auth.roles import Role
from shared.auth.sessions import StaffIdentity, current_staff
from shared.shop_time import shop_time

T = TypeVar("T")

Query = Annotated[str, QueryParameter(max_length=200)]
# The forms already acted on (the app's `submissions` dependency).
OnceOnly = NamedDependency[Submissions]
# What a redirect after a change may ask the next page to say (never free text in a URL).
NOTICES = {
    "adjusted": "Stock adjusted: the ledger below shows the change.",
    "saved": "Reorder point saved.",
    "added": "Book added to the catalogue. It has no stock yet: book its copies in through "
    "goods in.",
    "edited": "Details saved.",
    "cleared": "The delivery list was cleared.",
}


class StockArea(Controller):
    """Every stock page: for the stock role (and admin); never cached, they change by the minute."""

    path = "/staff/stock"
    guards = [requires(Role.STOCK)]
    include_in_schema = False
    cache_control = CacheControlHeader(no_store=True)


class Cut(NamedTuple):
    """A list shown only in part, which the page must say (templates/staff/stock/_cut.html)."""

    shown: int
    # None: more than were shown, not counted.
    total: int | None = None


def first_of(rows: Sequence[T], shown: int) -> tuple[Sequence[T], Cut | None]:
    """The first `shown` of rows fetched one past it, and the cut if there were more: one row
    more than a page tells whether a list goes on, where counting them all would cost more."""
    if len(rows) <= shown:
        return rows, None
    return rows[:shown], Cut(shown)


def page(name: str, context: dict[str, Any], status_code: int = 200) -> Template:
    """A template of templates/staff/stock/, with `when` to show times in the shop's time."""
    return Template(
        template_name=f"staff/stock/{name}",
        context={"when": shop_time, **context},
        status_code=status_code,
        media_type=MediaType.HTML,
    )


def see_other(path: str, **query: str) -> Redirect:
    target = f"{path}?{urlencode(query)}" if query else path
    return Redirect(target, status_code=HTTP_303_SEE_OTHER)


def staff_of(request: Request[Any, Any, Any]) -> StaffIdentity:
    staff = current_staff(request)
    assert staff is not None  # the area's guard let only the signed-in through
    return staff


def book_path(isbn13: str) -> str:
    return f"/staff/stock/books/{isbn13}"
