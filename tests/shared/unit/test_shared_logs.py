"""The JSON logs: libraries that write a line per call or task keep to their warnings unless
asked for every line."""

from __future__ import annotations

import json
import logging

import pytest

from shared.observability.logs import configure_logging

pytestmark = pytest.mark.usefixtures("logging_restored")


def logged(capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    """The JSON lines written to stdout, where configure_logging sends them."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_by_default_stripe_calls_celery_tasks_and_http_requests_log_their_warnings_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(level="INFO", json=True, service="checkout")
    logging.getLogger("stripe").info("message='Request to Stripe api' method=post")
    logging.getLogger("celery.app.trace").info("Task catalogue.reserve_stock.v1 succeeded")
    logging.getLogger("celery.worker.strategy").info("Task catalogue.reserve_stock.v1 received")
    logging.getLogger("httpx").info('HTTP Request: GET http://shop/health/catalogue "200 OK"')
    logging.getLogger("stripe").warning("Stripe retried a request")
    logging.getLogger("services.checkout").info("order BK-7Q2M paid")

    lines = logged(capsys)
    assert [(line["logger"], line["event"]) for line in lines] == [
        ("stripe", "Stripe retried a request"),
        ("services.checkout", "order BK-7Q2M paid"),
    ]
    assert all(line["service"] == "checkout" for line in lines)


def test_per_call_every_stripe_call_and_celery_task_is_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(level="INFO", json=True, per_call=True)
    logging.getLogger("stripe").info("message='Request to Stripe api' method=post")
    logging.getLogger("celery.app.trace").info("Task catalogue.reserve_stock.v1 succeeded")

    assert [line["logger"] for line in logged(capsys)] == ["stripe", "celery.app.trace"]


def test_a_library_that_sets_its_own_logger_to_debug_stays_below_the_level_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(level="INFO", json=True)
    # as bm25s does at import: its "Building index from tokens" filled the shop's console
    logging.getLogger("bm25s").setLevel(logging.DEBUG)
    logging.getLogger("bm25s").debug("Building index from tokens")
    logging.getLogger("bm25s").info("index built")

    assert [line["event"] for line in logged(capsys)] == ["index built"]


def test_debug_asked_for_is_debug_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="DEBUG", json=True)
    logging.getLogger("services.catalogue").debug("a detail")

    assert [line["event"] for line in logged(capsys)] == ["a detail"]
