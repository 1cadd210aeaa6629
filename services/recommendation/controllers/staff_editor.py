"""The editor's desk (/staff/editor): paste an article or its address, see its ranked books
with their reasons, pin and ban books, copy the link snippet, see what the links brought in.

Pin and ban are plain forms (they work without JavaScript: post, then back to the article);
with htmx they replace only the books and the snippet, and the server answers the same page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_409_CONFLICT

from services.recommendation.controllers.article_form import ARTICLE_ID_PATTERN, ArticleForm
from services.recommendation.controllers.dependencies import Recommendations, Settings
from services.recommendation.domain import DEFAULT_K, ArticleSummary, RuleKind
from services.recommendation.service import RecommendationService
from services.recommendation.settings import RecommendationSettings
from shared.auth.guards import requires
from shared.auth.roles import Role
from shared.errors import InvalidInput, NotFound, ShopError
from shared.isbn import InvalidISBN, to_isbn13
from shared.web import Form, is_htmx, shop_error_handler

# The desk shows more books than the snippet, so an editor can pin one from further down.
DESK_BOOKS = 10
# Enough to choose from: a search that matches more wants more of the title typed.
FOUND_BOOKS = 10
ARTICLES_PER_PAGE = 50
MAX_PAGE = 10_000
# A pasted page arrives form-encoded, most of its markup escaped as three bytes a character:
# room for the largest page the shop reads (`fetch_max_bytes`, 2 MiB by default).
MAX_FORM_BYTES = 3 * 2 * 1024 * 1024
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
    "saved": "Saved. These are the books for it.",
    "replaced": "Replaced. These are the books for its new text; its pins and bans still apply.",
    "pin": "{title} is pinned: {place}.",
    "unpin": "{title} is no longer pinned.",
    "ban": "{title} is banned: it is never shown for this article.",
    "unban": "{title} may be shown again.",
}


def _page(template: str, context: dict[str, Any], status_code: int = 200) -> Template:
    return Template(
        template_name=f"staff/editor/{template}",
        context=context,
        status_code=status_code,
        media_type=MediaType.HTML,
    )


def pin_place(pins: tuple[str, ...], isbn: str) -> str:
    """Where a pinned book now shows: pins come in the order they were made."""
    before = pins.index(isbn) if isbn in pins else 0
    if before == 0:
        return "it comes first"
    if before == 1:
        return "it comes second, after the book pinned before it"
    return f"it comes after the {before} books pinned before it"


def button_names(books: Sequence[tuple[str, str | None]]) -> dict[str, str]:
    """How a Pin, Ban or Unban button names its book to a screen reader, by ISBN: the title, and
    the ISBN shown beside it where another edition on the page has the same title (two buttons
    of one name cannot be told apart); the ISBN alone for a book the service no longer knows."""

    def read_as(title: str) -> str:
        return " ".join(title.casefold().split())

    editions: defaultdict[str, set[str]] = defaultdict(set)
    for isbn, title in books:
        if title:
            editions[read_as(title)].add(isbn)
    names = {}
    for isbn, title in books:
        if not title:
            names[isbn] = isbn
        elif len(editions[read_as(title)]) > 1:
            names[isbn] = f"{title} (ISBN {isbn})"
        else:
            names[isbn] = title
    return names


class ArticleTooLarge(ShopError):
    status_code = RequestEntityTooLarge.status_code


def _article_too_large(request: Request[Any, Any, Any], _: RequestEntityTooLarge) -> Response[Any]:
    # The body was refused unread, so there is no form to show again: say what to send instead.
    return shop_error_handler(
        request,
        ArticleTooLarge(
            "The article is too large to send from this form: paste its text rather than the "
            "whole page, or give its address."
        ),
    )


def _page_number(raw: str) -> int:
    """The list's page from an address typed or edited by hand: a page the editor can act on
    rather than the framework's "Validation failed"."""
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PAGE:
        raise InvalidInput(f"The page number must be 1 or more (up to {MAX_PAGE}), like ?page=2.")
    return number


