"""Every staff route of every service, walked from the apps' route tables: none answers
without a session, none answers someone whose roles are not allowed, and the allowed roles
(and admin) get past the guard. Each route's roles are declared below, so a new route without a
declaration fails here until someone says who may use it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from services.catalogue.app import create_app as create_catalogue
from services.catalogue.settings import CatalogueSettings
from services.checkout.app import create_app as create_checkout
from services.checkout.settings import CheckoutSettings
from services.recommendation.app import create_app as create_recommendation
from services.recommendation.settings import RecommendationSettings
from shared.auth.csrf import CSRF_COOKIE, CSRF_HEADER
from shared.auth.roles import Role
from shared.auth.settings import StaffAuthSettings
from shared.migrations import upgrade

PUBLIC = "public"
ANY_STAFF = frozenset(Role) - {Role.ADMIN}
STOCK = frozenset({Role.STOCK})
PHONE = frozenset({Role.PHONE_ORDERS})
EDITOR = frozenset({Role.EDITOR})
LOOK_UP_BOOKS = frozenset({Role.STOCK, Role.PHONE_ORDERS, Role.EDITOR})

Access = frozenset[Role] | str


def schema_routes(service: str) -> dict[tuple[str, str], Access]:
    """The OpenAPI schema and its viewers: the API's shape is no secret."""
    base = f"/api/{service}/schema"
    return {
        ("GET", path): PUBLIC
        for path in (
            base,
            f"{base}/swagger",
            f"{base}/openapi.json",
            f"{base}/oauth2-redirect.html",
            f"{base}/{{path:str}}",
        )
    }


