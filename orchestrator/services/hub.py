"""Where adapters and shared pauses come from: built once per process from the environment."""

from __future__ import annotations

import enum
import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from channels.base import Channel
from channels.errors import Problem
from channels.item import Item
from channels.registry import (
    RegistryError,
    build_channel,
    channel_settings,
    env_variable,
    load_channels,
)
from orchestrator.demo_channels import demo_channels
from orchestrator.errors import SanshenError


@dataclass(frozen=True)
class Pause:
    """A channel paused: by a person (`by` their username) or by the platform (`by` "platform":
    a rate limit or a spent daily quota), for `seconds_left` more."""

    channel: str
    seconds_left: float
    by: str = ""
    reason: str = ""


class RateGate(Protocol):
    """A per-channel pause shared by every worker (a platform asked us to wait, or a person
    paused the channel); sends on a paused channel wait until it ends or is resumed."""

    def wait_left(self, channel: str) -> float: ...

    def pause(
        self, channel: str, seconds: float, *, by: str = "", reason: str = "", replace: bool = False
    ) -> None: ...

    def paused(self, channel: str) -> Pause | None: ...

    def resume(self, channel: str) -> bool: ...


@dataclass
class MemoryRateGate:
    until: dict[str, float] = field(default_factory=dict)
    why: dict[str, tuple[str, str]] = field(default_factory=dict)

    def wait_left(self, channel: str) -> float:
        return max(0.0, self.until.get(channel, 0.0) - time.monotonic())

    def pause(
        self, channel: str, seconds: float, *, by: str = "", reason: str = "", replace: bool = False
    ) -> None:
        end = time.monotonic() + seconds
        if replace or end > self.until.get(channel, 0.0):
            self.until[channel], self.why[channel] = end, (by, reason)

    def paused(self, channel: str) -> Pause | None:
        left = self.wait_left(channel)
        by, reason = self.why.get(channel, ("", ""))
        return Pause(channel, left, by, reason) if left else None

    def resume(self, channel: str) -> bool:
        self.why.pop(channel, None)
        return self.until.pop(channel, 0.0) > time.monotonic()


class RedisRateGate:
    """One key per paused channel, expiring when the pause ends; its value says who and why."""

    def __init__(self, client: Any, prefix: str = "sanshen:pause:") -> None:
        self.client, self.prefix = client, prefix

    def wait_left(self, channel: str) -> float:
        ttl = self.client.pttl(self.prefix + channel)
        return max(0.0, ttl / 1000) if ttl and ttl > 0 else 0.0

    def pause(
        self, channel: str, seconds: float, *, by: str = "", reason: str = "", replace: bool = False
    ) -> None:
        millis = max(1, int(seconds * 1000))
        key = self.prefix + channel
        value = json.dumps({"by": by, "reason": reason}, ensure_ascii=False)
        # keep the longer of two pauses asked for by two workers; a person's pause replaces
        if replace or (self.client.pttl(key) or 0) < millis:
            self.client.set(key, value, px=millis)

    def paused(self, channel: str) -> Pause | None:
        key = self.prefix + channel
        with self.client.pipeline(transaction=False) as pipe:
            ttl, raw = pipe.pttl(key).get(key).execute()
        if not ttl or ttl <= 0 or raw is None:
            return None
        try:
            said = json.loads(raw)
        except ValueError:  # a key from before the value said who (“1”)
            said = {}
        said = said if isinstance(said, dict) else {}
        return Pause(channel, ttl / 1000, str(said.get("by", "")), str(said.get("reason", "")))

    def resume(self, channel: str) -> bool:
        return bool(self.client.delete(self.prefix + channel))


class Mode(enum.StrEnum):
    """How a channel's rows go out: through its adapter, or published by a person by hand."""

    API = "api"
    ASSISTED = "assisted"

    @property
    def label(self) -> str:
        return "接口发布" if self is Mode.API else "人工发布"


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

    def mode(self, name: str) -> Mode:
        """SANSHEN_CHANNEL_<NAME>_MODE: api (the default) or assisted; a value the channel
        cannot take is a configuration error, not a silent fallback."""
        variable = env_variable(name, "mode")
        raw = self.env.get(variable, "").strip().lower() or Mode.API.value
        try:
            mode = Mode(raw)
        except ValueError:
            raise ChannelNotConfigured(
                f"环境变量 {variable} 的值无效：{raw}（可选 api 或 assisted）"
            ) from None
        cls = self.classes.get(name)
        if cls is None:
            raise ChannelNotConfigured(f"未知渠道 {name}")
        if mode is Mode.ASSISTED and not cls.assisted:
            raise ChannelNotConfigured(
                f"{cls.display_name}只能通过接口发布，不支持人工发布模式（{variable}）"
            )
        return mode

    def problems(self, name: str, item: Item) -> list[Problem]:
        """What the platform would refuse in `item` (its limits), also for an assisted channel
        that has no API settings: `validate` is pure by contract and reads no settings."""
        try:
            return self.get(name).validate(item)
        except ChannelNotConfigured:
            cls = self.classes[name]
            return cls.validate(cls.__new__(cls), item)

    def page_hosts(self, name: str) -> tuple[str, ...]:
        """The hosts 发布核验 may fetch this channel's pages from (see Channel.page_hosts)."""
        variable = env_variable(name, "page_hosts")
        if variable in self.env:
            return tuple(
                h.strip().lower()
                for h in self.env[variable].replace("，", ",").split(",")
                if h.strip()
            )
        # Not the API's host: a recorded URL must not make the server read the platform's API
        cls = self.classes.get(name)
        return tuple(cls.page_hosts) if cls is not None else ()


def redis_py_url(url: str) -> str:
    """Celery's redis+socket:///path as redis-py spells it (unix:///path)."""
    prefix = "redis+socket://"
    return "unix://" + url.removeprefix(prefix) if url.startswith(prefix) else url


def running_broker(settings: Any) -> str | None:
    """The broker a command run by hand may use without starting one: the configured
    SANSHEN_REDIS_URL, or the embedded Redis of a running `sanshen up` on the same data folder."""
    from orchestrator import redis_embedded

    if settings.redis_url:
        return str(settings.redis_url)
    if redis_embedded.server_pid(settings.data_dir) is not None:
        return redis_embedded.url_for(settings.data_dir)
    return None


def shared_gate(settings: Any) -> RedisRateGate:
    """The pauses every worker obeys, for a command run by hand; refused when no broker runs
    (the pauses live in it)."""
    from orchestrator import redis_embedded

    url = running_broker(settings)
    if url is None:
        raise BrokerNotRunning(
            "消息队列（Redis）未运行：渠道暂停记在其中。请先启动 sanshen up，"
            "或设置 SANSHEN_REDIS_URL 指向运行中的 Redis",
        )
    return RedisRateGate(redis_embedded.client(url, socket_timeout=5, socket_connect_timeout=5))


def hub_for(data_dir: Path) -> ChannelHub:
    """For commands run by hand: the adapters from the environment and, beside a running
    `sanshen up --demo` on the same data folder, its simulated platforms (the environment wins)."""
    return ChannelHub({**demo_channels(data_dir), **os.environ})


class ChannelNotConfigured(SanshenError):
    code = "channel_not_configured"


class BrokerNotRunning(SanshenError):
    code = "broker_not_running"
