"""A channel paused by a person or by the platform, and resumed by a person: from the command
line against the Redis the worker obeys, with the worker and the scheduler running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.registry import load_channels
from orchestrator import audit
from orchestrator.errors import Forbidden, InvalidInput, NotFound
from orchestrator.models import AuditEvent
from orchestrator.redis_embedded import client
from orchestrator.services import pauses
from orchestrator.services.hub import RedisRateGate
from tests.pipeline.conftest import Stack

SANSHEN = str(Path(sys.executable).with_name("sanshen"))


@pytest.fixture
def gate(stack: Stack) -> Iterator[RedisRateGate]:
    shared = RedisRateGate(client(stack.env["SANSHEN_REDIS_URL"]))
    yield shared
    for name in load_channels():  # the Redis is the session's: leave no pause behind
        shared.resume(name)


def sanshen(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SANSHEN, *args],
        env=os.environ | stack.env,  # DATABASE_URL on PostgreSQL
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def events(stack: Stack, action: str) -> list[AuditEvent]:
    with stack.app.db.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_paused_channel_holds_its_sends_until_resumed_from_the_command_line(
    stack: Stack, gate: RedisRateGate
) -> None:
    paused = sanshen(
        stack, "channel", "pause", "gov_website", "--as", "web", "--reason", "网站维护",
        "--minutes", "30",
    )  # fmt: skip
    assert paused.returncode == 0, paused.stderr
    assert "政府网站（gov_website）：已暂停至" in paused.stdout and "web：网站维护" in paused.stdout
    assert 29 * 60 < gate.wait_left("gov_website") <= 30 * 60

    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website", "suishenban"))
    stack.wait_for(lambda: stack.states(sub)["suishenban"] == "published", what="the other sent")
    stack.wait_for(
        lambda: stack.publications(sub)[0].last_error_class == "channel_paused", what="held"
    )
    held = stack.publications(sub)[0]
    assert held.state == "scheduled" and held.last_error.startswith("渠道暂停中，将于")
    assert stack.ledger("gov_website") == {}

    status = sanshen(stack, "channel", "status", "--json")
    assert status.returncode == 0, status.stderr
    by_name = {row["channel"]: row for row in json.loads(status.stdout)}
    assert by_name["gov_website"]["paused"] and by_name["gov_website"]["by"] == "web"
    assert not by_name["wechat"]["paused"]

    resumed = sanshen(stack, "channel", "resume", "gov_website", "--as", "ops")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "政府网站（gov_website）：已恢复发送；1 条等待中的发布现在到期"
    stack.wait_for(lambda: stack.states(sub)["gov_website"] == "published", what="sent after")
    assert stack.ledger("gov_website") == {held.idempotency_key: 1}
    assert stack.publications(sub)[0].last_error is None

    (pause_event,) = events(stack, "channel.pause")
    (resume_event,) = events(stack, "channel.resume")
    assert (pause_event.actor, pause_event.subject) == ("web", "channel:gov_website")
    assert pause_event.payload == {"minutes": 30, "reason": "网站维护"}
    assert resume_event.actor == "ops" and resume_event.payload["rows"] == 1
    assert resume_event.payload["paused"]["by"] == "web"
    assert [e.actor for e in events(stack, "publication.resume")] == ["ops"]
    with stack.app.db.session() as session:  # the row's new time is vouched for by the chain
        report = audit.verify(session)
    assert report.ok and not report.row_problems, report.as_dict()


def test_a_platform_pause_is_resumed_by_a_person(stack: Stack, gate: RedisRateGate) -> None:
    gate.pause("wechat", 3600, by="platform", reason="今日调用次数已达上限")
    status = sanshen(stack, "channel", "status", "wechat")
    assert status.returncode == 0, status.stderr
    assert "微信公众号（wechat）：已暂停至" in status.stdout
    assert "平台要求：今日调用次数已达上限" in status.stdout
    pauses.resume(stack.app, gate, load_channels(), "wechat", actor="web")
    assert gate.wait_left("wechat") == 0


def test_who_may_pause_and_what_is_refused(stack: Stack, gate: RedisRateGate) -> None:
    classes = load_channels()
    with pytest.raises(Forbidden) as refused:
        pauses.pause(stack.app, gate, classes, "gov_website", minutes=5, reason="x", actor="author")
    assert refused.value.code == "not_permitted" and "暂停或恢复渠道" in refused.value.message
    with pytest.raises(Forbidden):  # upward reports are 综合科's
        pauses.pause(stack.app, gate, classes, "xuexi", minutes=5, reason="x", actor="web")
    pauses.pause(stack.app, gate, classes, "xuexi", minutes=5, reason="平台升级", actor="zhk")
    with pytest.raises(InvalidInput) as empty:
        pauses.pause(stack.app, gate, classes, "gov_website", minutes=5, reason=" ", actor="web")
    assert empty.value.code == "reason_required"
    with pytest.raises(InvalidInput) as too_long:
        pauses.pause(
            stack.app, gate, classes, "gov_website", minutes=10081, reason="x", actor="web"
        )
    assert too_long.value.code == "bad_pause_minutes"
    with pytest.raises(NotFound) as unknown:
        pauses.resume(stack.app, gate, classes, "weibo", actor="web")
    assert unknown.value.code == "unknown_channel" and "gov_website" in unknown.value.message
    assert gate.wait_left("gov_website") == 0  # nothing refused was half-done
    assert len(events(stack, "channel.pause")) == 1  # only 综合科's

    refused_cli = sanshen(stack, "channel", "pause", "weibo", "--as", "web", "--reason", "x")
    assert refused_cli.returncode != 0 and "没有渠道“weibo”" in refused_cli.stderr


def test_without_a_running_broker_the_command_says_so(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SANSHEN_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [SANSHEN, "channel", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "消息队列（Redis）未运行" in result.stderr
