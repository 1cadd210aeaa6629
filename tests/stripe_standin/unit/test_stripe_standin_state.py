from typing import Any

import pytest

from services.stripe_standin.errors import StripeError
from services.stripe_standin.shipping import ShippingAddress
from services.stripe_standin.state import Customer, RequestContext, StandinState

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def session_params(**overrides: Any) -> dict[str, Any]:
    return {
        "mode": "payment",
        "success_url": "https://shop.example/thanks",
        "line_items": [
            {
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": "1000",
                    "product_data": {"name": "Mother"},
                },
                "quantity": "3",
            }
        ],
    } | overrides


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> StandinState:
    return StandinState(public_base_url="http://standin", api_version="v", clock=clock)


@pytest.fixture
def events(state: StandinState) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    state.subscribe(lambda event, _: received.append(event))
    return received


@pytest.mark.parametrize(
    ("seconds", "accepted"),
    [(30 * 60 - 1, False), (30 * 60, True), (24 * 3600, True), (24 * 3600 + 1, False)],
)
def test_expires_at_must_lie_between_30_minutes_and_24_hours(
    state: StandinState, seconds: int, accepted: bool
) -> None:
    params = session_params(expires_at=str(int(NOW) + seconds))
    if accepted:
        assert state.create_session(params, RequestContext())["expires_at"] == int(NOW) + seconds
    else:
        with pytest.raises(StripeError) as raised:
            state.create_session(params, RequestContext())
        assert (raised.value.param, raised.value.status) == ("expires_at", 400)


def test_unknown_parameters_are_refused_by_name(state: StandinState) -> None:
    with pytest.raises(StripeError, match="unknown parameter: shipping") as raised:
        state.create_session(session_params(shipping="x"), RequestContext())
    assert raised.value.code == "parameter_unknown"


UK_ONLY = {"allowed_countries": ["GB"]}
ROSA = ShippingAddress(
    name="Rosa Reader",
    line1="1 Red Lane",
    line2=None,
    city="London",
    postal_code="N1 1AA",
    country="GB",
)


