"""Signing in to the staff pages at the catalogue, on SQLite and Postgres with a real Redis:
sessions and their cookie, sign-out, lock-out after five failures, CSRF on every form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from conftest import OpenClient
from litestar.testing import AsyncTestClient
from lxml import html

from services.catalogue.app import create_app
from services.catalogue.settings import CatalogueSettings
from services.catalogue.staff import AccountLocked, SignInRefused, StaffService
from shared.auth.lockout import LockoutPolicy
from shared.auth.sessions import SESSION_COOKIE, SESSION_NAMESPACE
from shared.auth.settings import StaffAuthSettings
from shared.db import Database
from shared.messaging.message import utcnow

PASSWORD = "correct horse battery"
WRONG = "incorrect horse battery"
ALERT = re.compile(r'<p class="message error" role="alert">(.*?)</p>')


@pytest.fixture
async def staff(db: Database) -> StaffService:
    service = StaffService(db=db, lockout=LockoutPolicy())
    await service.add(username="Sam", password=PASSWORD, roles=["stock"], display_name="Sam Smith")
    return service


@pytest.fixture
async def client(
    open_client: OpenClient, staff: StaffService
) -> AsyncIterator[AsyncTestClient[Any]]:
    async with open_client() as test_client:
        yield test_client


async def login_form(client: AsyncTestClient[Any], query: str = "") -> dict[str, str]:
    """The sign-in form's hidden fields (CSRF token, next), as a browser would send them."""
    response = await client.get(f"/staff/login{query}")
    assert response.status_code == 200
    [form] = html.fromstring(response.text).xpath("//form[@action='/staff/login']")
    return {name: value for name, value in form.form_values() if name in ("_csrf_token", "next")}


async def sign_in(
    client: AsyncTestClient[Any], username: str, password: str, query: str = ""
) -> Any:
    fields = await login_form(client, query)
    return await client.post(
        "/staff/login",
        data={**fields, "username": username, "password": password},
        follow_redirects=False,
    )


def set_cookie(response: Any, name: str) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


