"""The health snapshot against a real Redis, a real worker and scheduler, and with Redis
stopped or the database unreachable: each part speaks for itself and nothing raises."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator import redis_embedded
from orchestrator.app import App
from orchestrator.services import health
from orchestrator.settings import Settings
from orchestrator.states import State
from tests.ops.conftest import publications, put
from tests.pipeline.conftest import Stack

REDIS_PARTS = ("broker", "queues", "scheduler", "workers")


@pytest.fixture
def own_redis() -> Iterator[tuple[Path, str]]:
    """A Redis of this test's own, so stopping it does not disturb the others."""
    folder = Path(tempfile.mkdtemp(prefix="ssh-", dir="/tmp"))
    yield folder, redis_embedded.ensure_running(folder)
    redis_embedded.stop(folder)


def test_everything_up_with_a_worker_and_the_scheduler(stack: Stack) -> None:
    pubs = publications(stack, ("gov_website", "wechat"))
    put(stack, pubs["wechat"], State.FAILED)
    stack.start("worker", concurrency=1)
    stack.start("scheduler")
    url = stack.env["SANSHEN_REDIS_URL"]
    seen: list[dict[str, Any]] = []

    def healthy() -> bool:
        seen.append(health.snapshot(stack.app, url=url))
        return bool(seen[-1]["ok"])

    stack.wait_for(healthy, timeout=40, what="a healthy snapshot")
    snap = seen[-1]
    assert snap["workers"]["count"] == 1
    assert set(snap["scheduler"]["last_round"]) == {
        "dispatch",
        "reconcile",
        "alerts",
        "notify",
        "verify",
    }
    assert snap["scheduler"]["last_round"]["dispatch"] is not None
    assert snap["queues"]["lengths"].keys() >= {"sanshen", "publish.gov_website"}
    assert snap["publications"]["by_state"] == {"failed": 1, "scheduled": 1}
    assert all("error" not in part for part in snap.values() if isinstance(part, dict))


def test_the_scheduler_part_tells_never_from_stale(own_redis: tuple[Path, str], app: App) -> None:
    _, url = own_redis
    now = datetime.now(UTC)
    part = health.snapshot(app, url=url, ping_workers=False, now=now)["scheduler"]
    assert part["ok"] is False and "从未运行" in part["error"]
    r = redis_embedded.client(url)
    health.mark_round(r, "dispatch", now - timedelta(minutes=10))
    part = health.snapshot(app, url=url, ping_workers=False, now=now)["scheduler"]
    assert part["ok"] is False and "已有 600 秒没有运行" in part["error"]
    health.mark_round(r, "dispatch", now - timedelta(seconds=2))
    part = health.snapshot(app, url=url, ping_workers=False, now=now)["scheduler"]
    assert part["ok"] is True and part["age_seconds"] == 2


def test_redis_stopped_each_part_reports_its_own_error(
    own_redis: tuple[Path, str], app: App
) -> None:
    folder, url = own_redis
    assert health.snapshot(app, url=url)["broker"]["ok"] is True
    redis_embedded.stop(folder)
    snap = health.snapshot(app, url=url)
    assert snap["ok"] is False
    errors = {name: snap[name].get("error", "") for name in REDIS_PARTS}
    assert errors["broker"].startswith("消息队列（Redis）无法连接")
    assert errors["queues"].startswith("无法读取队列长度")
    assert errors["scheduler"].startswith("无法读取调度循环的运行时间")
    assert errors["workers"].startswith("无法询问发送进程")
    assert snap["database"]["ok"] is True and snap["publications"]["ok"] is True


def test_database_unreachable_is_its_own_part(tmp_path: Path, own_redis: tuple[Path, str]) -> None:
    settings = Settings.model_validate(
        {"data_dir": tmp_path, "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/x.db"}
    )
    app = App(settings)
    try:
        snap = health.snapshot(app, url=own_redis[1], ping_workers=False)
    finally:
        app.db.dispose()
    assert snap["database"]["ok"] is False and snap["database"]["error"].startswith(
        "数据库无法连接"
    )
    assert snap["publications"]["error"].startswith("无法统计发布状态")
    assert snap["broker"]["ok"] is True


def test_the_default_url_never_starts_the_embedded_redis(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    url = health.broker_url(settings)
    assert url.startswith("redis+socket://")
    app = App(settings)
    try:
        assert health.snapshot(app, ping_workers=False)["broker"]["ok"] is False
    finally:
        app.db.dispose()  # its pool would outlive this test's database otherwise
    assert not Path(url.removeprefix("redis+socket://")).exists()
