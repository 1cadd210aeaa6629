"""What the emails say: the payment link's expiry by the shop's clock (shared.shop_time), the
receipt of an order paid at the counter, and where a refund's money went."""

from __future__ import annotations

from datetime import UTC, datetime

from services.checkout import emails
from services.checkout.models import Order, OrderLine


def collection_order() -> Order:
    return Order(
        reference="ACDEFGHJ",
        delivery="collection",
        customer_name="Clara Zetkin",
        customer_email="clara@example.org",
        books_pence=2 * 1299,
        postage_pence=0,
        postage_vat_pence=0,
        total_pence=2 * 1299,
        lines=[
            OrderLine(
                position=0,
                isbn13="9781788731799",
                title="The Ragged Trousered Philanthropists",
                unit_price_pence=1299,
                quantity=2,
            )
        ],
    )


def test_the_payment_link_says_when_it_stops_working() -> None:
    email = emails.payment_link(
        collection_order(),
        url="https://pay.example/cs_1",
        expires_at=datetime(2026, 11, 27, 15, 5, tzinfo=UTC),
        postage_vat_percent=20,
    )
    assert "limited time" not in email.body
    assert "The link works until 3:05pm on Friday 27 November (UK time)" in email.body


def test_a_collection_order_held_longer_than_its_link_says_both() -> None:
    order = collection_order()
    order.hold_until = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    email = emails.payment_link(
        order,
        url="https://pay.example/cs_1",
        expires_at=datetime(2026, 11, 27, 15, 5, tzinfo=UTC),
        postage_vat_percent=20,
    )
    body = " ".join(email.body.split())
    assert "The link works until 3:05pm on Friday 27 November (UK time)." in body
    assert "The books are held for you until 3:00pm on Friday 4 December" in body
    assert "held for you until then" not in body


def test_the_dispatch_notice_lists_only_the_copies_sent() -> None:
    order = collection_order()
    order.delivery = "post"
    order.address = ["1 Red Lane", "London", "N1 1AA"]
    refunded = {"9781788731799": 1}
    email = emails.dispatch_notice(order, refunded=refunded)
    assert "1 x The Ragged Trousered Philanthropists" in email.body
    assert "2 x" not in email.body


def test_an_order_paid_at_the_counter_gets_its_receipt() -> None:
    email = emails.counter_receipt(collection_order(), postage_vat_percent=20)
    assert (email.kind, email.to_address) == ("confirmation", "clara@example.org")
    assert email.subject == "Your order ACDEFGHJ: paid and collected"
    assert "paid for it at the counter when you collected it" in email.body
    assert "2 x The Ragged Trousered Philanthropists @ £12.99 = £25.98" in email.body
    assert "Total: £25.98" in email.body
    assert "VAT included in total: £0.00" in email.body


def test_a_paid_collection_order_is_ready_to_collect() -> None:
    order = collection_order()
    order.status = "paid"
    order.payment_method = "payment_link"

    email = emails.ready_to_collect(order)

    assert (email.kind, email.to_address) == ("ready_to_collect", "clara@example.org")
    assert email.subject == "Your order ACDEFGHJ is ready to collect"
    assert "2 x The Ragged Trousered Philanthropists" in email.body
    assert "at the shop counter during opening hours" in email.body
    assert "bring your order reference, ACDEFGHJ" in email.body
    assert "already paid" in email.body
    assert "to pay" not in email.body


def test_an_order_to_pay_on_collection_says_what_to_pay_and_until_when() -> None:
    order = collection_order()
    order.status = "awaiting_payment"
    order.payment_method = "on_collection"
    order.hold_until = datetime(2026, 11, 27, 15, 5, tzinfo=UTC)

    email = emails.ready_to_collect(order)

    assert "Please pay £25.98 at the counter when you collect it" in email.body
    assert "until 3:05pm on Friday 27 November (UK time)" in email.body
    assert "already paid" not in email.body


def test_a_receipt_calls_free_delivery_free_rather_than_pricing_it_at_nothing() -> None:
    # It said "Collection from the shop: £0.00 (includes VAT at 20%: £0.00)".
    collecting = collection_order()
    posted_free = collection_order()
    posted_free.delivery = "post"
    posted_free.address = ["1 Red Lane", "London", "N1 1AA"]

    for order, said in (
        (collecting, "Collection from the shop: free"),
        (posted_free, "Postage: free"),
    ):
        body = emails.confirmation(
            order, status_url="https://shop/orders/status", postage_vat_percent=20
        ).body
        assert said in body
        assert "£0.00 (includes VAT" not in body


def test_a_refund_handed_back_at_the_counter_says_so() -> None:
    order = collection_order()
    order.refunded_pence = 1299

    at_counter = emails.refund_notice(
        order, amount_pence=1299, reason="spare copy", at_counter=True
    )
    by_card = emails.refund_notice(order, amount_pence=1299, reason="spare copy", at_counter=False)

    assert at_counter.subject == "Refund on your order ACDEFGHJ"
    assert (
        "We have refunded £12.99 of your order ACDEFGHJ (spare copy). The money was returned to "
        "you at the shop counter. In all, £12.99 of £25.98 has been refunded." in at_counter.body
    )
    assert "counter" not in by_card.body
