"""What the editor's desk says: past the last page of articles, after a pin or ban made by a
book's ISBN-10, after a pin behind others, and when more books match a search than it shows
(SQLite and Postgres)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from shared.auth.roles import Role

Client = AsyncTestClient[Any]
CALLINICOS = "9798463348616"
# The test catalogue's books are all 979 ISBNs, which have no ISBN-10: one more, with both.
CAPITAL, CAPITAL_ISBN10 = "9780140449136", "0140449132"


@pytest.fixture
async def editor(client: Client, staff_session, feed) -> Client:
    """The desk signed in as an editor, with the catalogue's books fed in."""
    await feed.catalogue()
    await staff_session(client, Role.EDITOR, username="erin")
    return client


async def store(editor: Client, article_id: str, text: str) -> None:
    response = await editor.post(
        "/staff/editor/articles",
        data={"article_id": article_id, "text": text},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def stored_articles_section(response: Any) -> Any:
    assert response.status_code == 200, response.text[:300]
    return HTMLParser(response.text).css_first("section[aria-labelledby=stored]")


async def test_an_empty_desk_says_there_are_no_articles_yet(editor: Client) -> None:
    section = stored_articles_section(await editor.get("/staff/editor"))

    assert "No articles yet" in section.text()


async def test_a_page_past_the_last_says_so_and_links_back_to_the_first(editor: Client) -> None:
    await store(editor, "piece-1", "Trade unions and strikes.")

    section = stored_articles_section(await editor.get("/staff/editor", params={"page": 2}))

    assert "No articles yet" not in section.text()
    assert "No more articles" in section.text()
    assert [a.attributes["href"] for a in section.css("a")] == ["/staff/editor"]


@pytest.mark.parametrize("action", ["pin", "ban"])
async def test_a_pin_or_ban_by_isbn_10_is_confirmed_with_the_books_title(
    editor: Client, feed, action: str
) -> None:
    await feed.events(feed.event(CALLINICOS, isbn13=CAPITAL, title="Capital, Volume 1"))
    await store(editor, "sw-2308", "Marx on capital and the working day.")

    response = await editor.post(
        "/staff/editor/articles/sw-2308/rules",
        data={"action": action, "isbn13": CAPITAL_ISBN10},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"].endswith(f"isbn={CAPITAL}")
    confirmed = HTMLParser((await editor.get(response.headers["location"])).text)
    message = confirmed.css_first("#picks-status").text()
    assert message.startswith("Capital, Volume 1 is"), message


async def test_a_pin_behind_others_says_where_it_comes(editor: Client, feed) -> None:
    await store(editor, "sw-2308", "Marx on capital and the working day.")
    shown = HTMLParser((await editor.get("/staff/editor/articles/sw-2308")).text)
    isbns = [str(row.attributes["data-isbn"]) for row in shown.css("#books tbody tr")]

    messages = []
    for isbn in isbns[4:7]:
        response = await editor.post(
            "/staff/editor/articles/sw-2308/rules", data={"action": "pin", "isbn13": isbn}
        )
        messages.append(HTMLParser(response.text).css_first("#picks-status").text())

    assert [m.split(": ", 1)[1] for m in messages] == [
        "it comes first.",
        "it comes second, after the book pinned before it.",
        "it comes after the 2 books pinned before it.",
    ]


async def test_a_search_matching_more_books_than_shown_says_so(editor: Client) -> None:
    await store(editor, "sw-2308", "Marx on capital and the working day.")

    many = HTMLParser(
        (await editor.get("/staff/editor/articles/sw-2308", params={"find": "the"})).text
    )
    few = HTMLParser(
        (await editor.get("/staff/editor/articles/sw-2308", params={"find": "kitchen"})).text
    )

    assert len(many.css("#found-books li")) == 10
    assert "More books match" in many.css_first("#more-found-books").text()
    assert len(few.css("#found-books li")) == 1
    assert few.css_first("#more-found-books") is None