class EditorDeskController(Controller):
    path = "/staff/editor"
    guards = [requires(Role.EDITOR)]
    include_in_schema = False
    cache_control = _NO_STORE

    @get("/")
    async def index(
        self,
        recommendations: Recommendations,
        page: Annotated[str, QueryParameter(max_length=20)] = "1",
    ) -> Template:
        return await self._index(recommendations, page=_page_number(page), form=ArticleForm())

    async def _index(
        self,
        recommendations: RecommendationService,
        *,
        page: int,
        form: ArticleForm,
        error: str | None = None,
        fault: str | None = None,
        existing: ArticleSummary | None = None,
        status_code: int = 200,
    ) -> Template:
        """`fault` is the field the error is about; `existing`, the article the id would replace."""
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
                "article_id_pattern": ARTICLE_ID_PATTERN,
                "error": error,
                "fault": fault,
                "existing": existing,
            },
            status_code,
        )

    @post(
        "/articles",
        status_code=HTTP_303_SEE_OTHER,
        request_max_body_size=MAX_FORM_BYTES,
        exception_handlers={RequestEntityTooLarge: _article_too_large},
    )
    async def save(self, recommendations: Recommendations, data: Form) -> Redirect | Template:
        """Store the article, then show its books; replacing a stored one is asked first."""
        form = ArticleForm.from_data(data)
        try:
            draft = form.draft()
            existing = await _existing(recommendations, form.article_id)
            if existing is not None and form.replace != existing.id:
                return await self._index(
                    recommendations,
                    page=1,
                    form=form,
                    existing=existing,
                    status_code=HTTP_409_CONFLICT,
                )
            saved = await recommendations.save_article(form.article_id, draft)
        except ShopError as refused:
            return await self._index(
                recommendations,
                page=1,
                form=form,
                error=refused.message,
                fault=form.field_of(refused),
                status_code=refused.status_code,
            )
        done = "saved" if existing is None else "replaced"
        return Redirect(
            f"/staff/editor/articles/{saved.id}?done={done}", status_code=HTTP_303_SEE_OTHER
        )

    @get("/articles")
    async def articles(self) -> Redirect:
        """Where a refused form's address (the page it answers shows it) leads when loaded
        again: the desk."""
        return Redirect("/staff/editor", status_code=HTTP_303_SEE_OTHER)

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
        # one more than is shown: whether to say that more matched
        matches = await recommendations.find_books(find, limit=FOUND_BOOKS + 1) if find else []
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
        banned = [(i, titles.get(i)) for i in rules.bans]
        hidden_pins = [(i, titles.get(i)) for i in unseen_pins]
        names = button_names(
            [
                *((book.isbn13, book.title) for book in found.books),
                *((book.isbn13, book.title) for book in matches[:FOUND_BOOKS]),
                *banned,
                *hidden_pins,
            ]
        )
        message = None
        if done in ("saved", "replaced"):
            message = DONE_MESSAGES[done]
        elif done in DONE_MESSAGES and isbn:
            # named as its button named it: two editions of one title are told apart
            message = DONE_MESSAGES[done].format(
                title=names.get(isbn) or titles.get(isbn, isbn), place=pin_place(rules.pins, isbn)
            )
        return _page(
            "article.html",
            {
                "article": found.article,
                "books": found.books,
                "snippet_books": found.books[:DEFAULT_K],
                "snippet_size": DEFAULT_K,
                "snippet_url": settings.public_url.rstrip("/") + snippet_path(article_id),
                "rules": rules,
                "banned": banned,
                "unseen_pins": hidden_pins,
                "button_names": names,
                "report": report,
                "find": find,
                "matches": matches[:FOUND_BOOKS],
                "more_matches": len(matches) > FOUND_BOOKS,
                "typed_isbn": typed_isbn,
                "message": message,
                "error": error,
            },
            status_code,
        )

    @get("/articles/{article_id:str}/rules")
    async def rules_page(self, article_id: FromPath[str]) -> Redirect:
        """Where a refused pin or ban's address (the page it answers shows it) leads when
        loaded again: the article, to make the change again."""
        return Redirect(f"/staff/editor/articles/{article_id}", status_code=HTTP_303_SEE_OTHER)

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
                status_code=200 if is_htmx(request) else getattr(refused, "status_code", 400),
            )
        if is_htmx(request):
            return await self._article(
                recommendations, settings, article_id, done=action, isbn=isbn
            )
        query = urlencode({"done": action, "isbn": isbn})
        return Redirect(
            f"/staff/editor/articles/{article_id}?{query}", status_code=HTTP_303_SEE_OTHER
        )


async def _existing(
    recommendations: RecommendationService, article_id: str
) -> ArticleSummary | None:
    try:
        return await recommendations.article(article_id)
    except NotFound:
        return None
