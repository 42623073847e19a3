"""The publish ledger: how many times each article was really published on one platform.

The ground truth for duplicate checks in tests and benchmarks (`GET /_sim/ledger`).
"""

from __future__ import annotations

import threading


class Ledger:
    """How many times each article key was actually published on this platform."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def published(self, key: str) -> int:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]

    def count(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.snapshot().items() if n > 1}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
