"""What staff templates get besides Litestar's own `csrf_input` and `csrf_token()`.

`register_staff_helpers(engine)` in the app's TemplateConfig engine_callback gives:
    {% set me = current_staff() %}   the signed-in StaffIdentity, or None
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar.template import TemplateEngineProtocol

from shared.auth.sessions import StaffIdentity, current_staff


def _current_staff(context: Mapping[str, Any]) -> StaffIdentity | None:
    request = context.get("request")
    return current_staff(request) if request is not None else None


def register_staff_helpers(engine: TemplateEngineProtocol[Any, Any]) -> None:
    engine.register_template_callable("current_staff", _current_staff)
