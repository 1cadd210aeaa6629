"""After a session ends mid-form, signing in again lands on the page the form was on."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar, get, post
from litestar.params import FromPath
from litestar.testing import TestClient

from shared.auth.guards import requires
from shared.auth.roles import Role
from shared.web import EXCEPTION_HANDLERS

SITE = "http://testserver.local"


@get("/staff/stock/books/{isbn:str}", guards=[requires(Role.STOCK)], sync_to_thread=False)
def book(isbn: FromPath[str]) -> str:
    return isbn


@post(
    "/staff/stock/books/{isbn:str}/reorder-point",
    guards=[requires(Role.STOCK)],
    sync_to_thread=False,
)
def reorder_point(isbn: FromPath[str]) -> str:
    return isbn


def _next_after_sign_in(
    method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    app = Litestar([book, reorder_point], exception_handlers=EXCEPTION_HANDLERS)
    with TestClient(app, base_url=SITE) as client:
        response = client.request(method, path, headers=headers, follow_redirects=False)
    location = response.headers.get("location") or response.headers.get("hx-redirect") or ""
    [next_path] = parse_qs(urlsplit(location).query)["next"]
    return response.status_code, next_path


def test_a_page_asked_for_is_where_signing_in_returns() -> None:
    assert _next_after_sign_in("GET", "/staff/stock/books/1?before=9") == (
        303,
        "/staff/stock/books/1?before=9",
    )


@pytest.mark.parametrize(
    ("headers", "lands_on"),
    [
        ({"referer": f"{SITE}/staff/stock/books/1?before=9"}, "/staff/stock/books/1?before=9"),
        # the page's notice of the action before it is not shown again
        (
            {"referer": f"{SITE}/staff/stock/books/1?done=saved&before=9"},
            "/staff/stock/books/1?before=9",
        ),
        ({"referer": f"{SITE}/staff/stock/books/1?done=saved"}, "/staff/stock/books/1"),
        ({"referer": "https://evil.example/staff/stock"}, "/staff/stock"),
        ({"referer": f"{SITE}//evil.example/"}, "/staff"),
        ({"referer": "javascript:alert(1)"}, "/staff/stock"),
        ({}, "/staff/stock"),
    ],
)
def test_a_forms_post_returns_to_the_page_the_form_was_on_never_another_site(
    headers: dict[str, str], lands_on: str
) -> None:
    assert _next_after_sign_in("POST", "/staff/stock/books/1/reorder-point", headers) == (
        303,
        lands_on,
    )


def test_an_htmx_request_returns_to_the_page_shown_not_the_fragment() -> None:
    headers = {"hx-request": "true", "hx-current-url": f"{SITE}/staff/stock/books/1"}
    assert _next_after_sign_in("POST", "/staff/stock/books/1/reorder-point", headers) == (
        401,
        "/staff/stock/books/1",
    )
