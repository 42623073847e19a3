"""The health snapshot: broker, workers, scheduler loops, queues, database, publications.

`snapshot()` is fast and never raises. Its parts run side by side under one deadline; each
reports `ok` and, when it is not, an `error` in Chinese, so one broken part never hides the
others. The scheduler loops leave a timestamp in Redis each round (`mark_round`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from functools import cache
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from orchestrator.app import App
from orchestrator.models import Publication
from orchestrator.redis_embedded import client, socket_dir
from orchestrator.settings import Settings, get_settings

CONTROL_QUEUE = "sanshen"  # tasks.app.CONTROL_QUEUE; not imported: that module starts Redis
ROUND_KEY = "sanshen:round:{loop}"
REDIS_TIMEOUT = 0.5
WORKER_PING_TIMEOUT = 1.0  # a busy two-core host answers in well under that
DEADLINE = 2.5

Part = dict[str, Any]


# --- the scheduler's rounds -------------------------------------------------------------------


def mark_round(redis_client: redis.Redis, loop: str, now: datetime | None = None) -> None:
    """Record that a scheduler loop finished a round; a broker hiccup is not the loop's problem."""
    stamp = (now or datetime.now(UTC)).isoformat()
    with contextlib.suppress(redis.RedisError, OSError):
        redis_client.set(ROUND_KEY.format(loop=loop), stamp)


def marking(work: Callable[[], Any], loop: str, redis_client: redis.Redis) -> Callable[[], Any]:
    """`work`, followed by `mark_round` when it returns."""

    def marked() -> Any:
        result = work()
        mark_round(redis_client, loop)
        return result

    return marked


# --- where things are ----------------------------------------------------------------------


def broker_url(settings: Settings) -> str:
    """The broker's URL, like tasks.app.broker_url, but never starting the embedded Redis:
    a health check must not repair what it is looking at."""
    if settings.redis_url:
        return settings.redis_url
    return f"redis+socket://{socket_dir(settings.data_dir) / 'redis.sock'}"


def channel_names() -> list[str]:
    from channels.registry import channel_entries

    return [entry.name for entry in channel_entries()]


def queue_names() -> list[str]:
    return [CONTROL_QUEUE, *(f"publish.{name}" for name in channel_names())]


def _redis(url: str) -> redis.Redis:
    return client(
        url,
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
        retry=Retry(NoBackoff(), 0),  # redis-py retries with backoff by default: seconds
    )


def _failure(exc: BaseException, what: str) -> Part:
    return {"ok": False, "error": f"{what}：{type(exc).__name__}"}


# --- the parts -----------------------------------------------------------------------------


def broker_part(url: str) -> Part:
    try:
        started = time.monotonic()
        _redis(url).ping()
        return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}
    except Exception as exc:
        return _failure(exc, "消息队列（Redis）无法连接")


def queues_part(url: str) -> Part:
    try:
        r = _redis(url)
        names = queue_names()
        with r.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(name)
            pipe.hlen("unacked")  # kombu's Redis transport: delivered, not yet acknowledged
            counts = pipe.execute()
        lengths = dict(zip(names, counts[:-1], strict=True))
        return {"ok": True, "lengths": lengths, "unacked": counts[-1]}
    except Exception as exc:
        return _failure(exc, "无法读取队列长度")


LOOPS = ("dispatch", "reconcile", "alerts", "notify", "verify")


def last_rounds(url: str) -> dict[str, datetime | None]:
    """When each scheduler loop last finished a round (None: never, or Redis was emptied)."""
    values = _redis(url).mget([ROUND_KEY.format(loop=loop) for loop in LOOPS])
    return {
        loop: datetime.fromisoformat(v.decode() if isinstance(v, bytes) else v) if v else None
        for loop, v in zip(LOOPS, values, strict=True)
    }


