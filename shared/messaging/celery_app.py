"""`make_celery`: the reliability defaults of every service's Celery app, in one place."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.backends.redis import RedisBackend

from shared.messaging.message import queue_of
from shared.settings import BrokerSettings

SERVICE_QUEUES = ("catalogue", "recommendation", "checkout")
BROKER_SOCKET_TIMEOUT_SECONDS = 5.0


class ReplyStore(RedisBackend):
    """Celery's Redis result backend without its result consumer's subscription per task sent.

    A reply is awaited by shared.messaging.replies, on one pub/sub connection per process.
    Celery's own consumer also subscribed to the result channel of every task sent (events
    and commands alike) on a second connection that nothing reads, so every reply was also
    delivered there and left unread, and while Redis was down the unsubscribe in each
    result's `__del__` raised "Retry limit exceeded" into the garbage collector.
    """

    def on_task_call(self, producer: Any, task_id: str) -> None:
        """No AsyncResult the shop holds is waited on through Celery: nothing to subscribe."""


def route_by_prefix(
    name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any
) -> dict[str, str]:
    return {"queue": queue_of(name)}


def make_celery(service: str, redis_url: str, **overrides: Any) -> Celery:
    """The Celery app of `service`: consumes its own queue, sends to others by task name.

    Results are off by default; the one command that replies turns them on for itself.
    A task taken by a worker that died (acks_late) goes back on its queue once the visibility
    timeout (BOOKSHOP_VISIBILITY_TIMEOUT_SECONDS) has passed: longer than the longest task, so
    Redis never hands a running task to a second worker.
    """
    visibility_timeout = BrokerSettings().visibility_timeout_seconds
    broker_options = {
        "visibility_timeout": visibility_timeout,
        # Workers look for abandoned tasks this often (kombu's default: every 100 s), so a short
        # timeout is also a short recovery.
        "unacked_restore_interval": min(10.0, max(1.0, visibility_timeout / 4)),
        "unacked_restore_throttle": 1,
        # Without them a Redis that stops answering without refusing (a lost route, a frozen
        # server) holds a publish or a worker's read for ever; with them they fail and retry.
        "socket_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
    }
    app = Celery(
        f"bookshop.{service}",
        broker=redis_url,
        # The backend's class, then its URL (Celery's `class+url` form).
        backend=f"{__name__}:{ReplyStore.__name__}+{redis_url}",
        set_as_current=False,
    )
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
        broker_transport_options=broker_options,
        result_backend_transport_options={"visibility_timeout": visibility_timeout},
        redis_socket_timeout=BROKER_SOCKET_TIMEOUT_SECONDS,
        redis_socket_connect_timeout=BROKER_SOCKET_TIMEOUT_SECONDS,
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
