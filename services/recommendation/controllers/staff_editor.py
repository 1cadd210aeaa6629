"""The editor's desk (/staff/editor): paste an article or its address, see its ranked books
with their reasons, pin and ban books, copy the link snippet, see what the links brought in.

Pin and ban are plain forms (they work without JavaScript: post, then back to the article);
with htmx they replace only the books and the snippet, and the server answers the same page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from services.recommendation.controllers.dependencies import Recommendations, Settings
from services.recommendation.domain import (
    DEFAULT_K,
    ArticleSource,
    RuleKind,
    SourceKind,
    check_url,
)
from services.recommendation.service import ArticleDraft, RecommendationService
from services.recommendation.settings import RecommendationSettings
from shared.auth.guards import requires
from shared.auth.roles import Role
from shared.errors import InvalidInput, ShopError
from shared.isbn import InvalidISBN, to_isbn13
from shared.web import Form

# The desk shows more books than the snippet, so an editor can pin one from further down.
DESK_BOOKS = 10
# Enough to choose from: a search that matches more wants more of the title typed.
FOUND_BOOKS = 10
ARTICLES_PER_PAGE = 50
# A pasted article arrives form-encoded: up to three bytes a character, and more for escapes.
MAX_FORM_BYTES = 2 * 1024 * 1024
_TAG = re.compile(r"<[a-zA-Z][^<>]*>")
_NO_STORE = CacheControlHeader(no_store=True)


def snippet_path(article_id: str) -> str:
    """Where a page can fetch the article's snippet (the public endpoint, cached a minute)."""
    return f"/articles/{quote(article_id, safe='')}/snippet"


RULE_ACTIONS: dict[str, tuple[RuleKind, bool]] = {
    "pin": (RuleKind.PIN, True),
    "unpin": (RuleKind.PIN, False),
    "ban": (RuleKind.BAN, True),
    "unban": (RuleKind.BAN, False),
}
DONE_MESSAGES = {
    "pin": "{title} is pinned: it comes first.",
    "unpin": "{title} is no longer pinned.",
    "ban": "{title} is banned: it is never shown for this article.",
    "unban": "{title} may be shown again.",
}


@dataclass(frozen=True)
class ArticleForm:
    """What the editor typed, kept to show the form again when it is refused."""

    article_id: str = ""
    headline: str = ""
    published: str = ""
    text: str = ""
    url: str = ""

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ArticleForm:
        return cls(**{name: str(data.get(name) or "").strip() for name in cls.__dataclass_fields__})

    def draft(self) -> ArticleDraft:
        if bool(self.text) == bool(self.url):
            raise InvalidInput("Paste the article's text or give its address, not both.")
        if self.url:
            source = ArticleSource(SourceKind.URL, check_url(self.url))
        else:
            kind = SourceKind.HTML if _TAG.search(self.text) else SourceKind.TEXT
            source = ArticleSource(kind, self.text)
        return ArticleDraft(
            source=source, headline=self.headline or None, published=self._published()
        )

    def _published(self) -> date | None:
        if not self.published:
            return None
        try:
            return date.fromisoformat(self.published)
        except ValueError:
            raise InvalidInput(
                f"{self.published!r} is not a date: use the form 2024-05-31."
            ) from None


def _page(template: str, context: dict[str, Any], status_code: int = 200) -> Template:
    return Template(
        template_name=f"staff/editor/{template}",
        context=context,
        status_code=status_code,
        media_type=MediaType.HTML,
    )


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


