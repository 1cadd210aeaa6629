"""The import page with a file over the import limit (SQLite and Postgres): the form again,
saying so (413), whether the request's size or the file's gives it away; other pages keep
the bare 413."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Client, OpenClient
from lxml import html

from services.catalogue.imports.limits import MAX_IMPORT_BYTES
from services.catalogue.staff_pages.import_pages import FORM_BYTES
from shared.auth.csrf import CSRF_COOKIE, CSRF_HEADER

pytestmark = pytest.mark.integration

TOO_LARGE = (
    "Nothing was imported: the file is over 64 MB, the most an import may be: split it into "
    "smaller files and import each."
)
CSV_HEADER = b"isbn13,title,price_pence\n"


def said(response: Any) -> list[str]:
    return [
        " ".join(node.text_content().split())
        for node in html.fromstring(response.text).xpath("//p[@role='alert']")
    ]


async def upload(client: Client, size: int, **form: str) -> Any:
    content = CSV_HEADER + b"9798463348616,A,1299\n" * ((size - len(CSV_HEADER)) // 21 + 1)
    return await client.post(
        "/staff/stock/import",
        files={"file": ("everything.csv", content[:size], "text/csv")},
        data={"format": "", **form},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )


async def test_a_request_over_the_limit_gets_the_form_saying_the_file_is_too_large(
    client: Client,
) -> None:
    response = await upload(client, MAX_IMPORT_BYTES + FORM_BYTES)
    assert response.status_code == 413
    assert said(response) == [TOO_LARGE]
    assert html.fromstring(response.text).xpath("//form//input[@name='file']")


async def test_a_browsers_upload_over_the_limit_gets_a_form_it_can_send_again(
    client: Client,
) -> None:
    # A browser sends the CSRF token in the form, not a header: the CSRF check reads the body,
    # and the size stops it there, before the route's handler.
    token = client.cookies[CSRF_COOKIE]
    del client.headers[CSRF_HEADER]
    response = await upload(client, MAX_IMPORT_BYTES + FORM_BYTES, _csrf_token=token)
    assert response.status_code == 413
    assert said(response) == [TOO_LARGE]
    [given] = html.fromstring(response.text).xpath(
        "//form[@action='/staff/stock/import']//input[@name='_csrf_token']/@value"
    )
    assert given == token
    again = await upload(client, 100, _csrf_token=given)
    assert again.status_code == 303


async def test_a_file_over_the_limit_in_a_request_under_it_gets_the_same_answer(
    client: Client,
) -> None:
    response = await upload(client, MAX_IMPORT_BYTES + 1)
    assert response.status_code == 413
    assert said(response) == [TOO_LARGE]


async def test_an_upload_over_the_limit_from_someone_signed_out_is_sent_to_sign_in(
    open_client: OpenClient,
) -> None:
    async with open_client() as reader:
        response = await upload(reader, MAX_IMPORT_BYTES + FORM_BYTES)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login?next=")
    assert "Import" not in response.text


async def test_other_pages_keep_the_bare_answer_to_a_body_too_large(client: Client) -> None:
    response = await client.post(
        "/staff/stock/goods-in/scan",
        data={"isbn": "9" * (300 * 1024)},
        headers={"accept": "text/html"},
    )
    assert response.status_code == 413
    assert "Request Entity Too Large" in response.text
    assert "split it" not in response.text
