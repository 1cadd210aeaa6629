from shared.contracts import ALL_MESSAGES, BookChanged, ReserveStock
from shared.messaging.message import Command, Event, delivery_task, queue_of


def test_task_names_are_versioned_and_start_with_a_service_queue() -> None:
    for message in ALL_MESSAGES:
        assert message.task.rsplit(".", 1)[1].startswith("v"), message
        for task_name in message.deliveries():
            assert queue_of(task_name) in {"catalogue", "recommendation", "checkout"}


def test_commands_go_to_one_queue_and_events_to_each_subscriber() -> None:
    assert ReserveStock.deliveries() == ("catalogue.reserve_stock.v1",)
    assert BookChanged.deliveries() == (
        "recommendation.catalogue.book_changed.v1",
        "checkout.catalogue.book_changed.v1",
    )
    assert delivery_task("checkout", BookChanged) == "checkout.catalogue.book_changed.v1"


def test_every_message_is_a_command_or_an_event() -> None:
    for message in ALL_MESSAGES:
        assert issubclass(message, (Command, Event))


def test_a_message_sent_while_handling_a_request_carries_its_id() -> None:
    from uuid import uuid4

    from shared.contracts import CommitReservation
    from shared.observability import request_id

    message = CommitReservation(order_id=uuid4())
    assert message.traced().request_id is None
    with request_id.bound("buy-123"):
        traced = message.traced()
    assert traced.request_id == "buy-123"
    assert traced.message_id == message.message_id, "the same message, now traced"
    with request_id.bound("another"):
        assert traced.traced().request_id == "buy-123", "an id it already carries is kept"
