"""The editor's desk (/staff/editor) on SQLite and Postgres: who may use it, pasting an article,
its ranked books, pins and bans (plain forms and htmx), the snippet and the report."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from services.recommendation import handlers
from services.recommendation.app import create_app
from services.recommendation.models import Article, EditorRule
from services.recommendation.settings import RecommendationSettings
from shared.auth.roles import Role
from shared.auth.settings import StaffAuthSettings
from shared.contracts import Attribution, OrderLine, OrderPaid

CALLINICOS = "9798463348616"
PUBLIC_URL = "http://shop.test"


@pytest.fixture
def desk_app(
    recommendation_url: str, redis_url: str, staff_auth: StaffAuthSettings, builds
) -> Litestar:
    settings = RecommendationSettings(
        database_url=recommendation_url,
        redis_url=redis_url,
        public_url=PUBLIC_URL,
        staff_auth=staff_auth,
    )
    return create_app(settings, make_ranker=builds)


@pytest.fixture
async def desk(desk_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=desk_app) as client:
        yield client


@pytest.fixture
async def editor(desk, staff_session, feed) -> AsyncTestClient[Litestar]:
    """The desk signed in as an editor, with the catalogue's books fed in."""
    await feed.catalogue()
    await staff_session(desk, Role.EDITOR, username="erin")
    return desk


