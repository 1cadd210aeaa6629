"""What an outsider can do with a browser: forge a form (CSRF), read staff data through reader
pages, or find out whose orders exist from the order-status look-up.

(Which role may use which route is tested from the route tables in
tests/shared/integration/test_shared_auth_route_table.py.)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.middleware.csrf import generate_csrf_token
from litestar.routes import HTTPRoute

from shared.auth.csrf import CSRF_COOKIE, CSRF_EXEMPT_PATHS, CSRF_HEADER
from shared.auth.roles import Role
from shared.auth.sessions import SESSION_COOKIE

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PARAMETER = re.compile(r"\{(\w+):(\w+)\}")


def unsafe_routes(shop: Any) -> Iterator[tuple[str, str, str]]:
    """(service, method, concrete path) of every state-changing route the CSRF check covers."""
    values = {
        "isbn": shop.isbns[0],
        "reference": shop.order_reference,
        "article_id": shop.article_id,
        "email_id": "1",
    }
    for service, app in shop.apps.items():
        for route in app.routes:
            if not isinstance(route, HTTPRoute):
                continue
            if any(re.search(pattern, route.path) for pattern in CSRF_EXEMPT_PATHS):
                continue
            path = PARAMETER.sub(lambda m: values.get(m.group(1), "a1"), route.path)
            for method in sorted(UNSAFE_METHODS & set(route.route_handler_map)):
                yield service, method, path


def test_every_form_and_staff_call_is_refused_without_the_csrf_token(shop: Any) -> None:
    admin = shop.staff[Role.ADMIN]
    foreign = generate_csrf_token("another-site-s-secret-key-0123456789abcdef")
    refused: list[str] = []
    routes = list(unsafe_routes(shop))
    # The staff sign-in and sign-out forms are among them (login CSRF, forced sign-out).
    assert ("catalogue", "POST", "/staff/login") in routes
    assert ("catalogue", "POST", "/staff/logout") in routes
    assert len(routes) > 30
    attempts = {
        "no token": {"Cookie": f"{SESSION_COOKIE}={admin.session_id}"},
        "cookie without header": {
            "Cookie": f"{SESSION_COOKIE}={admin.session_id}; {CSRF_COOKIE}={admin.csrf_token}"
        },
        "token of another secret": {
            "Cookie": f"{SESSION_COOKIE}={admin.session_id}; {CSRF_COOKIE}={foreign}",
            CSRF_HEADER: foreign,
        },
    }
    for service, method, path in routes:
        with shop.client(service) as client:
            for how, headers in attempts.items():
                response = client.request(
                    method, path, headers=headers, data={"username": "admin-person"}
                )
                if response.status_code != 403:
                    refused.append(f"{method} {path} ({how}): {response.status_code}")
    assert not refused, "answered without a valid CSRF token:\n" + "\n".join(refused)


def test_storing_an_article_through_the_public_endpoint_needs_the_token(shop: Any) -> None:
    """POST /recommendations is exempt (article pages call it); storing is not."""
    editor = shop.staff[Role.EDITOR]
    with shop.client("recommendation") as client:
        response = client.post(
            "/recommendations",
            json={"text": "Dockers strike.", "article_id": "forged"},
            headers={"Cookie": f"{SESSION_COOKIE}={editor.session_id}"},
        )
    assert response.status_code == 403, response.text


def test_the_stripe_webhook_is_exempt_only_because_it_checks_stripes_signature(shop: Any) -> None:
    event = {"id": "evt_forged", "type": "checkout.session.completed", "data": {"object": {}}}
    unsigned = shop.checkout.post("/checkout/stripe/webhook", json=event)
    forged = shop.checkout.post(
        "/checkout/stripe/webhook", json=event, headers={"Stripe-Signature": "t=1,v1=00"}
    )
    assert unsigned.status_code == 400, unsigned.text
    assert forged.status_code == 400, forged.text


# --- reader pages show nothing of the staff's -------------------------------------------------

SECRET_REASON = "shrinkage-noted-by-staff-7731"
OTHER_EMAIL = "other.customer.9921@example.org"
OTHER_ADDRESS = "99 Secret Lane"


@pytest.fixture(scope="module")
def staff_traces(shop: Any) -> list[str]:
    """A stock adjustment with a reason, another customer's phone order, an editor's pin:
    what reader pages must never show."""
    stock, phone, editor = (shop.staff[r] for r in (Role.STOCK, Role.PHONE_ORDERS, Role.EDITOR))
    adjusted = shop.catalogue.post(
        "/api/catalogue/stock/adjustments",
        json={"isbn13": shop.isbns[1], "change": -1, "reason": SECRET_REASON},
        headers=stock.headers,
    )
    assert adjusted.status_code == 201, adjusted.text
    placed = shop.checkout.post(
        "/api/checkout/orders",
        json={
            "customer": {
                "name": "Other Customer",
                "email": OTHER_EMAIL,
                "phone": "07700 900123",
                "address": [OTHER_ADDRESS, "Leeds", "LS1 1AA"],
            },
            "lines": [{"isbn": shop.isbns[1], "quantity": 1}],
            "delivery": "post",
        },
        headers={**phone.headers, "Idempotency-Key": "attack-other-customer"},
    )
    assert placed.status_code == 201, placed.text
    pinned = shop.recommendation.post(
        f"/api/recommendation/articles/{shop.article_id}/pins/{shop.isbns[2]}",
        headers=editor.headers,
    )
    assert pinned.status_code == 200, pinned.text
    return [
        SECRET_REASON,
        OTHER_EMAIL,
        OTHER_ADDRESS,
        "07700 900123",
        "Other Customer",
        stock.identity.username,
        phone.identity.username,
        editor.identity.username,
        "ledger",
        "reorder",
        "on_hand",
        "actor",
    ]


def reader_pages(shop: Any) -> list[tuple[str, str, dict[str, Any]]]:
    article = shop.article_id
    return [
        ("catalogue", f"/books/{shop.isbns[0]}", {}),
        ("catalogue", f"/books/{shop.isbns[1]}", {}),
        ("catalogue", "/search?q=imperialism", {}),
        ("catalogue", f"/search?q={shop.isbns[1]}", {}),
        ("recommendation", f"/articles/{article}/books", {}),
        ("recommendation", f"/articles/{article}/snippet", {}),
        ("recommendation", f"/go/{article}/{shop.isbns[2]}", {}),
        ("checkout", f"/checkout/cancel?order_id={uuid.uuid4()}", {}),
        ("checkout", "/checkout/success?session_id=cs_test_unknown", {}),
        ("checkout", "/orders/status", {}),
        (
            "checkout",
            "/orders/status",
            {
                "method": "POST",
                "data": {"reference": shop.order_reference, "email": shop.order_email},
            },
        ),
    ]


def test_reader_pages_show_no_staff_data(shop: Any, staff_traces: list[str]) -> None:
    leaks = []
    for service, path, how in reader_pages(shop):
        with shop.client(service) as client:
            response = client.request(how.get("method", "GET"), path, data=how.get("data"))
        assert response.status_code < 500, (path, response.status_code)
        shown = response.text + response.headers.get("location", "")
        leaks += [f"{path}: {trace!r}" for trace in staff_traces if trace in shown]
    assert not leaks, "reader pages show staff data:\n" + "\n".join(leaks)


def test_an_articles_public_books_carry_no_editors_figures(shop: Any, staff_traces: Any) -> None:
    found = shop.recommendation.get(f"/articles/{shop.article_id}/books").json()
    assert set(found) == {"article", "books", "index_version"}
    assert set(found["article"]) == {"id", "headline", "published", "source_url"}
    for book in found["books"]:
        assert set(book) == {
            "isbn13",
            "title",
            "authors",
            "price_pence",
            "available",
            "reason",
            "score",
            "link",
        }


# --- the order status look-up tells nobody whose orders exist ---------------------------------


def look_up(shop: Any, reference: str, email: str) -> Any:
    return shop.checkout.post("/orders/status", data={"reference": reference, "email": email})


def test_the_order_status_needs_the_reference_and_its_email(shop: Any) -> None:
    found = look_up(shop, shop.order_reference, shop.order_email)
    assert found.status_code == 200
    assert shop.order_reference in found.text
    # The reader may type the email as it comes.
    again = look_up(shop, f" {shop.order_reference.lower()} ", f" {shop.order_email.upper()} ")
    assert again.status_code == 200


@pytest.mark.parametrize(
    "wrong",
    [
        {"email": OTHER_EMAIL},
        {"email": ""},
        {"email": "reader.one@example.org.attacker.test"},
        {"email": "%"},
        {"email": "*"},
    ],
)
def test_a_wrong_email_gets_the_same_answer_as_an_unknown_reference(
    shop: Any, wrong: dict[str, str]
) -> None:
    """No enumeration: a real reference with the wrong email reads exactly like a made-up one."""
    made_up = "BK" + "Z" * (len(shop.order_reference) - 2)
    real_reference = look_up(shop, shop.order_reference, wrong["email"])
    unknown_reference = look_up(shop, made_up, wrong["email"])
    assert real_reference.status_code == unknown_reference.status_code == 404
    assert real_reference.text.replace(shop.order_reference, "REF") == (
        unknown_reference.text.replace(made_up, "REF")
    )
