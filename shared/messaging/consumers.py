"""Registering handlers as Celery tasks: inbox de-duplication, retries, one event loop per process.

Handlers are plain async functions `handler(message, *, uow, **dependencies)`; they know
nothing of Celery. Each worker process keeps one asyncio runner and one set of resources
(database pool, relay), created lazily after fork, so async handlers keep their pools.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import msgspec
import uvloop
from celery import Celery
from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from shared.db import Database
from shared.messaging import inbox
from shared.messaging.message import Command, Event, Message, delivery_task, queue_of
from shared.messaging.outbox import OUTBOX, BackgroundRelay, OutboxRelay
from shared.messaging.unit_of_work import UnitOfWork
from shared.observability import request_id
from shared.observability.metrics import install_task_metrics

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]
TRANSIENT_ERRORS = (OperationalError, DBAPIError, ConnectionError, TimeoutError, OSError)


@dataclass
class ConsumerResources:
    """What one worker process needs to run handlers."""

    db: Database
    inbox: Table
    outbox: Table
    relay: OutboxRelay
    dependencies: dict[str, Any] = field(default_factory=dict)
    background_relay: Callable[[], OutboxRelay] | None = None
    """Builds a relay for a thread of its own; without it, handlers drain the outbox inline."""


class WorkerRuntime:
    """One asyncio runner and one set of resources per worker process."""

    def __init__(self, setup: Callable[[], Awaitable[ConsumerResources]]) -> None:
        self._setup = setup
        self._pid: int | None = None
        self._runner: asyncio.Runner | None = None
        self._resources: ConsumerResources | None = None

    def run(self, make_coroutine: Callable[[], Awaitable[Any]]) -> Any:
        if self._pid != os.getpid():
            # A forked child must not reuse its parent's loop or connections.
            self._pid = os.getpid()
            # uvloop, as uvicorn runs the web apps: a worker spends much of a short
            # handler's time in the loop's own machinery.
            self._runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
            self._resources = None
        assert self._runner is not None
        # Straight on the runner's loop: Runner.run would also swap the SIGINT handler in and
        # out around every task, which is Celery's to handle.
        return self._runner.get_loop().run_until_complete(make_coroutine())

    async def resources(self) -> ConsumerResources:
        if self._resources is None:
            resources = await self._setup()
            if resources.background_relay is not None:
                relay = BackgroundRelay(resources.background_relay)
                relay.start()
                resources.db.on_commit(OUTBOX, relay.kick)
            self._resources = resources
        return self._resources


def task_name_for(service: str, message_type: type[Message]) -> str:
    if issubclass(message_type, Event):
        return delivery_task(service, message_type)
    if queue_of(message_type.task) != service:
        raise ValueError(f"{message_type.task} is not a command for the {service} queue")
    return message_type.task


@cache
def _parameters(handler: Handler) -> frozenset[str]:
    return frozenset(inspect.signature(handler).parameters)


def _accepted_dependencies(handler: Handler, dependencies: Mapping[str, Any]) -> dict[str, Any]:
    parameters = _parameters(handler)
    return {name: value for name, value in dependencies.items() if name in parameters}


async def consume(
    runtime: WorkerRuntime,
    message_type: type[Message],
    handler: Handler,
    handler_name: str,
    payload: dict[str, Any],
) -> Any:
    """Run `handler` once in effect for this message, in one transaction with its inbox row."""
    message = message_type.from_json_dict(payload)
    with request_id.bound(message.request_id):
        return await _consume(runtime, message, handler, handler_name)


async def _consume(
    runtime: WorkerRuntime, message: Message, handler: Handler, handler_name: str
) -> Any:
    resources = await runtime.resources()
    try:
        async with resources.db.writing() as session:
            uow = UnitOfWork(session, resources.outbox)
            result = await handler(
                message, uow=uow, **_accepted_dependencies(handler, resources.dependencies)
            )
            encoded = msgspec.to_builtins(result) if result is not None else None
            await inbox.record(session, resources.inbox, message.message_id, handler_name, encoded)
    except IntegrityError:
        async with resources.db.reading() as session:
            if await inbox.handled(session, resources.inbox, message.message_id, handler_name):
                log.info(
                    "%s: message %s already handled; not again", handler_name, message.message_id
                )
                return await inbox.stored_result(
                    session, resources.inbox, message.message_id, handler_name
                )
        raise
    if resources.background_relay is None:
        await resources.relay.drain()
    return encoded


def register_consumers(
    app: Celery,
    service: str,
    handlers: Mapping[type[Message], Handler],
    runtime: WorkerRuntime,
    *,
    max_retries: int = 10,
) -> dict[str, Any]:
    """Register each handler as the named task of its message on this service's queue."""
    install_task_metrics(app)
    tasks: dict[str, Any] = {}
    for message_type, handler in handlers.items():
        name = task_name_for(service, message_type)
        replies = issubclass(message_type, Command) and message_type.replies

        def run(
            self: Any, payload: dict[str, Any], *, _type=message_type, _handler=handler, _name=name
        ) -> Any:
            return runtime.run(lambda: consume(runtime, _type, _handler, _name, payload))

        tasks[name] = app.task(
            run,
            name=name,
            bind=True,
            ignore_result=not replies,
            autoretry_for=TRANSIENT_ERRORS,
            retry_backoff=True,
            retry_backoff_max=60,
            retry_jitter=True,
            max_retries=max_retries,
        )
    return tasks