@pytest.mark.parametrize(
    ("collection", "param", "code"),
    [
        ({"allowed_countries": ["GB", "UK"]}, "[allowed_countries][1]", "parameter_invalid"),
        ({"allowed_countries": ["KP"]}, "[allowed_countries][0]", "parameter_invalid"),
        ({"allowed_countries": "GB"}, "[allowed_countries]", "parameter_invalid_array"),
        ({}, "[allowed_countries]", "parameter_missing"),
        ({"allowed_countries": ["GB"], "x": "1"}, "[x]", "parameter_unknown"),
    ],
)
def test_shipping_address_collection_is_checked_as_stripe_checks_it(
    state: StandinState, collection: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(StripeError) as raised:
        state.create_session(
            session_params(shipping_address_collection=collection), RequestContext()
        )
    assert (raised.value.param, raised.value.code, raised.value.status) == (
        f"shipping_address_collection{param}",
        code,
        400,
    )


@pytest.mark.parametrize(
    "shipping",
    [
        None,
        ShippingAddress(
            name="",
            line1="1 Red Lane",
            line2=None,
            city="London",
            postal_code="N1 1AA",
            country="GB",
        ),
        ShippingAddress(
            name="Rosa",
            line1="1 Red Lane",
            line2=None,
            city="Paris",
            postal_code="75001",
            country="FR",
        ),
        ShippingAddress(
            name="Rosa",
            line1="1 Red Lane",
            line2=None,
            city="London",
            postal_code="12345",
            country="GB",
        ),
    ],
)
def test_a_session_collecting_an_address_completes_only_with_a_whole_allowed_one(
    state: StandinState, events: list[dict[str, Any]], shipping: ShippingAddress | None
) -> None:
    session = state.create_session(
        session_params(shipping_address_collection=UK_ONLY), RequestContext()
    )

    for pay in (state.pay_by_card, state.pay_by_bank_transfer):
        with pytest.raises(StripeError):
            pay(session["id"], Customer(email="rosa@example.org", shipping=shipping))

    after = state.retrieve(session["id"], "checkout.session")
    assert (after["status"], after["payment_intent"], events) == ("open", None, [])


def test_the_shipping_address_is_on_the_completed_session_as_stripe_puts_it(
    state: StandinState, events: list[dict[str, Any]]
) -> None:
    created = state.create_session(
        session_params(shipping_address_collection=UK_ONLY), RequestContext()
    )
    assert created["shipping_address_collection"] == UK_ONLY
    assert created["collected_information"] is None

    state.pay_by_card(created["id"], Customer(email="rosa@example.org", shipping=ROSA))

    address = {
        "city": "London",
        "country": "GB",
        "line1": "1 Red Lane",
        "line2": None,
        "postal_code": "N1 1AA",
        "state": None,
    }
    for session in (state.retrieve(created["id"], "checkout.session"), events[0]["data"]["object"]):
        assert session["collected_information"] == {
            "business_name": None,
            "individual_name": None,
            "shipping_details": {"address": address, "name": "Rosa Reader"},
        }
        assert session["customer_details"]["address"] == address
        assert session["customer_details"]["name"] == "Rosa Reader"
        assert "shipping_details" not in session


def test_a_session_not_collecting_an_address_ignores_one(state: StandinState) -> None:
    session = state.create_session(session_params(), RequestContext())

    paid = state.pay_by_card(session["id"], Customer(shipping=ROSA))

    assert paid["shipping_address_collection"] is None
    assert paid["collected_information"]["shipping_details"] is None
    assert paid["customer_details"]["address"] is None


def test_the_sweep_expires_only_sessions_past_their_expiry(
    state: StandinState, clock: Clock, events: list[dict[str, Any]]
) -> None:
    soon = state.create_session(session_params(expires_at=str(int(NOW) + 1800)), RequestContext())
    later = state.create_session(session_params(), RequestContext())

    clock.now += 1800
    assert state.expire_due_sessions() == [soon["id"]]

    assert state.retrieve(later["id"], "checkout.session")["status"] == "open"
    assert [(e["type"], e["data"]["object"]["id"]) for e in events] == [
        ("checkout.session.expired", soon["id"])
    ]
    assert events[0]["request"] == {"id": None, "idempotency_key": None}


def test_a_paid_session_cannot_be_expired_or_paid_again(state: StandinState) -> None:
    session = state.create_session(session_params(), RequestContext())
    state.pay_by_card(session["id"])

    with pytest.raises(StripeError, match="status of `complete`"):
        state.expire_session(session["id"], RequestContext())
    with pytest.raises(StripeError):
        state.pay_by_card(session["id"])


def test_refunds_track_the_remainder_on_the_charge(
    state: StandinState, events: list[dict[str, Any]]
) -> None:
    session = state.pay_by_card(state.create_session(session_params(), RequestContext())["id"])
    context = RequestContext(id="req_1", idempotency_key="refund-1")

    state.create_refund({"payment_intent": session["payment_intent"], "amount": "1000"}, context)
    with pytest.raises(StripeError, match=r"greater than unrefunded amount on charge \(£20.00\)"):
        state.create_refund(
            {"payment_intent": session["payment_intent"], "amount": "2001"}, context
        )
    rest = state.create_refund({"payment_intent": session["payment_intent"]}, context)

    assert rest["amount"] == 2000
    charge = state.retrieve(rest["charge"], "charge")
    assert (charge["amount_refunded"], charge["refunded"]) == (3000, True)
    assert [r["amount"] for r in charge["refunds"]["data"]] == [2000, 1000]
    refunded = [e for e in events if e["type"] == "charge.refunded"]
    assert refunded[-1]["request"] == {"id": "req_1", "idempotency_key": "refund-1"}


def test_an_unpaid_session_has_nothing_to_refund(state: StandinState) -> None:
    session = state.pay_by_bank_transfer(
        state.create_session(session_params(), RequestContext())["id"]
    )
    with pytest.raises(StripeError) as raised:
        state.create_refund({"payment_intent": session["payment_intent"]}, RequestContext())
    assert raised.value.code == "charge_not_refundable"


def test_a_failed_bank_transfer_leaves_the_session_unpaid_and_cannot_settle_twice(
    state: StandinState, events: list[dict[str, Any]]
) -> None:
    session = state.pay_by_bank_transfer(
        state.create_session(session_params(), RequestContext())["id"]
    )

    state.settle_bank_transfer(session["id"], succeeded=False)

    assert state.retrieve(session["id"], "checkout.session")["payment_status"] == "unpaid"
    assert [e["type"] for e in events] == [
        "checkout.session.completed",
        "checkout.session.async_payment_failed",
    ]
    with pytest.raises(StripeError, match="no bank transfer awaiting"):
        state.settle_bank_transfer(session["id"], succeeded=True)


def test_expand_replaces_ids_with_objects(state: StandinState) -> None:
    session = state.pay_by_card(state.create_session(session_params(), RequestContext())["id"])

    expanded = state.retrieve(
        session["id"], "checkout.session", expand=["payment_intent.latest_charge"]
    )

    assert expanded["payment_intent"]["latest_charge"]["object"] == "charge"


def test_a_refund_created_with_its_charge_expanded_shows_the_charge_after_it(
    state: StandinState,
) -> None:
    session = state.pay_by_card(state.create_session(session_params(), RequestContext())["id"])
    state.create_refund(
        {"payment_intent": session["payment_intent"], "amount": "1000"}, RequestContext()
    )

    refund = state.create_refund(
        {"payment_intent": session["payment_intent"], "amount": "500", "expand": ["charge"]},
        RequestContext(),
    )

    assert refund["charge"]["object"] == "charge"
    assert refund["charge"]["amount_refunded"] == 1500


def test_reset_keeps_only_the_endpoints_from_settings(state: StandinState) -> None:
    kept = state.add_webhook_endpoint(
        {"url": "http://a", "enabled_events": ["*"]}, secret="whsec_a", permanent=True
    )
    state.add_webhook_endpoint({"url": "http://b", "enabled_events": ["charge.refunded"]})
    session = state.create_session(session_params(), RequestContext())

    state.reset()

    with pytest.raises(StripeError):
        state.retrieve(session["id"], "checkout.session")
    event = {"type": "charge.refunded"}
    assert [(e["id"], secret) for e, secret in state.subscribers(event)] == [
        (kept["id"], "whsec_a")
    ]
