"""Constants and small helpers of every bench: progress on stderr, the JSON result, statistics,
times, phases."""

from __future__ import annotations

import contextlib
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]  # bench/_stack/basics.py → the repository
ALL_CHANNELS = ("gov_website", "suishenban", "wechat", "xuexi", "lvse_qingpu")
FINAL = frozenset({"published", "failed", "unconfirmed", "cancelled", "retracted"})
AT_PLATFORM = frozenset({"submitted", "published"})
_T0 = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - _T0:7.1f}s] {text}", file=sys.stderr, flush=True)


def emit(result: Mapping[str, Any]) -> None:
    print(json.dumps(result, ensure_ascii=False), flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


# --- simulators in their own process ----------------------------------------------------------


def shuffled(values: list[Any], seed: int) -> list[Any]:
    copy = list(values)
    random.Random(seed).shuffle(copy)
    return copy


def utcnow() -> datetime:
    return datetime.now(UTC)


def later(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextlib.contextmanager
def phase(what: str) -> Iterator[None]:
    started = time.monotonic()
    say(f"{what} …")
    yield
    say(f"{what}: {time.monotonic() - started:.1f} s")