WHO_MAY: dict[str, dict[tuple[str, str], Access]] = {
    "catalogue": {
        ("GET", "/staff/login"): PUBLIC,
        ("POST", "/staff/login"): PUBLIC,
        ("POST", "/staff/logout"): PUBLIC,
        ("GET", "/staff"): ANY_STAFF,
        ("POST", "/api/catalogue/books"): STOCK,
        ("GET", "/api/catalogue/books/{isbn:str}"): LOOK_UP_BOOKS,
        ("PATCH", "/api/catalogue/books/{isbn:str}"): STOCK,
        ("GET", "/api/catalogue/books/{isbn:str}/ledger"): STOCK,
        ("GET", "/api/catalogue/search"): LOOK_UP_BOOKS,
        ("POST", "/api/catalogue/stock/deliveries"): STOCK,
        ("POST", "/api/catalogue/stock/returns"): STOCK,
        ("POST", "/api/catalogue/stock/adjustments"): STOCK,
        ("POST", "/api/catalogue/stock/stocktake/preview"): STOCK,
        ("POST", "/api/catalogue/stock/stocktake"): STOCK,
        ("GET", "/api/catalogue/stock/low"): STOCK,
        ("GET", "/staff/stock"): STOCK,
        ("GET", "/staff/stock/search"): STOCK,
        ("GET", "/staff/stock/books/{isbn:str}"): STOCK,
        ("POST", "/staff/stock/books/{isbn:str}/adjust"): STOCK,
        ("POST", "/staff/stock/books/{isbn:str}/reorder-point"): STOCK,
        ("POST", "/staff/stock/books/{isbn:str}/edit"): STOCK,
        ("GET", "/staff/stock/new-book"): STOCK,
        ("POST", "/staff/stock/new-book"): STOCK,
        ("GET", "/staff/stock/goods-in"): STOCK,
        ("POST", "/staff/stock/goods-in/scan"): STOCK,
        ("POST", "/staff/stock/goods-in/remove/{isbn:str}"): STOCK,
        ("POST", "/staff/stock/goods-in/save"): STOCK,
        ("POST", "/staff/stock/goods-in/clear"): STOCK,
        ("POST", "/staff/stock/goods-in/confirm"): STOCK,
        ("GET", "/staff/stock/import"): STOCK,
        ("POST", "/staff/stock/import"): STOCK,
        ("GET", "/staff/stock/import/{job_id:str}"): STOCK,
        ("GET", "/staff/stock/import/{job_id:str}/progress"): STOCK,
        ("GET", "/staff/stock/low-stock"): STOCK,
        ("GET", "/staff/stock/low-stock.csv"): STOCK,
        ("GET", "/staff/stock/stock-take"): STOCK,
        ("POST", "/staff/stock/stock-take/preview"): STOCK,
        ("POST", "/staff/stock/stock-take/recount"): STOCK,
        ("POST", "/staff/stock/stock-take/write"): STOCK,
        **schema_routes("catalogue"),
    },
    "checkout": {
        ("POST", "/api/checkout/orders"): PHONE,
        ("GET", "/api/checkout/orders/{reference:str}"): PHONE,
        ("POST", "/api/checkout/orders/{reference:str}/payment-link"): PHONE,
        ("POST", "/api/checkout/orders/{reference:str}/pay-on-collection"): PHONE,
        ("POST", "/api/checkout/orders/{reference:str}/refund"): PHONE,
        ("POST", "/api/checkout/orders/{reference:str}/fulfil"): PHONE,
        ("POST", "/api/checkout/orders/{reference:str}/cancel"): PHONE,
        ("GET", "/staff/phone"): PHONE,
        ("GET", "/staff/phone/books"): PHONE,
        ("GET", "/staff/phone/customers"): PHONE,
        ("POST", "/staff/phone/basket"): PHONE,
        ("POST", "/staff/phone/orders"): PHONE,
        ("GET", "/staff/phone/orders/{reference:str}"): PHONE,
        ("POST", "/staff/phone/orders/{reference:str}/payment-link"): PHONE,
        ("POST", "/staff/phone/orders/{reference:str}/pay-on-collection"): PHONE,
        ("GET", "/staff/orders"): PHONE,
        ("GET", "/staff/orders/{reference:str}"): PHONE,
        ("POST", "/staff/orders/{reference:str}/fulfilment"): PHONE,
        ("POST", "/staff/orders/{reference:str}/refund"): PHONE,
        ("POST", "/staff/orders/{reference:str}/cancel"): PHONE,
        ("POST", "/staff/orders/{reference:str}/emails/{email_id:int}/resend"): PHONE,
        **schema_routes("checkout"),
    },
    "recommendation": {
        ("GET", "/api/recommendation/articles"): EDITOR,
        ("GET", "/api/recommendation/articles/{article_id:str}"): EDITOR,
        ("GET", "/api/recommendation/articles/{article_id:str}/rules"): EDITOR,
        ("GET", "/api/recommendation/articles/{article_id:str}/report"): EDITOR,
        ("POST", "/api/recommendation/articles/{article_id:str}/pins/{isbn:str}"): EDITOR,
        ("DELETE", "/api/recommendation/articles/{article_id:str}/pins/{isbn:str}"): EDITOR,
        ("POST", "/api/recommendation/articles/{article_id:str}/bans/{isbn:str}"): EDITOR,
        ("DELETE", "/api/recommendation/articles/{article_id:str}/bans/{isbn:str}"): EDITOR,
        ("GET", "/staff/editor"): EDITOR,
        ("GET", "/staff/editor/articles"): EDITOR,
        ("POST", "/staff/editor/articles"): EDITOR,
        ("GET", "/staff/editor/articles/{article_id:str}"): EDITOR,
        ("GET", "/staff/editor/articles/{article_id:str}/rules"): EDITOR,
        ("POST", "/staff/editor/articles/{article_id:str}/rules"): EDITOR,
        **schema_routes("recommendation"),
    },
}

# A value for each kind of path parameter, so every route can be asked.
PARAMETER_VALUES = {"isbn": "9780745334530", "reference": "ABCDEFGH", "email_id": "1"}
PARAMETER = re.compile(r"\{(\w+):(\w+)\}")


