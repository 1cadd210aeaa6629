"""What readers and article pages use: an article's books, its embeddable snippet, its links."""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Controller, HttpMethod, MediaType, Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_404_NOT_FOUND

from services.recommendation.controllers.dependencies import Recommendations
from services.recommendation.domain import DEFAULT_K, MAX_K, MIN_K, ArticleBooks
from shared.auth.sessions import WITHOUT_STAFF_SESSION
from shared.errors import NotFound
from shared.web import get_and_head

BookCount = Annotated[int, QueryParameter(ge=MIN_K, le=MAX_K)]

# Search engines crawl an article's links and chat apps fetch them for a preview; browsers
# prefetch (Sec-Purpose, or Purpose/X-Moz in older ones) links a reader may never open.
_ROBOT = re.compile(r"bot\b|crawl|spider|slurp|facebookexternalhit|preview", re.IGNORECASE)
_PREFETCH_HEADERS = ("sec-purpose", "purpose", "x-purpose", "x-moz")


def _a_readers_click(request: Request[Any, Any, Any]) -> bool:
    headers = request.headers
    return (
        request.method == HttpMethod.GET
        and not _ROBOT.search(headers.get("user-agent", ""))
        and not any("prefetch" in headers.get(name, "").lower() for name in _PREFETCH_HEADERS)
    )


class ArticleBooksController(Controller):
    path = "/articles"
    tags = ["articles"]
    opt = WITHOUT_STAFF_SESSION

    @get("/{article_id:str}/books")
    async def books(
        self, recommendations: Recommendations, article_id: FromPath[str], k: BookCount = DEFAULT_K
    ) -> ArticleBooks:
        """A stored article's books, computed once and again only when the index changes."""
        return await recommendations.article_books(article_id, k=k)

    @get_and_head(
        "/{article_id:str}/snippet",
        media_type=MediaType.HTML,
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=60, public=True),
    )
    async def snippet(
        self, recommendations: Recommendations, article_id: FromPath[str], k: BookCount = DEFAULT_K
    ) -> Template | Response[str]:
        """An HTML fragment for the article's page: no scripts, no outside assets."""
        try:
            found = await recommendations.article_books(article_id, k=k)
        except NotFound:
            # The article's page includes whatever this answers: for an article the shop
            # has not read (yet), nothing a reader can see rather than an error page or JSON.
            return Response(
                "<!-- the bookshop has no books for this article yet -->",
                status_code=HTTP_404_NOT_FOUND,
                media_type=MediaType.HTML,
            )
        return Template(
            template_name="snippet.html",
            context={"article": found.article, "books": found.books},
            media_type=MediaType.HTML,
        )


class LinkController(Controller):
    path = "/go"
    include_in_schema = False
    opt = WITHOUT_STAFF_SESSION

    @get_and_head("/{article_id:str}/{isbn:str}", cache_control=CacheControlHeader(no_store=True))
    async def follow(
        self,
        request: Request[Any, Any, Any],
        recommendations: Recommendations,
        article_id: FromPath[str],
        isbn: FromPath[str],
    ) -> Redirect:
        """Count a reader's click, then on to the book (or the best book still on sale)."""
        location = await recommendations.follow_link(
            article_id, isbn, count=_a_readers_click(request)
        )
        return Redirect(location, status_code=HTTP_303_SEE_OTHER)
