"""Celery beat for the whole shop: every service's periodic tasks, sent by name to its queue."""

from __future__ import annotations

from celery import Celery

from services.shop import SERVICES, load
from shared.messaging.celery_app import make_celery
from shared.settings import BrokerSettings, data_dir


def beat_schedule() -> dict[str, dict[str, object]]:
    schedule: dict[str, dict[str, object]] = {}
    for parts in SERVICES.values():
        schedule.update(load(parts.tasks).SCHEDULE)
    return schedule


def create_beat(schedule_file: str | None = None) -> tuple[Celery, str]:
    app = make_celery("beat", BrokerSettings().redis_url)
    app.conf.beat_schedule = beat_schedule()
    path = schedule_file or str(data_dir() / "celerybeat-schedule")
    data_dir().mkdir(parents=True, exist_ok=True)
    return app, path