def staff_routes(app: Litestar) -> Iterator[tuple[str, str]]:
    """(method, path) of every route under /staff or /api/, as the app will route them."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        if not route.path.startswith(("/staff", "/api/")):
            continue
        for method in route.route_handler_map:
            # OPTIONS is Litestar's own answer listing the methods, on every route.
            if method != "OPTIONS":
                yield method, route.path


def concrete(path: str) -> str:
    return PARAMETER.sub(lambda m: PARAMETER_VALUES.get(m.group(1), "a1"), path)


class Caller:
    """Asks a route as nobody, or as a staff member with one role; always with a CSRF token,
    so what answers is the guard, not the CSRF check."""

    def __init__(self, clients: dict[str, AsyncTestClient[Any]], credentials: dict) -> None:
        self._clients = clients
        self._credentials = credentials
        # Anyone's CSRF token will do: it is not tied to a session.
        self._token = next(iter(credentials.values())).csrf_token

    async def call(self, service: str, method: str, path: str, role: Role | None) -> Any:
        if role is None:
            headers = {"Cookie": f"{CSRF_COOKIE}={self._token}", CSRF_HEADER: self._token}
        else:
            headers = self._credentials[role].headers
        body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
        return await self._clients[service].request(
            method,
            concrete(path),
            headers={**headers, "accept": "text/html,application/json"},
            json=body,
            follow_redirects=False,
        )


@pytest.fixture
async def shop(
    tmp_path: Path, redis_url: str, staff_auth: StaffAuthSettings
) -> AsyncIterator[dict[str, AsyncTestClient[Any]]]:
    urls = {name: f"sqlite+aiosqlite:///{tmp_path / name}.db" for name in WHO_MAY}
    for name, url in urls.items():
        upgrade(f"services.{name}:migrations", url)
    common: dict[str, Any] = {"redis_url": redis_url, "staff_auth": staff_auth}
    apps = {
        "catalogue": create_catalogue(CatalogueSettings(database_url=urls["catalogue"], **common)),
        "checkout": create_checkout(
            CheckoutSettings(
                database_url=urls["checkout"],
                # Nothing answers here: an allowed call that reaches Stripe fails fast.
                stripe_api_base="http://127.0.0.1:9",
                stripe_max_network_retries=0,
                stripe_timeout_seconds=1,
                reply_timeout_seconds=0.5,
                **common,
            )
        ),
        "recommendation": create_recommendation(
            RecommendationSettings(database_url=urls["recommendation"], **common)
        ),
    }
    async with AsyncExitStack() as stack:
        yield {
            name: await stack.enter_async_context(AsyncTestClient(app=app))
            for name, app in apps.items()
        }


@pytest.fixture
async def caller(
    shop: dict[str, AsyncTestClient[Any]], staff_credentials: Callable[..., Awaitable[Any]]
) -> Caller:
    credentials = {role: await staff_credentials(role, username=role.value) for role in Role}
    return Caller(shop, credentials)


def test_every_staff_route_has_declared_roles(shop: dict[str, AsyncTestClient[Any]]) -> None:
    for service, client in shop.items():
        routes = set(staff_routes(client.app))
        declared = set(WHO_MAY[service])
        assert routes - declared == set(), f"{service}: say who may use these routes"
        assert declared - routes == set(), f"{service}: these declared routes are gone"


async def test_no_staff_route_answers_without_the_right_role(caller: Caller) -> None:
    checked = 0
    for service, routes in WHO_MAY.items():
        for (method, path), allowed in routes.items():
            if allowed == PUBLIC:
                continue
            assert isinstance(allowed, frozenset)
            where = f"{method} {path}"
            anonymous = await caller.call(service, method, path, None)
            if path.startswith("/staff"):
                assert anonymous.status_code == 303, where
                assert anonymous.headers["location"].startswith("/staff/login?next="), where
            else:
                assert anonymous.status_code == 401, where
            for role in Role:
                response = await caller.call(service, method, path, role)
                if role in allowed or role is Role.ADMIN:
                    assert response.status_code not in (401, 403), f"{where} as {role}"
                    assert "/staff/login" not in response.headers.get("location", ""), where
                else:
                    assert response.status_code == 403, f"{where} as {role}"
                    assert "role" in response.text, where
            checked += 1
    assert checked >= 60  # the walk really covered the shop's staff routes


async def test_storing_an_article_through_the_public_endpoint_needs_an_editor(
    shop: dict[str, AsyncTestClient[Any]], staff_credentials: Callable[..., Awaitable[Any]]
) -> None:
    client = shop["recommendation"]
    body = {"text": "An article.", "article_id": "a1"}
    stock = await staff_credentials(Role.STOCK, username="sam")
    editor = await staff_credentials(Role.EDITOR, username="erin")
    anonymous = await client.post("/recommendations", json=body)
    not_an_editor = await client.post("/recommendations", json=body, headers=stock.headers)
    no_token = await client.post(
        "/recommendations",
        json=body,
        headers={"Cookie": editor.headers["Cookie"]},
    )
    assert anonymous.status_code == 401
    assert not_an_editor.status_code == 403
    assert no_token.status_code == 403 and "CSRF" in no_token.text
