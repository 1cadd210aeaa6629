"""The catalogue's tasks: every command it handles under its name, and the expiry sweep on beat."""

from __future__ import annotations

from types import SimpleNamespace

from services.catalogue import handlers, tasks
from shared.contracts import (
    CloseSale,
    CommitReservation,
    ReleaseReservation,
    ReserveStock,
    ReturnToStock,
)
from shared.messaging.celery_app import make_celery


def test_each_catalogue_command_has_its_handler() -> None:
    assert {
        ReserveStock: handlers.on_reserve_stock,
        CommitReservation: handlers.on_commit_reservation,
        ReleaseReservation: handlers.on_release_reservation,
        ReturnToStock: handlers.on_return_to_stock,
        CloseSale: handlers.on_close_sale,
    } == tasks.HANDLERS


def test_beat_sweeps_expired_reservations_every_30_seconds_on_the_catalogue_queue() -> None:
    entry = tasks.SCHEDULE["catalogue.reservation_expiry_sweep"]
    assert entry["task"] == "catalogue.reservation_expiry_sweep"
    assert entry["schedule"] == 30.0
    assert entry["options"]["queue"] == "catalogue"


def test_register_names_the_tasks_and_only_the_reserve_keeps_its_result() -> None:
    app = make_celery("catalogue", "redis://127.0.0.1:1/0")
    tasks.register(app, SimpleNamespace(consumer_resources=lambda: None))  # type: ignore[arg-type]
    registered = app.tasks
    assert registered["catalogue.reserve_stock.v1"].ignore_result is False
    assert registered["catalogue.commit_reservation.v1"].ignore_result is True
    assert registered["catalogue.release_reservation.v1"].ignore_result is True
    assert registered["catalogue.return_to_stock.v1"].ignore_result is True
    assert registered["catalogue.close_sale.v1"].ignore_result is True
    assert "catalogue.reservation_expiry_sweep" in registered
