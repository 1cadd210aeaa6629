"""The desk's article form as an editor meets it (SQLite and Postgres): a refusal marks the field
to correct and puts the cursor there, an address pasted into the text box is read from the
address, an id already stored is replaced only once the editor says so, a page too big for
the form says what to send instead, the desk's form addresses lead back to their pages, and
an article list page out of range says so plainly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from services.recommendation.app import create_app
from services.recommendation.controllers.article_form import ARTICLE_ID_PATTERN
from services.recommendation.controllers.staff_editor import MAX_FORM_BYTES
from services.recommendation.fetching import FetchedPage
from services.recommendation.models import Article, EditorRule
from services.recommendation.settings import RecommendationSettings
from shared.auth.roles import Role

Client = AsyncTestClient[Any]
CALLINICOS = "9798463348616"
ADDRESS = "https://paper.example/2012/06/progressive-bloc"
FETCHED = (
    "<html><body><article><h1>Empire today</h1><p>Alex Callinicos's Imperialism and Global "
    "Political Economy explains the rivalry between the great powers.</p></article></body></html>"
)
FIELDS = ("article_id", "published", "text", "url")


class PaperFetcher:
    """The newspaper's site: every address answers the same article."""

    async def fetch(self, url: str) -> FetchedPage:
        return FetchedPage(url=url, content=FETCHED, is_html=True)


@pytest.fixture
async def editor(
    settings: RecommendationSettings, builds, staff_session, feed
) -> AsyncIterator[Client]:
    """The desk, signed in as an editor, with the catalogue's books and the paper's site."""
    await feed.catalogue()
    # the shop's own cap on a page (the tests' settings lower it for their pages)
    cap = RecommendationSettings.model_fields["fetch_max_bytes"].default
    pages = settings.model_copy(update={"fetch_max_bytes": cap})
    app = create_app(pages, make_ranker=builds, fetcher=PaperFetcher())
    async with AsyncTestClient(app=app) as client:
        await staff_session(client, Role.EDITOR, username="erin")
        yield client


async def save(editor: Client, **fields: str) -> Any:
    return await editor.post("/staff/editor/articles", data=fields, follow_redirects=False)


async def stored_text(feed, article_id: str) -> str | None:
    async with feed.db.reading() as session:
        article = await session.get(Article, article_id)
        return None if article is None else article.text


@pytest.mark.parametrize(
    ("fields", "fault", "words"),
    [
        ({"article_id": "", "text": "Strikes and unions."}, "article_id", "Give the article an id"),
        ({"article_id": "no spaces", "text": "Strikes."}, "article_id", "An article id is"),
        ({"article_id": "a1"}, "text", "Paste the article's text or give its address."),
        ({"article_id": "a1", "text": "<nav>Subscribe</nav>"}, "text", "Nothing is left"),
        ({"article_id": "a1", "url": "ftp://paper.example/a"}, "url", "Only http and https"),
        ({"article_id": "a1", "text": "Strikes.", "published": "31/05/2024"}, "published", "date"),
    ],
    ids=["no-id", "bad-id", "no-article", "only-furniture", "not-http", "bad-date"],
)
async def test_a_refusal_marks_the_field_to_correct_and_puts_the_cursor_there(
    editor: Client, feed, fields: dict[str, str], fault: str, words: str
) -> None:
    response = await save(editor, **fields)

    assert response.status_code in (400, 422), response.text[:300]
    tree = HTMLParser(response.text)
    assert words in tree.css_first("#form-error").text()
    for name in FIELDS:
        attributes = tree.css_first(f"#{name}").attributes
        at_fault = name == fault
        assert ("aria-invalid" in attributes) is at_fault, name
        assert ("autofocus" in attributes) is at_fault, name
        assert ("form-error" in (attributes.get("aria-describedby") or "")) is at_fault, name
    assert await feed.count(Article) == 0


async def test_a_form_with_neither_text_nor_address_is_not_told_to_give_only_one(
    editor: Client,
) -> None:
    response = await save(editor, article_id="a1", text="  ", url="")

    message = HTMLParser(response.text).css_first("#form-error").text()
    assert message == "Paste the article's text or give its address."


async def test_an_address_pasted_as_the_text_is_read_from_the_address(editor: Client, feed) -> None:
    response = await save(editor, article_id="empire", text=f"  {ADDRESS}\n")

    assert response.status_code == 303, response.text[:300]
    async with feed.db.reading() as session:
        article = await session.get(Article, "empire")
    assert article is not None
    assert article.source_url == ADDRESS
    assert article.headline == "Empire today"
    assert "great powers" in article.text and ADDRESS not in article.text
    books = HTMLParser((await editor.get(response.headers["location"])).text)
    assert books.css_first("#books tbody tr").attributes["data-isbn"] == CALLINICOS


