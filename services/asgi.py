"""ASGI factories for serving one service alone: `bookshop serve checkout`, or
`uvicorn --factory services.asgi:checkout`. Each web process sets up its own logging here,
since uvicorn's extra workers are fresh interpreters."""

from __future__ import annotations

from typing import Any

from services.shop import SERVICES, load
from shared.gc_freeze import freeze_long_lived_objects
from shared.observability.logs import configure_logging_from_env


def _create(name: str) -> Any:
    configure_logging_from_env(service=name)
    parts = SERVICES[name]
    app = load(parts.create_app)(parts.load_settings())
    freeze_long_lived_objects()
    return app


def catalogue() -> Any:
    return _create("catalogue")


def recommendation() -> Any:
    return _create("recommendation")


def checkout() -> Any:
    return _create("checkout")