@pytest.fixture
async def seeded(editor, seed_article) -> str:
    """The seed article pasted in as `sw-2308`; its id."""
    response = await editor.post(
        "/staff/editor/articles",
        data={"article_id": "sw-2308", "text": seed_article, "published": "2012-06-19"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return "sw-2308"


def page(response) -> HTMLParser:
    assert response.headers["content-type"].startswith("text/html"), response.text[:300]
    return HTMLParser(response.text)


def book_rows(tree: HTMLParser) -> list[Node]:
    return tree.css("#books tbody tr")


def row_isbns(tree: HTMLParser) -> list[str]:
    return [str(row.attributes["data-isbn"]) for row in book_rows(tree)]


def snippet_of(tree: HTMLParser) -> HTMLParser:
    """The snippet as the editor would copy it out of the read-only box."""
    box = tree.css_first("textarea#snippet")
    assert box is not None and "readonly" in box.attributes
    return HTMLParser(box.text())


async def test_a_stranger_is_sent_to_sign_in_and_other_roles_are_refused(
    desk, staff_session
) -> None:
    anonymous = await desk.get("/staff/editor", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/staff/login?next=%2Fstaff%2Feditor"

    await staff_session(desk, Role.STOCK, Role.PHONE_ORDERS, username="sam")
    refused = await desk.get("/staff/editor", headers={"accept": "text/html"})
    assert refused.status_code == 403
    assert "editor" in refused.text

    await staff_session(desk, Role.ADMIN, username="ada")
    assert (await desk.get("/staff/editor")).status_code == 200


async def test_pasting_an_article_stores_it_and_shows_its_ranked_books_with_reasons(
    editor, seeded, feed
) -> None:
    response = await editor.get(f"/staff/editor/articles/{seeded}", params={"done": "saved"})

    assert response.status_code == 200
    tree = page(response)
    assert tree.css_first("h1").text() == "Revolution in the 'progressive' bloc"
    assert "Saved" in tree.css_first("#picks-status").text()
    rows = book_rows(tree)
    assert len(rows) == 10
    first = rows[0]
    assert first.attributes["data-isbn"] == CALLINICOS
    assert first.css_first(".title").text() == "Imperialism and Global Political Economy"
    assert "names this book" in first.css_first(".reason").text()
    assert "£19.99" in first.text() and "In stock (6)" in first.text()
    assert all(row.css_first(".reason").text().strip() for row in rows)
    # Every action is a real form with the CSRF token: it works without JavaScript.
    form = first.css_first("form")
    assert form.attributes["method"] == "post"
    assert form.css_first("input[name=_csrf_token]") is not None
    async with feed.db.reading() as session:
        article = await session.get(Article, seeded)
    assert article is not None and article.published is not None
    # and the desk lists it
    listing = page(await editor.get("/staff/editor"))
    assert [a.attributes["href"] for a in listing.css("main table a")] == [
        f"/staff/editor/articles/{seeded}"
    ]


async def test_the_snippet_is_the_articles_first_books_as_html_to_copy(editor, seeded) -> None:
    tree = page(await editor.get(f"/staff/editor/articles/{seeded}"))

    snippet = snippet_of(tree)
    links = [a.attributes["href"] for a in snippet.css("a")]
    assert links == [f"{PUBLIC_URL}/go/{seeded}/{isbn}" for isbn in row_isbns(tree)[:5]]
    # What is copied is exactly what the public snippet endpoint serves.
    public = await editor.get(f"/articles/{seeded}/snippet")
    box = tree.css_first("textarea#snippet").text()
    assert box.strip() == public.text.strip()
    assert f"{PUBLIC_URL}/articles/{seeded}/snippet" in tree.css_first("#snippet-hint").text()


async def test_pinning_a_book_puts_it_first_on_the_page_in_the_snippet_and_publicly(
    editor, seeded, feed
) -> None:
    before = row_isbns(page(await editor.get(f"/staff/editor/articles/{seeded}")))
    chosen = before[6]

    response = await editor.post(
        f"/staff/editor/articles/{seeded}/rules",
        data={"action": "pin", "isbn13": chosen},
        follow_redirects=False,
    )

    assert response.status_code == 303
    after = page(await editor.get(response.headers["location"]))
    assert row_isbns(after)[0] == chosen
    assert "is pinned" in after.css_first("#picks-status").text()
    assert "Pinned" in book_rows(after)[0].text()
    assert book_rows(after)[0].css_first("button[value=unpin]") is not None
    assert chosen in snippet_of(after).css_first("a").attributes["href"]
    public = HTMLParser((await editor.get(f"/articles/{seeded}/snippet")).text)
    assert public.css_first("a").attributes["href"].endswith(f"/{chosen}")

    unpinned = await editor.post(
        f"/staff/editor/articles/{seeded}/rules",
        data={"action": "unpin", "isbn13": chosen},
    )
    assert row_isbns(page(unpinned)) == before
    assert await feed.count(EditorRule) == 0


async def test_with_htmx_a_pin_answers_the_page_for_the_books_to_be_swapped(editor, seeded) -> None:
    chosen = row_isbns(page(await editor.get(f"/staff/editor/articles/{seeded}")))[3]

    response = await editor.post(
        f"/staff/editor/articles/{seeded}/rules",
        data={"action": "pin", "isbn13": chosen},
        headers={"hx-request": "true"},
    )

    assert response.status_code == 200
    tree = page(response)
    assert row_isbns(tree)[0] == chosen
    assert tree.css_first("#picks #picks-status") is not None


async def test_banning_a_book_hides_it_lists_it_as_banned_and_unbanning_brings_it_back(
    editor, seeded
) -> None:
    before = row_isbns(page(await editor.get(f"/staff/editor/articles/{seeded}")))

    banned = page(
        await editor.post(
            f"/staff/editor/articles/{seeded}/rules", data={"action": "ban", "isbn13": CALLINICOS}
        )
    )

    assert CALLINICOS not in row_isbns(banned)
    assert CALLINICOS not in banned.css_first("textarea#snippet").text()
    section = banned.css_first("section[aria-labelledby=banned-heading]")
    assert "Imperialism and Global Political Economy" in section.text()
    assert section.css_first("button[value=unban]") is not None

    restored = page(
        await editor.post(
            f"/staff/editor/articles/{seeded}/rules",
            data={"action": "unban", "isbn13": CALLINICOS},
        )
    )
    assert row_isbns(restored) == before
    assert restored.css_first("section[aria-labelledby=banned-heading]") is None


def button_names(tree: HTMLParser | Node) -> list[str]:
    """What a screen reader calls each button that pins, bans or lifts a rule."""
    return [str(button.attributes["aria-label"]) for button in tree.css("button[name=action]")]


async def test_two_editions_of_a_title_have_buttons_a_screen_reader_tells_apart(
    editor, seeded, feed
) -> None:
    hardback = "9780000000019"
    title = "Imperialism and Global Political Economy"
    # the article's first work brings all its editions to the desk
    await feed.events(feed.event(CALLINICOS, isbn13=hardback, format="hardback", year=2011))

    tree = page(await editor.get(f"/staff/editor/articles/{seeded}"))

    rows = {str(row.attributes["data-isbn"]): row for row in book_rows(tree)}
    assert button_names(rows[hardback]) == [
        f"Pin {title} (ISBN {hardback})",
        f"Ban {title} (ISBN {hardback})",
    ]
    assert button_names(rows[CALLINICOS]) == [
        f"Pin {title} (ISBN {CALLINICOS})",
        f"Ban {title} (ISBN {CALLINICOS})",
    ]
    # a title the page shows once is named by its title alone
    other = next(isbn for isbn in rows if isbn not in (hardback, CALLINICOS))
    assert button_names(rows[other])[0] == f"Pin {html.unescape(feed.records[other]['title'])}"

    found = page(await editor.get(f"/staff/editor/articles/{seeded}", params={"find": title}))
    listed = button_names(pin_another(found).css_first("#found-books"))
    assert len(listed) == 2
    assert len(set(listed)) == 2
    assert f"Pin {title} (ISBN {hardback}) by Alex Callinicos" in listed

    for isbn in (hardback, CALLINICOS):
        banned = page(
            await editor.post(
                f"/staff/editor/articles/{seeded}/rules", data={"action": "ban", "isbn13": isbn}
            )
        )
        # the notice names the edition acted on as its button did
        assert banned.css_first("#picks-status").text() == (
            f"{title} (ISBN {isbn}) is banned: it is never shown for this article."
        )
    section = banned.css_first("section[aria-labelledby=banned-heading]")
    assert sorted(button_names(section)) == [
        f"Unban {title} (ISBN {isbn})" for isbn in sorted((CALLINICOS, hardback))
    ]


async def test_a_pinned_book_taken_off_sale_stays_listed_as_pinned_and_can_be_unpinned(
    editor, seeded, feed
) -> None:
    chosen = row_isbns(page(await editor.get(f"/staff/editor/articles/{seeded}")))[4]
    await editor.post(
        f"/staff/editor/articles/{seeded}/rules", data={"action": "pin", "isbn13": chosen}
    )
    title = feed.records[chosen]["title"]
    await feed.events(feed.event(chosen, withdrawn=True, version=2))

    tree = page(await editor.get(f"/staff/editor/articles/{seeded}"))

    # Not offered to readers, but the editor still sees the pin: it would put the book first
    # again the day it is back on sale.
    assert chosen not in row_isbns(tree)
    section = tree.css_first("section[aria-labelledby=hidden-pins-heading]")
    assert section is not None
    assert title in html.unescape(section.text())
    unpinned = page(
        await editor.post(
            f"/staff/editor/articles/{seeded}/rules",
            data=dict(
                (field.attributes["name"], field.attributes.get("value") or "")
                for field in section.css("input, button")
            ),
        )
    )
    assert await feed.count(EditorRule) == 0
    assert unpinned.css_first("section[aria-labelledby=hidden-pins-heading]") is None
    assert "no longer pinned" in unpinned.css_first("#picks-status").text()


async def test_a_refused_pin_says_why_and_changes_nothing(editor, seeded, feed) -> None:
    for data, words in (
        ({"action": "pin", "isbn13": "12345"}, "ISBN"),
        ({"action": "pin", "isbn13": "9780000000002"}, "No book in the shop has the ISBN"),
        ({"action": "promote", "isbn13": CALLINICOS}, "not pin, unpin, ban or unban"),
    ):
        response = await editor.post(f"/staff/editor/articles/{seeded}/rules", data=data)
        assert response.status_code in (400, 404), response.text
        assert words in page(response).css_first("#picks-status").text()
    assert await feed.count(EditorRule) == 0


KITCHEN_DIARIES = "9798389193697"


def pin_another(tree: HTMLParser) -> Node:
    section = tree.css_first("section#pin-another")
    assert section is not None
    return section


async def test_an_editor_pins_a_book_the_ranking_missed_by_typing_its_isbn(
    editor, seeded, feed
) -> None:
    # An edition the catalogue sells under a 978 ISBN, so it can be typed as its ISBN-10 too.
    nineteen_eighty_four = "9780141036144"
    await feed.events(feed.event(KITCHEN_DIARIES, isbn13=nineteen_eighty_four, title="1984"))
    tree = page(await editor.get(f"/staff/editor/articles/{seeded}"))
    assert KITCHEN_DIARIES not in row_isbns(tree)
    form = pin_another(tree).css_first("form[method=post]")
    assert form.attributes["action"] == f"/staff/editor/articles/{seeded}/rules"
    assert form.css_first("input[name=_csrf_token]") is not None
    assert form.css_first("button[name=action]").attributes["value"] == "pin"

    for typed, isbn, title, place in (
        ("979-8-38919-369-7", KITCHEN_DIARIES, "The Kitchen Diaries", "it comes first"),
        (
            "0-14-103614-1",
            nineteen_eighty_four,
            "1984",
            "it comes second, after the book pinned before it",
        ),
    ):
        response = await editor.post(
            f"/staff/editor/articles/{seeded}/rules",
            data={"action": "pin", "isbn13": typed},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        after = page(await editor.get(response.headers["location"]))
        assert isbn in row_isbns(after)[:2]
        assert after.css_first("#picks-status").text() == f"{title} is pinned: {place}."
    assert row_isbns(after)[:2] == [KITCHEN_DIARIES, nineteen_eighty_four]
    assert await feed.count(EditorRule) == 2


@pytest.mark.parametrize(
    ("typed", "words", "status"),
    [
        ("978-0-00-000000-2", "No book in the shop has the ISBN 9780000000002", 404),
        ("12345", "is not an ISBN", 400),
    ],
)
async def test_a_typed_isbn_that_cannot_be_pinned_says_why_and_keeps_what_was_typed(
    editor, seeded, feed, typed, words, status
) -> None:
    for headers in ({}, {"hx-request": "true"}):
        response = await editor.post(
            f"/staff/editor/articles/{seeded}/rules",
            data={"action": "pin", "isbn13": typed},
            headers=headers,
        )

        # htmx swaps only successful answers
        assert response.status_code == (200 if headers else status)
        tree = page(response)
        assert words in tree.css_first("#picks-status").text()
        field = pin_another(tree).css_first("input#pin-isbn")
        assert field.attributes["value"] == typed
        assert field.attributes["aria-invalid"] == "true"
        assert "autofocus" in field.attributes
    assert await feed.count(EditorRule) == 0


async def test_an_editor_finds_a_book_by_title_or_author_and_pins_it(editor, seeded, feed) -> None:
    for words in ("kitchen DIAR", "nigel slater"):
        tree = page(await editor.get(f"/staff/editor/articles/{seeded}", params={"find": words}))
        found = pin_another(tree).css("#found-books li")
        assert [li.css_first("input[name=isbn13]").attributes["value"] for li in found] == [
            KITCHEN_DIARIES
        ]
        assert "The Kitchen Diaries by Nigel Slater" in found[0].text()
        assert pin_another(tree).css_first("input#pin-find").attributes["value"] == words
    many = page(await editor.get(f"/staff/editor/articles/{seeded}", params={"find": "the"}))
    assert len(pin_another(many).css("#found-books li")) == 10
    none = page(await editor.get(f"/staff/editor/articles/{seeded}", params={"find": "qubits"}))
    assert "No book on sale has" in pin_another(none).css_first("#found-books").text()

    form = found[0].css_first("form")
    assert form.attributes["method"] == "post"
    assert form.css_first("input[name=_csrf_token]") is not None
    pinned = page(
        await editor.post(
            form.attributes["action"],
            data={
                "isbn13": form.css_first("input[name=isbn13]").attributes["value"],
                "action": form.css_first("button").attributes["value"],
            },
        )
    )
    assert row_isbns(pinned)[0] == KITCHEN_DIARIES
    assert "The Kitchen Diaries is pinned" in pinned.css_first("#picks-status").text()


async def test_a_post_without_the_csrf_token_is_refused(editor, seeded, feed) -> None:
    del editor.headers["x-csrftoken"]

    response = await editor.post(
        f"/staff/editor/articles/{seeded}/rules", data={"action": "ban", "isbn13": CALLINICOS}
    )

    assert response.status_code == 403
    assert await feed.count(EditorRule) == 0


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"article_id": "a1"}, "Paste the article's text or give its address"),
        ({"article_id": "a1", "text": "Words", "url": "https://example.org/a"}, "not both"),
        ({"article_id": "", "text": "Words about imperialism"}, "Give the article an id"),
        ({"article_id": "no spaces", "text": "Words"}, "An article id is"),
        ({"article_id": "a1", "url": "ftp://example.org/a"}, "Only http and https"),
        ({"article_id": "a1", "text": "Words", "published": "31/05/2024"}, "is not a date"),
    ],
)
async def test_a_refused_article_keeps_what_was_typed_and_stores_nothing(
    editor, feed, data, words
) -> None:
    response = await editor.post("/staff/editor/articles", data=data)

    assert response.status_code == 400
    tree = page(response)
    assert words in tree.css_first("#form-error").text()
    if data.get("text"):
        assert tree.css_first("textarea#text").text() == data["text"]
    assert tree.css_first("#article_id").attributes["value"] == data["article_id"]
    assert await feed.count(Article) == 0


