"""`make_celery`: the reliability defaults of every service's Celery app, in one place."""

from __future__ import annotations

from typing import Any

from celery import Celery

from shared.messaging.message import queue_of

# Longer than the longest task, so Redis does not hand an unacknowledged task to a second
# worker while the first is still running it (acks_late).
VISIBILITY_TIMEOUT_SECONDS = 3600
SERVICE_QUEUES = ("catalogue", "recommendation", "checkout")


def route_by_prefix(
    name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any
) -> dict[str, str]:
    return {"queue": queue_of(name)}


def make_celery(service: str, redis_url: str, **overrides: Any) -> Celery:
    """The Celery app of `service`: consumes its own queue, sends to others by task name.

    Results are off by default; the one command that replies turns them on for itself.
    """
    app = Celery(f"bookshop.{service}", broker=redis_url, backend=redis_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=service,
        task_routes=(route_by_prefix,),
        result_expires=3600,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        enable_utc=True,
        timezone="UTC",
    )
    app.conf.update(overrides)
    return app
