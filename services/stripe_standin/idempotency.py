"""Idempotency-Key semantics: a replayed key gets the first response, a reused key an error."""

import json
import threading
from dataclasses import dataclass
from typing import Any

from services.stripe_standin.errors import StripeError


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status: int
    body: bytes
    request_id: str


def request_fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    return json.dumps([method, path, params], sort_keys=True)


class IdempotencyStore:
    """Keys are scoped to the API key, as Stripe scopes them to the account.

    Only successful responses are kept; a request that failed may be retried with its key,
    which is what a client recovering from an error does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._responses: dict[tuple[str, str], StoredResponse] = {}

    def replay(self, api_key: str, key: str, fingerprint: str) -> StoredResponse | None:
        with self._lock:
            stored = self._responses.get((api_key, key))
        if stored is not None and stored.fingerprint != fingerprint:
            raise StripeError(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
            )
        return stored

    def save(self, api_key: str, key: str, response: StoredResponse) -> None:
        with self._lock:
            self._responses.setdefault((api_key, key), response)

    def reset(self) -> None:
        with self._lock:
            self._responses.clear()