def scheduler_part(url: str, now: datetime, stale_after: float) -> Part:
    """The last round of each loop; stale when the dispatch loop has not run for a while."""
    try:
        last = last_rounds(url)
    except Exception as exc:
        return _failure(exc, "无法读取调度循环的运行时间")
    dispatch = last["dispatch"]
    part: Part = {"last_round": {k: v.isoformat() if v else None for k, v in last.items()}}
    if dispatch is None:
        return part | {"ok": False, "error": "调度循环从未运行（或 Redis 数据已清空）"}
    age = (now - dispatch).total_seconds()
    part["age_seconds"] = round(age, 1)
    if age > stale_after:
        return part | {"ok": False, "error": f"调度循环已有 {int(age)} 秒没有运行"}
    return part | {"ok": True}


def workers_part(url: str, timeout: float = WORKER_PING_TIMEOUT) -> Part:
    try:
        from celery import Celery

        # A bare Celery app on the same broker: importing tasks.app would start Redis.
        celery = Celery("sanshen-health", broker=url, set_as_current=False)
        celery.conf.broker_connection_retry = False
        celery.conf.broker_connection_max_retries = 0
        celery.conf.broker_transport_options = {"max_retries": 0}
        try:
            replies = celery.control.ping(timeout=timeout) or []
        finally:
            celery.close()
    except Exception as exc:
        return _failure(exc, "无法询问发送进程")
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return {"ok": False, "count": 0, "names": [], "error": "没有发送进程应答"}
    return {"ok": True, "count": len(names), "names": names}


def publication_counts(session: Session) -> dict[tuple[str, str], int]:
    """(channel, state) -> number of publications."""
    rows = session.execute(
        select(Publication.channel, Publication.state, func.count()).group_by(
            Publication.channel, Publication.state
        )
    ).all()
    return {(channel, state): n for channel, state, n in rows}


def database_part(app: App) -> Part:
    try:
        started = time.monotonic()
        with app.db.read() as session:
            session.execute(text("SELECT 1"))
        return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}
    except Exception as exc:
        return _failure(exc, "数据库无法连接")


def publications_part(app: App) -> Part:
    try:
        with app.db.read() as session:
            counts = publication_counts(session)
    except Exception as exc:
        return _failure(exc, "无法统计发布状态")
    by_state: dict[str, int] = {}
    for (_channel, state), n in counts.items():
        by_state[state] = by_state.get(state, 0) + n
    return {"ok": True, "by_state": dict(sorted(by_state.items()))}


# --- the snapshot --------------------------------------------------------------------------


@cache
def _default_app() -> App:
    return App(get_settings())


def snapshot(
    app: App | None = None,
    *,
    url: str | None = None,
    ping_workers: bool = True,
    now: datetime | None = None,
    deadline: float = DEADLINE,
) -> dict[str, Any]:
    """Every part's state; `ok` only when all parts are. Never raises, returns within about
    `deadline` seconds (a part still running then is reported as timed out)."""
    app = app or _default_app()
    now = now or datetime.now(UTC)
    url = url or broker_url(app.settings)
    stale_after = max(30.0, app.settings.scheduler_interval * 20)
    checks: dict[str, Callable[[], Part]] = {
        "broker": lambda: broker_part(url),
        "queues": lambda: queues_part(url),
        "scheduler": lambda: scheduler_part(url, now, stale_after),
        "database": lambda: database_part(app),
        "publications": lambda: publications_part(app),
    }
    if ping_workers:
        checks["workers"] = lambda: workers_part(url)
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="sanshen-health")
    futures = {name: pool.submit(check) for name, check in checks.items()}
    wait(futures.values(), timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)
    parts: dict[str, Part] = {}
    for name, future in futures.items():
        if future.done() and future.exception() is None:
            parts[name] = future.result()
        elif future.done():
            parts[name] = _failure(future.exception(), "检查出错")  # type: ignore[arg-type]
        else:
            parts[name] = {"ok": False, "error": f"检查超时（超过 {deadline:g} 秒）"}
    return {"ok": all(p["ok"] for p in parts.values()), "at": now.isoformat(), **parts}
