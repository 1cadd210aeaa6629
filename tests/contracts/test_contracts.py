"""Every message round-trips through JSON; every task name is unique and has exactly one handler;
a message queued before an optional field was added still decodes."""

from __future__ import annotations

import importlib
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import msgspec
import pytest

from services.shop import SERVICES
from shared.contracts import (
    ALL_MESSAGES,
    ArticlePublished,
    Attribution,
    BookChanged,
    CloseSale,
    CommitReservation,
    OrderLine,
    OrderPaid,
    OrderRefunded,
    ReleaseReservation,
    ReservationCommitted,
    ReservationReply,
    ReserveStock,
    ReturnToStock,
    ShortLine,
    StockLine,
)
from shared.messaging.consumers import task_name_for
from shared.messaging.message import Message

EXAMPLES: list[Message] = [
    ReserveStock(
        order_id=uuid4(),
        lines=(StockLine("9798463348616", 2),),
        expires_at=datetime(2026, 11, 25, 12, 30, tzinfo=UTC),
        reference="V9PDJV46",
    ),
    CommitReservation(order_id=uuid4()),
    ReservationCommitted(order_id=uuid4()),
    ReleaseReservation(order_id=uuid4(), reason="expired"),
    ReturnToStock(
        order_id=uuid4(),
        refund_id=41,
        lines=(StockLine("9798463348616", 1),),
        reason="damaged in the post, sent back",
    ),
    CloseSale(order_id=uuid4()),
    BookChanged(
        isbn13="9798463348616",
        version=3,
        title="Imperialism and Global Political Economy",
        authors=("Alex Callinicos",),
        price_pence=1999,
        subjects=("imperialism",),
        available=6,
    ),
    OrderPaid(
        order_id=uuid4(),
        reference="K7QF3MXA",
        lines=(OrderLine(isbn13="9798463348616", quantity=1, unit_price_pence=1999),),
        total_pence=2294,
        attribution=Attribution(article_id="a000", isbn13="9798463348616"),
    ),
    OrderRefunded(
        order_id=uuid4(),
        reference="K7QF3MXA",
        amount_pence=1999,
        copies=(StockLine("9798463348616", 1),),
    ),
    ArticlePublished(
        article_id="a000", headline="Revolution", published=date(2012, 6, 19), text="..."
    ),
]


def handler_maps() -> dict[str, dict[type[Message], Any]]:
    return {name: importlib.import_module(parts.tasks).HANDLERS for name, parts in SERVICES.items()}


def test_there_is_an_example_of_every_message() -> None:
    assert {type(example) for example in EXAMPLES} == set(ALL_MESSAGES)


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_through_json(message: Message) -> None:
    wire = msgspec.json.encode(message.to_json_dict())
    assert type(message).from_json_dict(msgspec.json.decode(wire)) == message


def test_the_reply_round_trips_through_json() -> None:
    reply = ReservationReply(order_id=uuid4(), ok=False, short=(ShortLine("9798463348616", 3, 1),))
    assert (
        msgspec.convert(msgspec.json.decode(msgspec.json.encode(reply)), ReservationReply) == reply
    )


def test_task_names_are_unique() -> None:
    names = [name for message in ALL_MESSAGES for name in message.deliveries()]
    assert [name for name, count in Counter(names).items() if count > 1] == []


def test_every_delivery_has_exactly_one_handler_in_the_service_that_owns_its_queue() -> None:
    registered = Counter(
        task_name_for(service, message)
        for service, handlers in handler_maps().items()
        for message in handlers
    )
    expected = {name for message in ALL_MESSAGES for name in message.deliveries()}
    assert set(registered) == expected
    assert all(count == 1 for count in registered.values())


def test_malformed_payloads_are_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        ReserveStock.from_json_dict({"order_id": "not-a-uuid", "lines": [], "expires_at": "x"})
    with pytest.raises(msgspec.ValidationError):
        ReserveStock.from_json_dict(
            {
                "order_id": str(uuid4()),
                "lines": [{"isbn13": "123", "quantity": 0}],
                "expires_at": "2026-01-01T00:00:00Z",
            }
        )


def reserve_stock(**extra: object) -> dict[str, object]:
    """A ReserveStock as JSON, with `extra` fields."""
    return {
        "order_id": str(uuid4()),
        "lines": [{"isbn13": "9798463348616", "quantity": 1}],
        "expires_at": "2026-11-25T12:30:00Z",
        **extra,
    }


def test_a_reserve_queued_without_a_reference_decodes_without_one() -> None:
    assert ReserveStock.from_json_dict(reserve_stock()).reference is None


def test_a_reserve_carries_the_orders_reference() -> None:
    assert ReserveStock.from_json_dict(reserve_stock(reference="V9PDJV46")).reference == "V9PDJV46"


@pytest.mark.parametrize("reference", ["", "X" * 21])
def test_a_reference_the_catalogue_cannot_keep_is_refused(reference: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        ReserveStock.from_json_dict(reserve_stock(reference=reference))


def test_a_refund_queued_before_its_copies_were_told_decodes_with_none() -> None:
    queued = {"order_id": str(uuid4()), "reference": "K7QF3MXA", "amount_pence": 1999}

    assert OrderRefunded.from_json_dict(queued).copies == ()


@pytest.mark.parametrize(
    "copies", [[{"isbn13": "123", "quantity": 1}], [{"isbn13": "9798463348616", "quantity": 0}]]
)
def test_refunded_copies_are_checked(copies: list[dict[str, object]]) -> None:
    with pytest.raises(msgspec.ValidationError):
        OrderRefunded.from_json_dict(
            {"order_id": str(uuid4()), "reference": "K", "amount_pence": 0, "copies": copies}
        )
