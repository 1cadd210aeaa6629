"""The shop's front page: where the header's "Bookshop" and every "Back to the shop" lead."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response
from litestar.di import NamedDependency

from services.catalogue.controllers.dependencies import Books
from services.catalogue.domain import availability_label
from services.catalogue.page_cache import Shopfront
from shared.auth.sessions import WITHOUT_STAFF_SESSION
from shared.web import get_and_head

NEWEST_SHOWN = 12


class FrontPage(Controller):
    include_in_schema = False
    opt = WITHOUT_STAFF_SESSION

    @get_and_head("/", media_type=MediaType.HTML)
    async def front_page(
        self, request: Request[Any, Any, Any], shopfront: NamedDependency[Shopfront], books: Books
    ) -> Response[str]:
        async def render() -> str:
            newest = await books.newest_in_stock(limit=NEWEST_SHOWN)
            template = request.app.template_engine.get_template("front_page.html")  # type: ignore[union-attr]
            return template.render(newest=newest, availability=availability_label)

        # the same page for every reader: built once per cache period, like a book's page
        return Response(
            await shopfront.pages.get(("front page",), render), media_type=MediaType.HTML
        )
