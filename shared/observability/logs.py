"""Structured JSON logs for every process: one line per event, with the request id when there is one."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


# Libraries that write a line for every call or task they handle: the Stripe SDK (two per API
# request), the Celery worker (task received, task succeeded) and httpx (one per request: the
# stand-in's webhooks, the shop's /health asking each service). Formatted as JSON, those lines
# cost a busy process about a seventh of its CPU: on the Buy path, checkout's web process and the
# catalogue worker alike. By default they keep their warnings and errors only (the metrics count
# every task and request, and the shop's own logs say what happened to an order);
# BOOKSHOP_LOG_PER_CALL=1 brings their lines back.
PER_CALL_LOGGERS = ("stripe", "celery.app.trace", "celery.worker.strategy", "httpx")


def configure_logging_from_env(*, service: str | None = None) -> None:
    """JSON lines for machines; `BOOKSHOP_LOG_FORMAT=console` for a person at a terminal;
    the level from BOOKSHOP_LOG_LEVEL; BOOKSHOP_LOG_PER_CALL=1 for a line per Stripe call,
    Celery task and HTTP request made."""
    configure_logging(
        level=os.environ.get("BOOKSHOP_LOG_LEVEL", "INFO"),
        json=os.environ.get("BOOKSHOP_LOG_FORMAT", "json") == "json",
        service=service,
        per_call=os.environ.get("BOOKSHOP_LOG_PER_CALL", "") not in ("", "0"),
    )


def configure_logging(
    *, level: str = "INFO", json: bool = True, service: str | None = None, per_call: bool = False
) -> None:
    """Route the standard library's logging (ours, Litestar's, Celery's) through structlog.

    `json=False` prints readable lines for a person at a terminal (the embedded default).
    `per_call=True` gives every Stripe call, Celery task and HTTP request made its line
    (PER_CALL_LOGGERS).
    """
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    processors = list(SHARED_PROCESSORS)
    if service:
        processors.append(_add_service(service))
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    # a floor for every logger: some libraries set their own logger to DEBUG at import
    # (bm25s), and a logger's own level overrides the root's
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in PER_CALL_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if per_call else logging.WARNING)
    structlog.configure(
        processors=[*processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _add_service(service: str) -> structlog.types.Processor:
    def add(_: object, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event.setdefault("service", service)
        return event

    return add
