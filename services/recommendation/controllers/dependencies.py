"""The app's dependencies (`create_app`) as the recommendation service's handlers take them: by
name, `recommendations: Recommendations`. Litestar 3 injects only into a parameter marked for
it, so each is marked once here rather than in every handler."""

from __future__ import annotations

from litestar.di import NamedDependency

from services.recommendation.service import RecommendationService
from services.recommendation.settings import RecommendationSettings

Recommendations = NamedDependency[RecommendationService]
Settings = NamedDependency[RecommendationSettings]
