"""Where adapters and shared pauses come from: built once per process from the environment."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from channels.base import Channel
from channels.registry import (
    RegistryError,
    build_channel,
    channel_settings,
    env_variable,
    load_channels,
)
from orchestrator.devstack import demo_channels
from orchestrator.errors import SanshenError


class RateGate(Protocol):
    """A per-channel pause shared by every worker (a platform asked us to wait)."""

    def wait_left(self, channel: str) -> float: ...

    def pause(self, channel: str, seconds: float) -> None: ...


@dataclass
class MemoryRateGate:
    until: dict[str, float] = field(default_factory=dict)

    def wait_left(self, channel: str) -> float:
        return max(0.0, self.until.get(channel, 0.0) - time.monotonic())

    def pause(self, channel: str, seconds: float) -> None:
        self.until[channel] = max(self.until.get(channel, 0.0), time.monotonic() + seconds)


class RedisRateGate:
    def __init__(self, client: Any, prefix: str = "sanshen:pause:") -> None:
        self.client, self.prefix = client, prefix

    def wait_left(self, channel: str) -> float:
        ttl = self.client.pttl(self.prefix + channel)
        return max(0.0, ttl / 1000) if ttl and ttl > 0 else 0.0

    def pause(self, channel: str, seconds: float) -> None:
        millis = max(1, int(seconds * 1000))
        key = self.prefix + channel
        # keep the longer of two pauses asked for by two workers
        if (self.client.pttl(key) or 0) < millis:
            self.client.set(key, "1", px=millis)


class ChannelHub:
    """Adapter instances configured from SANSHEN_CHANNEL_<NAME>_<FIELD>, built once each."""

    def __init__(
        self, env: Mapping[str, str] | None = None, *, redis_url: str | None = None
    ) -> None:
        self.env = os.environ if env is None else env
        self.redis_url = redis_url
        self.classes = load_channels()
        self._built: dict[str, Channel] = {}
        self._building = threading.Lock()  # the reconciler checks rows from several threads

    def _env_for(self, name: str) -> Mapping[str, str]:
        """Adapters that share state between workers (a token, a quota) get our Redis unless
        their own variable says otherwise."""
        variable = env_variable(name, "redis_url")
        fields = self.classes[name].settings_model.model_fields
        if self.redis_url is None or "redis_url" not in fields or variable in self.env:
            return self.env
        return {**self.env, variable: redis_py_url(self.redis_url)}

    def get(self, name: str) -> Channel:
        found = self._built.get(name)
        if found is not None:
            return found
        with self._building:
            if name in self._built:
                return self._built[name]
            try:
                settings = channel_settings(name, self._env_for(name), channels=self.classes)
                self._built[name] = build_channel(name, settings, channels=self.classes)
            except RegistryError as exc:
                raise ChannelNotConfigured(str(exc)) from None
        return self._built[name]


def redis_py_url(url: str) -> str:
    """Celery's redis+socket:///path as redis-py spells it (unix:///path)."""
    prefix = "redis+socket://"
    return "unix://" + url.removeprefix(prefix) if url.startswith(prefix) else url


def hub_for(data_dir: Path) -> ChannelHub:
    """For commands run by hand: the adapters from the environment and, beside a running
    `sanshen up --demo` on the same data folder, its simulated platforms (the environment wins)."""
    return ChannelHub({**demo_channels(data_dir), **os.environ})


class ChannelNotConfigured(SanshenError):
    code = "channel_not_configured"