async def test_sign_in_takes_you_where_you_were_going_with_a_safe_cookie(
    client: AsyncTestClient[Any],
) -> None:
    home = await client.get("/staff", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"] == "/staff/login?next=%2Fstaff"

    response = await sign_in(client, "SAM", PASSWORD, query="?next=/staff/stock")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/stock"
    cookie = set_cookie(response, SESSION_COOKIE)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert "Max-Age=28800" in cookie
    assert "Secure" not in cookie

    page = await client.get("/staff")
    assert page.status_code == 200
    assert "Hello, Sam Smith" in page.text
    links = html.fromstring(page.text).xpath("//ul[@class='pages']//a/@href")
    assert links == ["/staff/stock"]


async def test_an_htmx_request_after_the_session_ended_sends_the_whole_page_to_sign_in(
    client: AsyncTestClient[Any],
) -> None:
    response = await client.get("/staff", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/staff/login?next=%2Fstaff"


async def test_sign_in_never_leads_off_the_site(client: AsyncTestClient[Any]) -> None:
    response = await sign_in(client, "sam", PASSWORD, query="?next=//evil.example/")
    assert response.headers["location"] == "/staff"


async def test_signing_in_replaces_a_planted_session_id(client: AsyncTestClient[Any]) -> None:
    planted = "a" * 64
    client.cookies.set(SESSION_COOKIE, planted)
    response = await sign_in(client, "sam", PASSWORD)
    new_id = set_cookie(response, SESSION_COOKIE).split(";")[0].split("=", 1)[1]
    assert new_id != planted
    assert len(new_id) == 64


async def test_sign_out_ends_the_session_everywhere(
    client: AsyncTestClient[Any], redis_url: str
) -> None:
    response = await sign_in(client, "sam", PASSWORD)
    session_id = set_cookie(response, SESSION_COOKIE).split(";")[0].split("=", 1)[1]
    redis = aioredis.from_url(redis_url)
    try:
        assert await redis.exists(f"{SESSION_NAMESPACE}:{session_id}")
        ttl = await redis.ttl(f"{SESSION_NAMESPACE}:{session_id}")
        assert 8 * 3600 - 60 < ttl <= 8 * 3600
        page = await client.get("/staff")
        token = html.fromstring(page.text).xpath(
            "//form[@action='/staff/logout']//input[@name='_csrf_token']/@value"
        )[0]
        out = await client.post(
            "/staff/logout", data={"_csrf_token": token}, follow_redirects=False
        )
        assert out.status_code == 303
        assert out.headers["location"] == "/staff/login?signed_out=1"
        assert not await redis.exists(f"{SESSION_NAMESPACE}:{session_id}")
    finally:
        await redis.aclose()
    # The browser still sending the old cookie gets nothing for it.
    client.cookies.set(SESSION_COOKIE, session_id)
    again = await client.get("/staff", follow_redirects=False)
    assert again.status_code == 303


async def test_a_session_is_not_extended_by_use(
    client: AsyncTestClient[Any], redis_url: str
) -> None:
    response = await sign_in(client, "sam", PASSWORD)
    session_id = set_cookie(response, SESSION_COOKIE).split(";")[0].split("=", 1)[1]
    redis = aioredis.from_url(redis_url)
    try:
        await redis.expire(f"{SESSION_NAMESPACE}:{session_id}", 100)
        page = await client.get("/staff")
        assert page.status_code == 200
        assert SESSION_COOKIE not in page.headers.get("set-cookie", "")
        assert await redis.ttl(f"{SESSION_NAMESPACE}:{session_id}") <= 100
    finally:
        await redis.aclose()


async def test_unknown_users_and_wrong_passwords_get_the_same_answer(
    client: AsyncTestClient[Any],
) -> None:
    unknown = await sign_in(client, "nobody", PASSWORD)
    wrong = await sign_in(client, "sam", WRONG)
    assert unknown.status_code == wrong.status_code == 401
    assert ALERT.findall(unknown.text) == ALERT.findall(wrong.text)
    assert "do not match" in wrong.text
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")


async def test_five_failures_lock_the_account_and_only_the_right_password_hears_it(
    client: AsyncTestClient[Any], staff: StaffService
) -> None:
    for _ in range(5):
        assert (await sign_in(client, "sam", WRONG)).status_code == 401
    right = await sign_in(client, "sam", PASSWORD)
    wrong = await sign_in(client, "sam", WRONG)
    assert right.status_code == 401
    assert "locked after too many failed sign-ins" in right.text
    assert "Try again in 15 minutes" in right.text
    unknown = await sign_in(client, "nobody", WRONG)
    assert ALERT.findall(wrong.text) == ALERT.findall(unknown.text)  # the lock is not told
    assert SESSION_COOKIE not in right.headers.get("set-cookie", "")

    await staff.unlock(username="sam")
    assert (await sign_in(client, "sam", PASSWORD)).status_code == 303


async def test_a_lock_runs_out_and_a_success_clears_the_count(db: Database) -> None:
    now = utcnow()
    clock = [now]
    staff = StaffService(
        db=db,
        lockout=LockoutPolicy(max_failures=3, lock_for=timedelta(minutes=15)),
        clock=lambda: clock[0],
    )
    await staff.add(username="pat", password=PASSWORD, roles=["editor"], display_name=None)
    for _ in range(2):
        with pytest.raises(SignInRefused):
            await staff.sign_in(username="pat", password=WRONG)
    await staff.sign_in(username="pat", password=PASSWORD)  # clears the two failures
    for _ in range(3):
        with pytest.raises(SignInRefused) as refused:
            await staff.sign_in(username="pat", password=WRONG)
        assert not isinstance(refused.value, AccountLocked)
    with pytest.raises(AccountLocked):
        await staff.sign_in(username="pat", password=PASSWORD)
    clock[0] = now + timedelta(minutes=15)
    identity = await staff.sign_in(username="pat", password=PASSWORD)
    assert identity.username == "pat"
    assert [m.locked_until for m in await staff.list() if m.username == "pat"] == [None]


async def test_a_disabled_account_cannot_sign_in(
    client: AsyncTestClient[Any], staff: StaffService
) -> None:
    await staff.set_disabled(username="sam", disabled=True)
    response = await sign_in(client, "sam", PASSWORD)
    assert response.status_code == 401
    assert "do not match" in response.text


async def test_a_form_post_without_the_csrf_token_is_refused(
    client: AsyncTestClient[Any],
) -> None:
    await client.get("/staff/login")  # the browser has the cookie, but the form lacks the token
    response = await client.post(
        "/staff/login",
        data={"username": "sam", "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


async def test_the_staff_api_refuses_a_signed_in_call_without_the_csrf_header(
    client: AsyncTestClient[Any],
) -> None:
    await sign_in(client, "sam", PASSWORD)
    delivery = {"lines": [{"isbn13": "9798463348616", "quantity": 1}]}
    without = await client.post("/api/catalogue/stock/deliveries", json=delivery)
    assert without.status_code == 403
    assert "CSRF" in without.json()["detail"]


async def test_the_csrf_cookie_is_http_only_and_readers_get_no_session(
    client: AsyncTestClient[Any],
) -> None:
    page = await client.get("/staff/login")
    assert "HttpOnly" in set_cookie(page, "bookshop_csrf")
    public = await client.get("/search", params={"q": "x"})
    assert SESSION_COOKIE not in public.headers.get("set-cookie", "")


async def test_cookies_are_secure_when_configured(
    catalogue_url: str, redis_url: str, staff: StaffService
) -> None:
    settings = CatalogueSettings(
        database_url=catalogue_url,
        redis_url=redis_url,
        staff_auth=StaffAuthSettings(
            secret_key="another-test-secret-key-0123456789abcdef", secure_cookies=True
        ),
    )
    async with AsyncTestClient(app=create_app(settings), base_url="https://shop.test") as client:
        page = await client.get("/staff/login")
        assert "Secure" in set_cookie(page, "bookshop_csrf")
        response = await sign_in(client, "sam", PASSWORD)
        assert "Secure" in set_cookie(response, SESSION_COOKIE)


async def test_reader_pages_never_load_a_staff_session(
    catalogue_url: str, staff_auth: StaffAuthSettings
) -> None:
    """A signed-in member of staff reading the shop costs no Redis round trip: with Redis out of
    reach, the readers' pages still answer while a staff page cannot load its session."""
    settings = CatalogueSettings(
        database_url=catalogue_url, redis_url="redis://127.0.0.1:9/0", staff_auth=staff_auth
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.cookies.set(SESSION_COOKIE, "a" * 64)
        assert (await client.get("/search", params={"q": "x"})).status_code == 200
        assert (await client.get("/books/9780745334530")).status_code == 404
        staff_page = await client.get("/staff", follow_redirects=False)
        assert staff_page.status_code >= 500
