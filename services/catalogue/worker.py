"""The catalogue's Celery worker app, built from settings (no module-level app)."""

from __future__ import annotations

from celery import Celery

from services.catalogue import models, tasks
from services.catalogue.settings import CatalogueSettings
from shared.runtime import build_runtime


def create_worker(settings: CatalogueSettings) -> Celery:
    runtime = build_runtime(settings, outbox=models.outbox, inbox=models.inbox)
    tasks.register(runtime.celery, runtime)
    return runtime.celery
