"""The error page a person gets (a Buy refused, a gone order): what went wrong, the way back to
the shop's page they came from, and a search, with nothing of theirs written into it as HTML."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import TestClient
from lxml import html

from shared.errors import Conflict, NotFound
from shared.web import EXCEPTION_HANDLERS

HTML = {"accept": "text/html"}


@get("/checkout/buy")
async def refused() -> None:
    raise Conflict("Sorry: only 0 left of <Imperialism>.")


def page(headers: dict[str, str]) -> html.HtmlElement:
    with TestClient(Litestar([refused], exception_handlers=EXCEPTION_HANDLERS)) as client:
        response = client.get("/checkout/buy", headers=headers)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("text/html")
    return html.fromstring(response.text)


def test_it_leads_back_to_the_shops_page_the_person_came_from() -> None:
    shown = page(HTML | {"referer": "http://testserver.local/books/9798463348616?article=a000"})

    assert "Sorry: only 0 left of <Imperialism>." in shown.text_content()
    links = {a.text_content(): a.get("href") for a in shown.iter("a")}
    assert links["Back to the page you were on"] == "/books/9798463348616?article=a000"
    assert links["Back to the shop"] == "/"
    assert shown.cssselect("form[action='/search'] input[name=q]")


def test_a_page_elsewhere_is_not_offered_as_the_way_back() -> None:
    shown = page(HTML | {"referer": "https://elsewhere.example/books/1'><script>x</script>"})

    assert "Back to the page you were on" not in shown.text_content()
    assert not shown.cssselect("script")


def test_a_program_still_gets_json() -> None:
    with TestClient(Litestar([refused], exception_handlers=EXCEPTION_HANDLERS)) as client:
        response = client.get("/checkout/buy")
    assert response.json()["detail"] == "Sorry: only 0 left of <Imperialism>."


@get("/staff/stock/books/{isbn:str}")
async def missing_staff_page(isbn: FromPath[str]) -> None:
    raise NotFound(f"No book with ISBN {isbn}.")


def test_a_staff_page_not_found_leads_to_the_staff_home_not_the_shop() -> None:
    app = Litestar([missing_staff_page], exception_handlers=EXCEPTION_HANDLERS)
    with TestClient(app) as client:
        response = client.get("/staff/stock/books/9780000000002", headers=HTML)
    assert response.status_code == 404
    shown = html.fromstring(response.text)

    links = {a.text_content(): a.get("href") for a in shown.iter("a")}
    assert links == {"Back to the staff pages": "/staff"}
    assert not shown.cssselect("form[action='/search']")
