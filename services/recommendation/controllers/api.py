"""The JSON API: books for an article, and the editors' articles, pins, bans and reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from services.recommendation.controllers.dependencies import Recommendations
from services.recommendation.controllers.guards import EDITOR, require_editor
from services.recommendation.domain import (
    DEFAULT_K,
    MAX_K,
    MIN_K,
    ArticleBooks,
    ArticleReport,
    ArticleSummary,
    EditorRules,
    RuleKind,
    article_source,
)
from services.recommendation.service import ArticleDraft
from shared.contracts.recommendation import ARTICLE_ID_CHARACTERS, ARTICLE_ID_LENGTH

# The contract's characters and length; dots alone, which the schema's generators could not
# read as a look-ahead, are refused by the service's own check after it.
ArticleId = Annotated[
    str, msgspec.Meta(pattern=rf"^{ARTICLE_ID_CHARACTERS}{{1,{ARTICLE_ID_LENGTH}}}$")
]
# A pasted page's HTML may be as long as a fetched one (2 MiB by default, `fetch_max_bytes`),
# and JSON's escapes lengthen it: past the app's usual limit for a JSON body.
MAX_ARTICLE_BODY_BYTES = 3 * 1024 * 1024


class RecommendRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The article as exactly one of `text`, `html` or `url`; with `article_id` it is stored."""

    text: str | None = None
    html: str | None = None
    url: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    k: Annotated[int, msgspec.Meta(ge=MIN_K, le=MAX_K)] = DEFAULT_K
    article_id: ArticleId | None = None
    headline: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    published: date | None = None


class RecommendationsController(Controller):
    path = "/recommendations"
    tags = ["recommendations"]

    @post("/", status_code=200, request_max_body_size=MAX_ARTICLE_BODY_BYTES)
    async def recommend(
        self,
        request: Request[Any, Any, Any],
        recommendations: Recommendations,
        data: JSONBody[RecommendRequest],
    ) -> ArticleBooks:
        """The best books for an article, each with its reason and its link.

        Storing the article (`article_id` given) is for the editors: it needs an editor's
        session and the CSRF header.
        """
        if data.article_id is not None:
            require_editor(request)
        draft = ArticleDraft(
            source=article_source(text=data.text, html=data.html, url=data.url),
            headline=data.headline,
            published=data.published,
        )
        return await recommendations.recommend(draft=draft, k=data.k, article_id=data.article_id)


class EditorController(Controller):
    path = "/api/recommendation/articles"
    tags = ["articles"]
    guards = [EDITOR]

    @get("/")
    async def list_articles(
        self,
        recommendations: Recommendations,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> list[ArticleSummary]:
        """Stored articles, most recently changed first."""
        return await recommendations.list_articles(limit=limit, offset=offset)

    @get("/{article_id:str}")
    async def article(
        self, recommendations: Recommendations, article_id: FromPath[str]
    ) -> ArticleSummary:
        return await recommendations.article(article_id)

    @get("/{article_id:str}/rules")
    async def rules(
        self, recommendations: Recommendations, article_id: FromPath[str]
    ) -> EditorRules:
        """The article's pinned books (in order) and banned books."""
        return await recommendations.rules(article_id)

    @post("/{article_id:str}/pins/{isbn:str}", status_code=200)
    async def pin(
        self, recommendations: Recommendations, article_id: FromPath[str], isbn: FromPath[str]
    ) -> EditorRules:
        """Show this book first for the article (after any pinned before it)."""
        return await recommendations.set_rule(article_id, isbn, RuleKind.PIN)

    @delete("/{article_id:str}/pins/{isbn:str}", status_code=200)
    async def unpin(
        self, recommendations: Recommendations, article_id: FromPath[str], isbn: FromPath[str]
    ) -> EditorRules:
        return await recommendations.drop_rule(article_id, isbn, RuleKind.PIN)

    @post("/{article_id:str}/bans/{isbn:str}", status_code=200)
    async def ban(
        self, recommendations: Recommendations, article_id: FromPath[str], isbn: FromPath[str]
    ) -> EditorRules:
        """Never show this book for the article."""
        return await recommendations.set_rule(article_id, isbn, RuleKind.BAN)

    @delete("/{article_id:str}/bans/{isbn:str}", status_code=200)
    async def unban(
        self, recommendations: Recommendations, article_id: FromPath[str], isbn: FromPath[str]
    ) -> EditorRules:
        return await recommendations.drop_rule(article_id, isbn, RuleKind.BAN)

    @get("/{article_id:str}/report")
    async def report(
        self, recommendations: Recommendations, article_id: FromPath[str]
    ) -> ArticleReport:
        """Clicks on the article's links per book, and the orders and revenue it brought."""
        return await recommendations.report(article_id)
