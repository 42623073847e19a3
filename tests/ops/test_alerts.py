"""Alerts: found once per condition, delivered to a real loopback receiver, retried with
backoff when the receiver refuses, given up after the last attempt, acknowledged by people."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from channels.simulators.webhook import WebhookReceiver
from orchestrator.errors import Forbidden, NotFound
from orchestrator.models import Alert
from orchestrator.services import alerts
from orchestrator.services.alerts import AlertConfig
from orchestrator.states import State
from tests.ops.conftest import publications, put
from tests.pipeline.conftest import Stack


def all_alerts(stack: Stack) -> list[Alert]:
    with stack.app.db.read() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def scan(stack: Stack, now: datetime | None = None) -> list[int]:
    with stack.app.db.session() as session:
        return alerts.scan(session, now=now or datetime.now(UTC), overdue_after=900)


def make_overdue(stack: Stack, pub_id: int, hours: float) -> None:
    when = datetime.now(UTC) - timedelta(hours=hours)
    with stack.app.db.engine.begin() as conn:  # the office was closed: no scheduler ran
        conn.execute(
            text("UPDATE publications SET scheduled_at = :t WHERE id = :p"),
            {"t": when.replace(tzinfo=None), "p": pub_id},
        )


@pytest.fixture
def troubled(stack: Stack) -> dict[str, int]:
    """One publication failed, one unconfirmed, one overdue, one fine (due tomorrow)."""
    pubs = publications(stack, ("gov_website", "suishenban", "xuexi", "wechat"))
    put(stack, pubs["gov_website"], State.FAILED, last_error="平台拒收：标题含有禁用字符")
    put(stack, pubs["suishenban"], State.UNCONFIRMED, last_error="平台超过两小时未给出结果")
    make_overdue(stack, pubs["xuexi"], hours=2)
    return pubs


def test_each_condition_alerts_once_however_often_the_scan_runs(
    stack: Stack, troubled: dict[str, int]
) -> None:
    assert len(scan(stack)) == 3
    assert scan(stack) == []
    found = {a.kind: a for a in all_alerts(stack)}
    assert set(found) == {"failed", "unconfirmed", "overdue"}
    assert found["failed"].publication_id == troubled["gov_website"]
    assert "标题含有禁用字符" in found["failed"].message
    assert "政府网站" in found["failed"].message
    assert "已过 120 分钟仍未发出" in found["overdue"].message
    assert all(a.delivery_state == "pending" for a in found.values())


def test_failures_from_before_the_lookback_are_not_alerted(
    stack: Stack, troubled: dict[str, int]
) -> None:
    in_ten_days = datetime.now(UTC) + timedelta(days=10)
    new = scan(stack, now=in_ten_days)
    assert {a.kind for a in all_alerts(stack) if a.id in new} == {"overdue"}  # by then all are


def test_a_publication_that_fails_again_after_a_retry_alerts_again(
    stack: Stack, troubled: dict[str, int]
) -> None:
    scan(stack)
    pub = troubled["gov_website"]
    now = datetime.now(UTC)
    from orchestrator.services.dispatch import move

    with stack.app.db.session() as session:  # an operator sends it again; it fails again
        assert move(session, pub, [State.FAILED], State.QUEUED, now=now)
        assert move(session, pub, [State.QUEUED], State.FAILED, now=now)
    assert len(scan(stack)) == 1
    assert [a.kind for a in all_alerts(stack)].count("failed") == 2


def test_concurrent_scans_alert_once(stack: Stack, troubled: dict[str, int]) -> None:
    start, results, errors = threading.Barrier(4), [], []

    def one_scan() -> None:
        start.wait()
        try:
            results.append(scan(stack))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 0, 0, 3]
    assert len(all_alerts(stack)) == 3


def test_an_alert_another_scan_inserted_first_is_skipped(
    stack: Stack, troubled: dict[str, int]
) -> None:
    scan(stack)
    first = all_alerts(stack)[0]
    with stack.app.db.session() as session:
        twin = Alert(dedup_key=first.dedup_key, kind=first.kind, message="again")
        assert alerts.insert_once(session, twin) is False
        later = Alert(dedup_key="failed:0:0", kind="failed", message="new")
        assert alerts.insert_once(session, later) is True  # the session is still usable
    with stack.app.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 4


def config(receiver: WebhookReceiver, **overrides: object) -> AlertConfig:
    values: dict[str, object] = {
        "wecom_url": receiver.wecom_url,
        "webhook_url": receiver.webhook_url,
        "base_delay": 60.0,
        "timeout": 3.0,
    }
    return AlertConfig(**(values | overrides))  # type: ignore[arg-type]


def test_delivered_to_the_wecom_robot_and_the_json_webhook(
    stack: Stack, troubled: dict[str, int], receiver: WebhookReceiver
) -> None:
    counts = alerts.run_once(stack.app, config(receiver))
    assert counts == {"created": 3, "sent": 3, "pending": 0, "failed": 0}
    (robot,) = receiver.received("wecom")  # one digest per round
    assert robot["msgtype"] == "markdown"
    for label in ("发布失败", "结果未确认", "逾期未发", "标题含有禁用字符"):
        assert label in robot["markdown"]["content"]
    hooks = {m["kind"]: m for m in receiver.received("webhook")}
    assert set(hooks) == {"failed", "unconfirmed", "overdue"}
    failed = hooks["failed"]
    assert set(failed) == {"kind", "publication_id", "channel", "title", "state", "message", "at"}
    assert failed["publication_id"] == troubled["gov_website"]
    assert (failed["channel"], failed["state"]) == ("gov_website", "failed")
    assert failed["title"] == "区政务服务中心推出周末延时服务"
    assert datetime.fromisoformat(failed["at"]).tzinfo is not None
    assert all(a.delivery_state == "sent" and a.delivered_at for a in all_alerts(stack))
    assert alerts.run_once(stack.app, config(receiver))["created"] == 0
    assert len(receiver.received("webhook")) == 3  # nothing is sent twice


@pytest.mark.parametrize(
    ("target", "fault", "error"),
    [
        ("webhook", {"status": 500}, "HTTP 500"),
        ("wecom", {"status": 502}, "HTTP 502"),
        ("wecom", {"errcode": 45009}, "errcode=45009"),
    ],
)
def test_a_refused_delivery_is_retried_after_a_backoff_and_delivered_on_recovery(
    stack: Stack,
    troubled: dict[str, int],
    receiver: WebhookReceiver,
    target: str,
    fault: dict[str, int],
    error: str,
) -> None:
    receiver.fail(target, {"wecom": 1, "webhook": 3}[target], **fault)  # each request of a round
    cfg = config(receiver)
    now = datetime.now(UTC)
    assert alerts.run_once(stack.app, cfg, now=now)["pending"] == 3
    for alert in all_alerts(stack):
        assert alert.delivery_state == "pending" and alert.delivery_attempts == 1
        assert error in (alert.last_error or "")
        assert alert.next_try_at is not None and alert.next_try_at >= now + timedelta(seconds=59)
    assert alerts.deliver_due(stack.app.db, cfg, clock=lambda: now) == {
        "sent": 0,
        "pending": 0,
        "failed": 0,
    }  # not due yet
    later = now + timedelta(seconds=61)
    assert alerts.deliver_due(stack.app.db, cfg, clock=lambda: later)["sent"] == 3
    assert {(a.delivery_state, a.delivery_attempts, a.last_error) for a in all_alerts(stack)} == {
        ("sent", 2, None)
    }
    assert len(receiver.received(target)) == {"wecom": 1, "webhook": 3}[target]


def test_the_robot_digest_is_split_below_its_size_limit(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    reason = "平台拒收：" + "正文含有不符合规范的内容" * 30
    ids = [
        pub
        for _ in range(2)
        for pub in publications(
            stack, ("gov_website", "suishenban", "wechat", "xuexi", "lvse_qingpu")
        ).values()
    ]
    for pub in ids:
        put(stack, pub, State.FAILED, last_error=reason)
    counts = alerts.run_once(stack.app, config(receiver, webhook_url=""))
    assert counts["sent"] == 10
    digests = [m["markdown"]["content"] for m in receiver.received("wecom")]
    assert len(digests) > 1
    assert all(len(d.encode()) <= 4096 for d in digests)  # the receiver refuses longer ones
    mentioned = re.findall(r"告警 #(\d+)", "".join(digests))
    assert sorted(map(int, mentioned)) == [a.id for a in all_alerts(stack)]


def test_delivery_gives_up_after_the_last_attempt_and_the_backoff_grows(
    stack: Stack, troubled: dict[str, int], receiver: WebhookReceiver
) -> None:
    receiver.fail("webhook", 100, status=503)
    cfg = config(receiver, wecom_url="", max_attempts=3, base_delay=10.0)
    now = datetime.now(UTC)
    alerts.run_once(stack.app, cfg, now=now)
    waits = []
    for _ in range(2):
        (alert, *_) = all_alerts(stack)
        assert alert.next_try_at is not None
        waits.append(alert.next_try_at - now)
        now = alert.next_try_at
        alerts.deliver_due(stack.app.db, cfg, clock=lambda t=now: t)
    assert waits[1] > waits[0]
    assert {(a.delivery_state, a.delivery_attempts) for a in all_alerts(stack)} == {("failed", 3)}
    assert alerts.deliver_due(stack.app.db, cfg, clock=lambda: now + timedelta(days=1)) == {
        "sent": 0,
        "pending": 0,
        "failed": 0,
    }


def test_an_unreachable_target_is_a_failure_that_never_shows_its_key(
    stack: Stack, troubled: dict[str, int], receiver: WebhookReceiver
) -> None:
    receiver.stop()  # nobody listens on that port any more
    cfg = config(receiver, webhook_url="")
    assert alerts.run_once(stack.app, cfg)["pending"] == 3
    for alert in all_alerts(stack):
        assert "无法连接企业微信群机器人" in (alert.last_error or "")
        assert "key" not in (alert.last_error or "") and "127.0.0.1" not in (alert.last_error or "")
    assert "***" in repr(cfg.targets()[0])


def test_without_webhooks_alerts_are_recorded_and_wait(
    stack: Stack, troubled: dict[str, int]
) -> None:
    assert alerts.run_once(stack.app, AlertConfig()) == {"created": 3}
    assert {a.delivery_state for a in all_alerts(stack)} == {"pending"}


def test_acknowledge(stack: Stack, troubled: dict[str, int]) -> None:
    scan(stack)
    alert_id = all_alerts(stack)[0].id
    with stack.app.db.session() as session, pytest.raises(Forbidden):
        alerts.acknowledge(session, alert_id, actor="author")
    with stack.app.db.session() as session, pytest.raises(NotFound):
        alerts.acknowledge(session, 99999, actor="ops")
    first = datetime(2026, 1, 1, tzinfo=UTC)
    with stack.app.db.session() as session:
        alerts.acknowledge(session, alert_id, actor="ops", now=first)
    with stack.app.db.session() as session:
        again = alerts.acknowledge(session, alert_id, actor="web")
        assert (again.acknowledged_by, again.acknowledged_at) == ("ops", first)
    with stack.app.db.read() as session:
        open_ids = [a.id for a in alerts.recent(session, open_only=True)]
    assert alert_id not in open_ids and len(open_ids) == 2
