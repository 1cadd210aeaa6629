"""Faults a test arranges for the next requests to a path: a 500 or a hang."""

import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal

FaultKind = Literal["error", "hang"]


@dataclass
class Fault:
    """`path` matches exactly, or as a prefix when it ends in `*`; `method` None matches any."""

    path: str
    kind: FaultKind
    remaining: int = 1
    seconds: float = 0.0
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.kind not in ("error", "hang") or fault.remaining < 1 or fault.seconds < 0:
            raise ValueError("A fault needs kind 'error' or 'hang', count >= 1 and seconds >= 0.")
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching this request, used up by one."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
