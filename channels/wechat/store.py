"""What the 微信公众号 adapter keeps between calls, in Redis when workers share it: the send log
of each idempotency key (`SendLog`), the daily quota of freepublish/get (`DailyQuota`) and the
lock around a token fetch (`token_lock`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from typing import Any

import redis

from channels.errors import RateLimited, Unavailable
from channels.rendering import LOCAL_TZ
from channels.wechat.errors import NAME, seconds_until_local_midnight
from channels.wechat.settings import WeChatSettings


def shared_redis(settings: WeChatSettings) -> redis.Redis | None:
    """The Redis that workers share the token, send log and quota in; None: this process only."""
    url = settings.redis_url.get_secret_value() if settings.redis_url else None
    if not url:
        return None
    return redis.Redis.from_url(
        url, socket_connect_timeout=settings.connect_timeout, socket_timeout=settings.read_timeout
    )


@contextmanager
def shared_store() -> Iterator[None]:
    """Redis failing is our side unavailable: nothing was sent to WeChat."""
    try:
        yield
    except redis.RedisError as exc:
        raise Unavailable("共享存储（Redis）不可用", channel=NAME) from exc


class SendLog:
    """How far each idempotency key got, kept beside the token (Redis when shared)."""

    TTL_S = 30 * 86400

    def __init__(self, storage: Any, prefix: str) -> None:
        self._storage = storage
        self._prefix = prefix

    def get(self, key: str) -> dict[str, Any]:
        with shared_store():
            record = self._storage.get(f"{self._prefix}:{key}")
        return dict(record) if isinstance(record, dict) else {}

    def put(self, key: str, record: dict[str, Any]) -> None:
        with shared_store():
            self._storage.set(f"{self._prefix}:{key}", record, self.TTL_S)


class DailyQuota:
    """At most `limit` calls of one API a day (Asia/Shanghai), counted in Redis or in memory."""

    def __init__(self, key: str, limit: int, redis_client: redis.Redis | None) -> None:
        self.key = key
        self.limit = limit
        self._redis = redis_client
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def _day_key(self) -> str:
        return f"{self.key}:{datetime.now(LOCAL_TZ):%Y%m%d}"

    def used(self) -> int:
        key = self._day_key()
        if self._redis is None:
            with self._lock:
                return self._counts.get(key, 0)
        with shared_store():
            return int(self._redis.get(key) or 0)

    def remaining(self) -> int:
        return max(0, self.limit - self.used())

    def take(self) -> None:
        """Count one call, or raise RateLimited (until local midnight) when none is left."""
        key = self._day_key()
        if self._redis is None:
            with self._lock:
                count = self._counts[key] = self._counts.get(key, 0) + 1
        else:
            with shared_store():
                count = int(self._redis.incr(key))
                if count == 1:
                    self._redis.expire(key, 2 * 86400)
        if count > self.limit:
            raise RateLimited(
                f"今日发布状态查询额度（{self.limit} 次）已用完，请等待回调或次日再查",
                retry_after=seconds_until_local_midnight(),
                daily=True,
                channel=NAME,
            )

    def exhaust(self) -> None:
        """WeChat said 45009: nothing is left today whatever we counted."""
        key = self._day_key()
        if self._redis is None:
            with self._lock:
                self._counts[key] = max(self._counts.get(key, 0), self.limit)
        else:
            with shared_store():
                self._redis.set(key, self.limit, ex=2 * 86400)


class RedisLock:
    """A short Redis lock around a token fetch; on timeout, proceed without it."""

    def __init__(self, client: redis.Redis, name: str) -> None:
        self._lock = client.lock(name, timeout=30, blocking_timeout=10)
        self._held = False

    def __enter__(self) -> object:
        try:
            self._held = bool(self._lock.acquire())
        except redis.exceptions.LockError:
            self._held = False
        return self

    def __exit__(self, *exc: object) -> None:
        if self._held:
            # expired meanwhile: another worker may hold it now
            with suppress(redis.exceptions.LockError):
                self._lock.release()


def token_lock(
    client: redis.Redis | None, name: str
) -> Callable[[], AbstractContextManager[object]]:
    """The lock around a token fetch: this process's own, or `name` in Redis when shared."""
    if client is None:
        local = threading.Lock()
        return lambda: local
    # Best effort: if the lock cannot be had in time, fetching twice is harmless with
    # stable_token, and costs one of 2,000 daily fetches with the classic token.
    return lambda: RedisLock(client, name)
