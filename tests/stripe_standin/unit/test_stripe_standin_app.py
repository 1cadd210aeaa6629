"""The app in process (no network): idempotency, faults, auth and the expiry sweep."""

import logging
import time
from collections.abc import Iterator

import httpx
import pytest
from litestar.testing import TestClient

from services.stripe_standin import StripeStandinSettings, create_app
from shared.observability.logs import configure_logging

AUTH = {"Authorization": "Bearer sk_test_unit"}
SESSION = {
    "mode": "payment",
    "success_url": "https://shop.example/thanks",
    "line_items[0][price_data][currency]": "gbp",
    "line_items[0][price_data][unit_amount]": "1500",
    "line_items[0][price_data][product_data][name]": "L'Assommoir",
    "line_items[0][quantity]": "1",
}


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(clock: Clock) -> Iterator[TestClient]:
    settings = StripeStandinSettings(expiry_sweep_seconds=0.05, webhook_urls=["http://hook"])
    app = create_app(
        settings, clock=clock, transport=httpx.MockTransport(lambda _: httpx.Response(200))
    )
    with TestClient(app) as test_client:
        yield test_client


def test_a_replayed_key_returns_the_stored_response(client: TestClient) -> None:
    headers = AUTH | {"Idempotency-Key": "k1"}
    first = client.post("/v1/checkout/sessions", data=SESSION, headers=headers)
    second = client.post("/v1/checkout/sessions", data=SESSION, headers=headers)

    assert second.json()["id"] == first.json()["id"]
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"


def test_a_reused_key_with_other_parameters_is_an_idempotency_error(client: TestClient) -> None:
    headers = AUTH | {"Idempotency-Key": "k2"}
    client.post("/v1/checkout/sessions", data=SESSION, headers=headers)

    response = client.post(
        "/v1/checkout/sessions", data=SESSION | {"client_reference_id": "x"}, headers=headers
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "idempotency_error"
    assert error["message"].startswith(
        "Keys for idempotent requests can only be used with the same"
    )


def test_a_failed_request_may_be_retried_with_its_key(client: TestClient) -> None:
    headers = AUTH | {"Idempotency-Key": "k3"}
    client.post("/_standin/faults", json={"path": "/v1/checkout/sessions", "kind": "error"})

    assert client.post("/v1/checkout/sessions", data=SESSION, headers=headers).status_code == 500
    assert client.post("/v1/checkout/sessions", data=SESSION, headers=headers).status_code == 200


def test_an_error_fault_serves_count_requests_on_the_matching_path_only(client: TestClient) -> None:
    client.post("/_standin/faults", json={"path": "/v1/events*", "kind": "error", "count": 2})

    assert client.get("/v1/checkout/sessions/cs_test_x", headers=AUTH).status_code == 404
    statuses = [client.get("/v1/events", headers=AUTH).status_code for _ in range(3)]

    assert statuses == [500, 500, 200]
    assert client.get("/_standin/faults").json() == []


def test_a_key_that_is_not_a_test_key_is_refused(client: TestClient) -> None:
    response = client.get("/v1/events", headers={"Authorization": "Bearer sk_live_abcdefgh1234"})
    assert response.status_code == 401
    assert "sk_live_" in response.json()["error"]["message"]
    assert "abcdefgh" not in response.json()["error"]["message"]


def test_the_background_sweep_expires_a_session_once_its_time_passes(
    client: TestClient, clock: Clock
) -> None:
    session = client.post("/v1/checkout/sessions", data=SESSION, headers=AUTH).json()

    clock.now = session["expires_at"] + 1
    deadline = time.monotonic() + 3
    while (
        client.get(f"/v1/checkout/sessions/{session['id']}", headers=AUTH).json()["status"]
        == "open"
    ):
        assert time.monotonic() < deadline, "the sweep did not expire the session"
        time.sleep(0.05)

    [event] = client.get("/v1/events", headers=AUTH).json()["data"]
    assert event["type"] == "checkout.session.expired"


def test_the_hosted_page_is_labelled_and_cancel_keeps_the_session_open(client: TestClient) -> None:
    session = client.post(
        "/v1/checkout/sessions",
        data=SESSION | {"cancel_url": "https://shop.example/basket"},
        headers=AUTH,
    ).json()

    page = client.get(f"/pay/{session['id']}")
    cancel = client.post(f"/pay/{session['id']}", data={"action": "cancel"}, follow_redirects=False)

    assert '<html lang="en">' in page.text and "<caption>Your order</caption>" in page.text
    assert "Pay £15.00 by card</button>" in page.text
    assert cancel.headers["location"] == "https://shop.example/basket"
    assert (
        client.get(f"/v1/checkout/sessions/{session['id']}", headers=AUTH).json()["status"]
        == "open"
    )


def test_the_page_asks_for_an_email_and_the_session_reports_it(client: TestClient) -> None:
    session = client.post("/v1/checkout/sessions", data=SESSION, headers=AUTH).json()

    page = client.get(f"/pay/{session['id']}")
    paid = client.post(
        f"/pay/{session['id']}",
        data={"action": "pay", "email": " reader@example.org ", "name": "Rosa Reader"},
        follow_redirects=False,
    )

    assert '<input id="email" name="email" type="email"' in page.text
    assert paid.status_code == 303
    details = client.get(f"/v1/checkout/sessions/{session['id']}", headers=AUTH).json()[
        "customer_details"
    ]
    assert details["email"] == "reader@example.org"
    assert details["name"] == "Rosa Reader"


def test_a_session_collecting_an_address_asks_for_it_and_keeps_what_was_typed(
    client: TestClient,
) -> None:
    session = client.post(
        "/v1/checkout/sessions",
        data=SESSION | {"shipping_address_collection[allowed_countries][0]": "GB"},
        headers=AUTH,
    ).json()
    typed = {
        "action": "pay",
        "email": "rosa@example.org",
        "shipping_name": "Rosa Reader",
        "shipping_line1": "1 Red Lane",
        "shipping_city": "London",
        "shipping_country": "GB",
    }

    page = client.get(f"/pay/{session['id']}")
    refused = client.post(f"/pay/{session['id']}", data=typed, follow_redirects=False)
    paid = client.post(
        f"/pay/{session['id']}",
        data=typed | {"shipping_postal_code": "n1 1aa"},
        follow_redirects=False,
    )

    assert "<legend>Shipping address</legend>" in page.text
    assert '<option value="GB"' in page.text and 'id="shipping_postal_code"' in page.text
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert 'value="1 Red Lane"' in refused.text
    assert paid.status_code == 303
    shipping = client.get(f"/v1/checkout/sessions/{session['id']}", headers=AUTH).json()[
        "collected_information"
    ]["shipping_details"]
    assert shipping == {
        "address": {
            "city": "London",
            "country": "GB",
            "line1": "1 Red Lane",
            "line2": None,
            "postal_code": "N1 1AA",
            "state": None,
        },
        "name": "Rosa Reader",
    }


@pytest.mark.usefixtures("logging_restored")
def test_starting_the_app_leaves_the_process_logging_as_it_was() -> None:
    """In `bookshop up` the stand-in runs beside the services in one process, whose logging
    the shop configured: the app must not put a handler of its own on the root logger."""
    configure_logging(level="INFO", json=True, service="shop")
    handlers = list(logging.getLogger().handlers)
    with TestClient(app=create_app(StripeStandinSettings())) as started:
        assert started.get("/_standin/faults").status_code == 200
    assert logging.getLogger().handlers == handlers