async def test_an_id_already_stored_is_replaced_only_once_the_editor_says_so(
    editor: Client, feed
) -> None:
    first = "Lenin on imperialism as the highest stage of capitalism."
    assert (await save(editor, article_id="sw-1", text=first)).status_code == 303
    await editor.post(
        "/staff/editor/articles/sw-1/rules", data={"action": "pin", "isbn13": CALLINICOS}
    )
    second = "Tony Cliff on state capitalism in Russia."

    asked = await save(editor, article_id="sw-1", text=second, headline="Cliff")

    assert asked.status_code == 409
    tree = HTMLParser(asked.text)
    warning = tree.css_first("#form-error").text()
    assert "already an article" in warning and "sw-1" in warning
    assert "pins, bans, clicks and sales stay" in warning
    # What was typed is kept, the id field described by the warning and holding the cursor.
    assert tree.css_first("textarea#text").text() == second
    article_id = tree.css_first("#article_id").attributes
    assert "autofocus" in article_id and "form-error" in article_id["aria-describedby"]
    assert "aria-invalid" not in article_id
    assert tree.css_first("input[name=replace]").attributes["value"] == "sw-1"
    assert tree.css_first("main form button[type=submit]").text() == (
        "Replace it and find its books"
    )
    assert await stored_text(feed, "sw-1") == first

    replaced = await save(editor, article_id="sw-1", text=second, headline="Cliff", replace="sw-1")

    assert replaced.status_code == 303
    assert replaced.headers["location"] == "/staff/editor/articles/sw-1?done=replaced"
    assert await stored_text(feed, "sw-1") == second
    page = HTMLParser((await editor.get(replaced.headers["location"])).text)
    assert page.css_first("#picks-status").text().startswith("Replaced.")
    assert "pins and bans still apply" in page.css_first("#picks-status").text()
    assert await feed.count(EditorRule) == 1


async def test_agreeing_to_replace_one_article_replaces_no_other(editor: Client, feed) -> None:
    for article_id in ("sw-1", "sw-2"):
        await save(editor, article_id=article_id, text=f"Strikes and unions, part {article_id}.")

    response = await save(editor, article_id="sw-2", text="A new text.", replace="sw-1")

    assert response.status_code == 409
    assert await stored_text(feed, "sw-2") == "Strikes and unions, part sw-2."


async def test_a_page_too_big_for_the_form_says_what_to_send_instead(editor: Client, feed) -> None:
    response = await editor.post(
        "/staff/editor/articles",
        data={"article_id": "big", "text": "<p>" + "x" * MAX_FORM_BYTES + "</p>"},
        headers={"accept": "text/html"},
    )

    assert response.status_code == 413
    assert "paste its text rather than the whole page, or give its address" in response.text
    assert await feed.count(Article) == 0


async def test_a_pasted_page_the_api_would_read_is_not_refused_as_too_big(
    editor: Client, feed
) -> None:
    # 1.4 million characters of a page's markup: within the 2 MiB the shop reads of a page,
    # but form-encoded to 2.5 MB.
    markup = '<div class="c" data-x="a/b?c=d&e=f"><span></span></div>\n' * 25_000
    page = FETCHED.replace("<body>", f"<body>{markup}")

    response = await save(editor, article_id="whole-page", text=page)

    assert response.status_code == 303, response.text[:300]
    assert await feed.count(Article) == 1


async def test_the_id_field_lets_through_the_ids_the_server_takes_accented_ones_too(
    editor: Client, feed
) -> None:
    desk = HTMLParser((await editor.get("/staff/editor")).text)
    field = desk.css_first("input#article_id")
    assert field.attributes["pattern"] == ARTICLE_ID_PATTERN

    response = await save(editor, article_id="grève-générale", text="Strikes and unions.")

    assert response.status_code == 303, response.text[:300]
    assert await stored_text(feed, "grève-générale") is not None


async def test_the_desks_form_addresses_lead_back_to_their_pages(editor: Client) -> None:
    await save(editor, article_id="sw-1", text="Strikes and unions.")

    # a refused form's page shows its post's address: loading it again leads back
    for address, page in (
        ("/staff/editor/articles", "/staff/editor"),
        ("/staff/editor/articles/sw-1/rules", "/staff/editor/articles/sw-1"),
    ):
        response = await editor.get(address, follow_redirects=False)
        assert response.status_code == 303, address
        assert response.headers["location"] == page


@pytest.mark.parametrize("asked", ["0", "-1", "two", "10001"])
async def test_an_article_list_page_out_of_range_is_a_plain_400_saying_so(
    editor: Client, asked: str
) -> None:
    response = await editor.get(
        "/staff/editor", params={"page": asked}, headers={"accept": "text/html"}
    )

    assert response.status_code == 400
    assert "The page number must be 1 or more" in response.text
    assert "Validation failed" not in response.text
    assert (await editor.get("/staff/editor", params={"page": "1"})).status_code == 200
