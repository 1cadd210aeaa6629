"""Checkout's Celery worker app, built from settings (no module-level app)."""

from __future__ import annotations

from celery import Celery

from services.checkout import tasks
from services.checkout.settings import CheckoutSettings
from services.checkout.wiring import build_checkout


def create_worker(settings: CheckoutSettings) -> Celery:
    checkout = build_checkout(settings)
    tasks.register(
        checkout.runtime.celery, checkout.runtime, orders=checkout.orders, emails=checkout.emails
    )
    return checkout.runtime.celery
