"""Decoding of Stripe's form-encoded parameters (`line_items[0][price_data][currency]=gbp`)."""

import re
from collections.abc import Iterable
from typing import Any

from services.stripe_standin.errors import invalid_param

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest bracketed keys into dicts; dicts whose keys are all indices become lists."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        head, _, rest = raw_key.partition("[")
        parts = [head, *_KEY_PART.findall("[" + rest)] if rest else [head]
        node = root
        for index, part in enumerate(parts):
            if part == "":  # `expand[]=a&expand[]=b` appends, as Stripe accepts
                part = str(len(node))
            if index == len(parts) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _listify(root, "")


def _listify(node: Any, key: str) -> Any:
    if not isinstance(node, dict):
        return node
    children = {child: _listify(value, child) for child, value in node.items()}
    # Metadata keys are free text; `metadata[1]=x` stays a mapping.
    if key != "metadata" and children and all(child.isdigit() for child in children):
        return [children[key] for key in sorted(children, key=int)]
    return children


def integer_param(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_param(
            param, f"Invalid integer: {value}", code="parameter_invalid_integer"
        ) from None