class EditorDeskController(Controller):
    path = "/staff/editor"
    guards = [requires(Role.EDITOR)]
    include_in_schema = False
    cache_control = _NO_STORE

    @get("/")
    async def index(
        self,
        recommendations: Recommendations,
        page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
    ) -> Template:
        return await self._index(recommendations, page=page, form=ArticleForm(), error=None)

    async def _index(
        self,
        recommendations: RecommendationService,
        *,
        page: int,
        form: ArticleForm,
        error: str | None,
        status_code: int = 200,
    ) -> Template:
        # One more than a page: whether there is an older page to link to.
        articles = await recommendations.list_articles(
            limit=ARTICLES_PER_PAGE + 1, offset=(page - 1) * ARTICLES_PER_PAGE
        )
        return _page(
            "index.html",
            {
                "articles": articles[:ARTICLES_PER_PAGE],
                "page": page,
                "older": len(articles) > ARTICLES_PER_PAGE,
                "form": form,
                "error": error,
            },
            status_code,
        )

    @post("/articles", status_code=HTTP_303_SEE_OTHER, request_max_body_size=MAX_FORM_BYTES)
    async def save(self, recommendations: Recommendations, data: Form) -> Redirect | Template:
        """Store the article (replacing one with the same id), then show its books."""
        form = ArticleForm.from_data(data)
        try:
            if not form.article_id:
                raise InvalidInput("Give the article an id: the newspaper's id or slug for it.")
            saved = await recommendations.save_article(form.article_id, form.draft())
        except ShopError as refused:
            return await self._index(
                recommendations,
                page=1,
                form=form,
                error=refused.message,
                status_code=refused.status_code,
            )
        return Redirect(
            f"/staff/editor/articles/{saved.id}?done=saved", status_code=HTTP_303_SEE_OTHER
        )

    @get("/articles/{article_id:str}")
    async def article(
        self,
        recommendations: Recommendations,
        settings: Settings,
        article_id: FromPath[str],
        done: FromQuery[str | None] = None,
        isbn: FromQuery[str | None] = None,
        find: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> Template:
        return await self._article(
            recommendations, settings, article_id, done=done, isbn=isbn, find=find
        )

    async def _article(
        self,
        recommendations: RecommendationService,
        settings: RecommendationSettings,
        article_id: str,
        *,
        done: str | None = None,
        isbn: str | None = None,
        find: str | None = None,
        typed_isbn: str = "",
        error: str | None = None,
        status_code: int = 200,
    ) -> Template:
        find = (find or "").strip()
        matches = await recommendations.find_books(find, limit=FOUND_BOOKS) if find else []
        found = await recommendations.article_books(article_id, k=DESK_BOOKS)
        rules = await recommendations.rules(article_id)
        report = await recommendations.report(article_id)
        # A pin on a book now off sale (or beyond the desk's books) is still in force: it puts
        # the book first again once it is on sale, so the editor must see it to undo it.
        shown = {book.isbn13 for book in found.books}
        unseen_pins = [i for i in rules.pins if i not in shown]
        titles = await recommendations.titles(
            [*rules.bans, *unseen_pins, *([isbn] if isbn else [])]
        )
        message = None
        if done == "saved":
            message = "Saved. These are the books for it."
        elif done in DONE_MESSAGES and isbn:
            message = DONE_MESSAGES[done].format(title=titles.get(isbn, isbn))
        return _page(
            "article.html",
            {
                "article": found.article,
                "books": found.books,
                "snippet_books": found.books[:DEFAULT_K],
                "snippet_size": DEFAULT_K,
                "snippet_url": settings.public_url.rstrip("/") + snippet_path(article_id),
                "rules": rules,
                "banned": [(i, titles.get(i)) for i in rules.bans],
                "unseen_pins": [(i, titles.get(i)) for i in unseen_pins],
                "report": report,
                "find": find,
                "matches": matches,
                "typed_isbn": typed_isbn,
                "message": message,
                "error": error,
            },
            status_code,
        )

    @post("/articles/{article_id:str}/rules", status_code=HTTP_303_SEE_OTHER)
    async def rule(
        self,
        request: Request[Any, Any, Any],
        recommendations: Recommendations,
        settings: Settings,
        article_id: FromPath[str],
        data: Form,
    ) -> Redirect | Template:
        """Pin, unpin, ban or unban one book (form fields `action` and `isbn13`)."""
        action = str(data.get("action") or "")
        raw = isbn = str(data.get("isbn13") or "").strip()
        try:
            if action not in RULE_ACTIONS:
                raise InvalidInput(f"{action[:20]!r} is not pin, unpin, ban or unban.")
            kind, setting = RULE_ACTIONS[action]
            # The rule and its confirmation name the book as its ISBN-13, however it was typed.
            isbn = to_isbn13(isbn)
            if setting:
                await recommendations.set_rule(article_id, isbn, kind)
            else:
                await recommendations.drop_rule(article_id, isbn, kind)
        except (ShopError, InvalidISBN) as refused:
            message = refused.message if isinstance(refused, ShopError) else str(refused)
            return await self._article(
                recommendations,
                settings,
                article_id,
                # a pin typed by hand and refused comes back to be corrected, not typed again
                typed_isbn=raw if action == "pin" else "",
                error=message,
                # htmx swaps only successful answers: the message must arrive as one.
                status_code=200 if _is_htmx(request) else getattr(refused, "status_code", 400),
            )
        if _is_htmx(request):
            return await self._article(
                recommendations, settings, article_id, done=action, isbn=isbn
            )
        query = urlencode({"done": action, "isbn": isbn})
        return Redirect(
            f"/staff/editor/articles/{article_id}?{query}", status_code=HTTP_303_SEE_OTHER
        )