async def test_pasted_html_is_read_as_html(editor, feed) -> None:
    article = (
        "<html><body><nav>Subscribe now</nav><article><h1>Lenin and the state</h1>"
        "<p>Lenin's State and Revolution argues that the workers must smash the state.</p>"
        "</article></body></html>"
    )

    response = await editor.post(
        "/staff/editor/articles", data={"article_id": "lenin", "text": article}
    )

    assert response.status_code == 200
    assert page(response).css_first("h1").text() == "Lenin and the state"


async def test_text_pasted_without_a_headline_is_listed_under_its_first_sentence_cut_short(
    editor, feed
) -> None:
    paragraph = " ".join(
        [
            "The strike at the depot in Walsall has now lasted eleven weeks, and the drivers who",
            "walked out over a pay offer worth less than inflation say they will stay out until",
            "the company opens its books.",
            "Their union says the firm made record profits last year.",
        ]
        * 3
    )

    response = await editor.post(
        "/staff/editor/articles", data={"article_id": "walsall", "text": paragraph}
    )

    assert response.status_code == 200
    tree = page(response)
    headline = (
        "The strike at the depot in Walsall has now lasted eleven weeks, and the drivers who "
        "walked out over a pay offer worth\u2026"
    )
    assert tree.css_first("h1").text() == headline
    assert tree.css_first("title").text().startswith(headline)
    listing = page(await editor.get("/staff/editor"))
    assert listing.css_first("main table a").text() == headline
    async with feed.db.reading() as session:
        article = await session.get(Article, "walsall")
    assert article is not None and article.text == paragraph


