"""The fault knobs every simulator has: which faults a request may get, and how they are drawn.

`FaultConfig` holds the knobs (`PUT /_sim/faults`), `Faults` draws one fault a request from
them, thread-safe and reproducible with a seed. `cut_connection` is how a simulator answers
with no answer at all: the client sees its connection reset.
"""

from __future__ import annotations

import contextlib
import enum
import random
import socket
import struct
import threading
from typing import Any

from flask import request
from pydantic import BaseModel, ConfigDict, Field, field_validator


class FaultKind(enum.StrEnum):
    SERVER_ERROR = "5xx"
    TIMEOUT = "timeout"  # hang for `hang_s` before answering
    RESET = "reset"  # cut the connection without answering
    RATE_LIMIT = "rate_limit"  # platform's rate-limit answer with retry-after
    TOKEN_EXPIRED = "token_expired"
    CONTENT_REJECTED = "content_rejected"


class FaultConfig(BaseModel):
    """Fault knobs; each rate is the chance (0..1) that one request gets that fault."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    rates: dict[FaultKind, float] = Field(default_factory=dict)
    latency_ms: float = Field(default=0.0, ge=0)
    hang_s: float = Field(default=30.0, ge=0)
    retry_after_s: int = Field(default=2, ge=0)
    confirm_delay_s: float = Field(default=0.0, ge=0)  # async result (callback / adoption) delay
    drop_reply_rate: float = Field(default=0.0, ge=0, le=1)  # act on the request, then cut
    seed: int | None = None

    @field_validator("rates")
    @classmethod
    def _rates_are_chances(cls, rates: dict[FaultKind, float]) -> dict[FaultKind, float]:
        if any(not 0 <= rate <= 1 for rate in rates.values()):
            raise ValueError("每种故障的概率须在 0 到 1 之间")
        if sum(rates.values()) > 1:
            raise ValueError("各种故障的概率之和不能超过 1")
        return rates


class Faults:
    """Thread-safe fault decisions for one simulator."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._config = config or FaultConfig()
        self._rng = random.Random(self._config.seed)

    @property
    def config(self) -> FaultConfig:
        return self._config

    def update(self, changes: dict[str, Any]) -> FaultConfig:
        """Apply a partial change; raises pydantic.ValidationError on a bad value."""
        with self._lock:
            merged = self._config.model_dump() | changes
            self._config = FaultConfig.model_validate(merged)
            if "seed" in changes:
                self._rng = random.Random(self._config.seed)
            return self._config

    def draw(self) -> FaultKind | None:
        with self._lock:
            roll = self._rng.random()
            for kind, rate in self._config.rates.items():
                if roll < rate:
                    return kind
                roll -= rate
            return None

    def drop_reply(self) -> bool:
        with self._lock:
            rate = self._config.drop_reply_rate
            return rate > 0 and self._rng.random() < rate


def cut_connection() -> None:
    """Close the client's socket with a reset; the client sees the connection die."""
    sock = request.environ.get("werkzeug.socket")
    if sock is None:  # not under werkzeug's server (e.g. Flask test client)
        raise ConnectionAbortedError("connection cut by simulator")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # werkzeug's reader and writer hold the descriptor open: shut it down, then close.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
