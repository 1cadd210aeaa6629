"""The recommendation service's Celery worker app, built from settings (no module-level app).

The worker ranks too (published articles): its index is built at its first ranking.
"""

from __future__ import annotations

from celery import Celery

from services.recommendation import models, tasks
from services.recommendation.index import RankerFactory
from services.recommendation.service import build_service
from services.recommendation.settings import RecommendationSettings
from shared.runtime import build_runtime


def create_worker(
    settings: RecommendationSettings, *, make_ranker: RankerFactory | None = None
) -> Celery:
    runtime = build_runtime(settings, outbox=models.outbox, inbox=models.inbox)
    recommendations = build_service(runtime, settings, make_ranker=make_ranker)
    tasks.register(runtime.celery, runtime, recommendations=recommendations)
    return runtime.celery
