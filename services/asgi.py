"""ASGI factories for serving one service alone: `uvicorn --factory services.asgi:catalogue`."""

from __future__ import annotations

from typing import Any

from services.shop import SERVICES, load


def _create(name: str) -> Any:
    parts = SERVICES[name]
    return load(parts.create_app)(parts.load_settings())


def catalogue() -> Any:
    return _create("catalogue")


def recommendation() -> Any:
    return _create("recommendation")


def checkout() -> Any:
    return _create("checkout")
