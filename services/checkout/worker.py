"""Checkout's Celery worker: consumes the `checkout` queue and runs its periodic jobs."""

from __future__ import annotations

from celery import Celery

from services.checkout import tasks
from services.checkout.settings import CheckoutSettings
from services.checkout.wiring import build_checkout
from shared.messaging.consumers import ConsumerResources, WorkerRuntime


def create_worker(settings: CheckoutSettings) -> Celery:
    async def setup() -> ConsumerResources:
        # Built inside the worker process, after fork, on its own event loop.
        checkout = build_checkout(settings)
        return checkout.runtime.consumer_resources(orders=checkout.orders, emails=checkout.emails)

    checkout = build_checkout(settings)
    tasks.register(checkout.runtime.celery, WorkerRuntime(setup))
    return checkout.runtime.celery