async def test_the_report_shows_clicks_per_book_orders_and_revenue(editor, seeded, feed) -> None:
    second = row_isbns(page(await editor.get(f"/staff/editor/articles/{seeded}")))[1]
    for isbn in (CALLINICOS, CALLINICOS, second):
        await editor.get(f"/go/{seeded}/{isbn}", follow_redirects=False)
    paid = OrderPaid(
        order_id=uuid4(),
        reference="BK-2001",
        lines=(OrderLine(isbn13=CALLINICOS, quantity=2, unit_price_pence=1999),),
        total_pence=4348,
        attribution=Attribution(article_id=seeded, isbn13=CALLINICOS),
    )
    async with feed.uows() as uow:
        await handlers.on_order_paid(paid, uow=uow)

    tree = page(await editor.get(f"/staff/editor/articles/{seeded}"))

    figures = {
        item.css_first("dt").text(): item.css_first("dd").text()
        for item in tree.css("section[aria-labelledby=report-heading] dl.figures div")
    }
    assert figures == {"Clicks": "3", "Orders": "1", "Revenue": "£43.48"}
    rows = [[html.unescape(td.text()) for td in tr.css("td")] for tr in tree.css("#report tr")]
    rows = [row for row in rows if row]
    assert rows[0] == ["Imperialism and Global Political Economy", "2", "2"]
    assert rows[1][1:] == ["1", "0"]


async def test_the_desk_lists_articles_newest_first_a_page_at_a_time(editor, feed) -> None:
    for n in range(3):
        response = await editor.post(
            "/staff/editor/articles",
            data={"article_id": f"piece-{n}", "text": f"Trade unions and strikes, part {n}."},
            follow_redirects=False,
        )
        assert response.status_code == 303

    tree = page(await editor.get("/staff/editor"))

    links = [a.attributes["href"] for a in tree.css("main table a")]
    assert links == [f"/staff/editor/articles/piece-{n}" for n in (2, 1, 0)]
    assert "autofocus" in tree.css_first("#article_id").attributes
    assert all(
        tree.css_first(f"label[for={name}]") is not None
        for name in ("article_id", "published", "headline", "text", "url")
    )


async def test_a_long_article_is_read_past_the_json_body_limit(editor, feed) -> None:
    # 150,000 characters, form-encoded to about 300 KB: above the 256 KiB JSON limit.
    words = ("Trade unions & the strike wave; " * 4700)[:150_000]

    response = await editor.post(
        "/staff/editor/articles", data={"article_id": "long", "text": words}
    )

    assert response.status_code == 200, response.text[:300]
    assert await feed.count(Article) == 1
