"""What people do around the pipeline: schedule, cancel, retract, confirm, repost; overdue
after downtime; the WeChat callback; roles."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from orchestrator.errors import Conflict, Forbidden, InvalidInput
from orchestrator.models import Publication, Submission
from orchestrator.services import amendments
from orchestrator.services.dispatch import claim_due
from orchestrator.services.health import last_rounds
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.publishing import Publisher
from tests.clock import shanghai_today, shanghai_tomorrow
from tests.orchestrator.conftest import PASSWORDS
from tests.pipeline.conftest import Stack


def publisher(stack: Stack) -> Publisher:
    return Publisher(stack.app, ChannelHub(stack.env), MemoryRateGate())


def whole_dispatch_round(stack: Stack) -> None:
    """Wait until the running scheduler has finished a dispatch round that began after this
    call: one round ends after it (that round may have begun before), then the next one, which
    began after that end. Rounds are read from the scheduler's own marks (health.last_rounds),
    so a scheduler that never runs fails the wait instead of passing a quiet check."""
    url = stack.env["SANSHEN_REDIS_URL"]

    def last() -> datetime | None:
        return last_rounds(url)["dispatch"]

    def ended_after(mark: datetime | None) -> bool:
        now = last()
        return now is not None and (mark is None or now > mark)

    for what in ("a dispatch round to end", "a whole dispatch round after that"):
        mark = last()
        stack.wait_for(lambda mark=mark: ended_after(mark), timeout=60, what=what)


def test_scheduled_for_tomorrow_waits_and_can_be_moved_or_cancelled(stack: Stack) -> None:
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website", "suishenban"), publish_date=shanghai_tomorrow())
    whole_dispatch_round(stack)  # the scheduler has looked at the committed rows, and left them
    assert set(stack.states(sub).values()) == {"scheduled"}
    gov, zsb = stack.publications(sub)
    p = publisher(stack)
    with pytest.raises(Forbidden):
        p.reschedule(gov.id, when=datetime.now(UTC), actor="author")
    with pytest.raises(InvalidInput):
        p.reschedule(gov.id, when=datetime.now(UTC) - timedelta(hours=2), actor="web")
    with pytest.raises(Conflict):  # a day before the signed date: the leader's to sign
        p.reschedule(gov.id, when=datetime.now(UTC), actor="web")
    with stack.app.db.session() as session:
        amendments.amend_date(
            session,
            gov.id,
            new_date=shanghai_today(),
            actor="publicity",
            password=PASSWORDS["publicity"],
            policy=stack.app.policy,
            comment="提前发布",
        )
    p.reschedule(gov.id, when=datetime.now(UTC), actor="web")
    p.cancel(zsb.id, reason="活动延期", actor="web")
    stack.wait_for(lambda: stack.settled(sub), timeout=30)
    assert stack.states(sub) == {"gov_website": "published", "suishenban": "cancelled"}
    assert stack.ledger("suishenban") == {}
    with pytest.raises(Conflict):
        p.cancel(gov.id, reason="太晚了", actor="web")


def test_bad_requests_are_refused_by_code_and_change_nothing(stack: Stack) -> None:
    """A time in the past, a retract of something never published, a platform result for a
    publish id nobody sent: each a named refusal, and the row and the audit log as they were."""
    from channels.base import RemoteState, Status
    from orchestrator.errors import NotFound
    from orchestrator.models import AuditEvent

    sub = stack.signed_off(("gov_website", "wechat"), publish_date=shanghai_tomorrow())
    p = publisher(stack)

    def snapshot() -> tuple[object, ...]:
        with stack.app.db.session() as session:
            rows = session.execute(
                select(Publication.state, Publication.revision, Publication.scheduled_at)
                .where(Publication.submission_id == sub)
                .order_by(Publication.id)
            ).all()
            events = session.scalar(select(func.count()).select_from(AuditEvent))
        return tuple(rows), events

    before = snapshot()
    gov, _ = stack.publications(sub)
    refusals = [
        (
            InvalidInput,
            "time_in_past",
            lambda: p.reschedule(gov.id, when=datetime.now(UTC) - timedelta(hours=1), actor="web"),
        ),
        (Conflict, "nothing_to_retract", lambda: p.retract(gov.id, reason="有误", actor="web")),
        (Conflict, "nothing_to_retract", lambda: p.retract_all(sub, reason="有误", actor="web")),
        (
            NotFound,
            "unknown_publish_id",
            lambda: p.apply_status(
                "wechat", "no-such-publish-id", Status(RemoteState.PUBLISHED, url="https://x/1")
            ),
        ),
    ]
    for error, code, call in refusals:
        with pytest.raises(error) as caught:
            call()
        assert caught.value.code == code and caught.value.message, code
    assert snapshot() == before


def test_overdue_after_downtime_goes_out_in_schedule_order_flagged_late(stack: Stack) -> None:
    # Signed off for today 30, 20 and 10 minutes ago while nothing ran (rows are due at the
    # sign-off, or at 00:00 Shanghai time when that is later: still in this order).
    now = datetime.now(UTC)
    subs = [
        stack.signed_off(("gov_website",), at=now - timedelta(minutes=30 - 10 * i))
        for i in range(3)
    ]
    stack.start("worker", concurrency=1)  # one at a time, so arrival order is send order
    stack.start("scheduler")
    stack.wait_for(lambda: all(stack.settled(s) for s in subs), timeout=40)
    pubs = [stack.publications(s)[0] for s in subs]
    assert all(p.state == "published" and p.late for p in pubs)
    received = [
        r["key"]
        for r in stack.sims.simulator("gov_website").received
        if r.get("operation") == "create"
    ]
    assert received == [p.idempotency_key for p in pubs]


def test_retract_one_channel_and_all_channels(stack: Stack) -> None:
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website", "suishenban"))
    stack.wait_for(lambda: stack.settled(sub), timeout=40)
    p = publisher(stack)
    gov, _ = stack.publications(sub)
    with pytest.raises(InvalidInput):
        p.retract(gov.id, reason=" ", actor="web")
    with pytest.raises(Forbidden):
        p.retract(gov.id, reason="数据有误", actor="publicity")
    assert p.retract(gov.id, reason="数据有误", actor="web") == "retracted"
    assert p.retract_all(sub, reason="整体撤回", actor="web") == {"suishenban": "retracted"}
    assert set(stack.states(sub).values()) == {"retracted"}
    with pytest.raises(Conflict):
        p.retract(gov.id, reason="再撤一次", actor="web")


def test_unconfirmed_rows_wait_for_a_person(stack: Stack) -> None:
    stack.sims.simulator("xuexi").faults.update({"confirm_delay_s": 3600})
    stack.env["SANSHEN_UPWARD_UNCONFIRMED_AFTER"] = "2"
    stack.env["SANSHEN_CONFIRM_FIRST_CHECK"] = "1"
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("xuexi",))
    stack.wait_for(lambda: stack.settled(sub), timeout=40, what="unconfirmed")
    (pub,) = stack.publications(sub)
    assert pub.state == "unconfirmed"
    p = publisher(stack)
    with pytest.raises(Forbidden):
        p.retry(pub.id, actor="web", checked=True)  # upward reports are 综合科's
    with pytest.raises(Conflict) as info:
        p.retry(pub.id, actor="ops")  # it may be on the platform: look first
    assert info.value.code == "check_platform_first"
    p.confirm_by_hand(pub.id, url="https://www.xuexi.cn/lgpage/detail/index.html?id=1", actor="zhk")
    assert stack.states(sub) == {"xuexi": "published"}
    assert stack.ledger("xuexi") == {pub.idempotency_key: 1}


def test_adoption_upward_drafts_a_repost_that_needs_its_own_review(stack: Stack) -> None:
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("xuexi",))
    stack.wait_for(lambda: stack.settled(sub), timeout=40, what="adopted")
    (pub,) = stack.publications(sub)
    assert pub.state == "published" and pub.url
    with stack.app.db.session() as session:
        repost = session.scalar(select(Submission).where(Submission.repost_of_id == pub.id))
        assert repost is not None
        version = repost.current
        assert version.repost_platform == "学习强国" and version.repost_url == pub.url
        assert {c.channel for c in version.channels} == {"gov_website", "suishenban", "wechat"}
        repost_id = repost.id
        assert (
            session.scalars(select(Publication).where(Publication.submission_id == repost_id)).all()
            == []
        )


def test_wechat_result_arrives_by_signed_callback(stack: Stack) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stack.env["SANSHEN_CONFIRM_FIRST_CHECK"] = "3600"  # no polling: only the callback
    stack.procs.env = stack.env
    stack.procs.start("api", [str(stack_bin() / "sanshen"), "api", "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/healthz")
    sim = stack.sims.simulator("wechat")
    requests.put(
        f"{stack.sims.base_url('wechat')}/_sim/callback",
        json={"url": f"{base}/callbacks/wechat"},
        timeout=5,
    ).raise_for_status()
    sim.faults.update({"confirm_delay_s": 1})
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("wechat",))
    stack.wait_for(lambda: stack.settled(sub), timeout=40, what="callback")
    (pub,) = stack.publications(sub)
    assert pub.state == "published" and pub.url
    assert all(a.operation != "status" for a in attempts_of(stack, pub.id))
    forged = requests.post(
        f"{base}/callbacks/wechat?signature=bad&timestamp=1&nonce=2", data=b"<xml></xml>", timeout=5
    )
    assert forged.status_code == 403
    xml = (  # a correctly signed result for a publish id we never got: nothing changes
        "<xml><ToUserName><![CDATA[gh_sim]]></ToUserName><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[PUBLISHJOBFINISH]]></Event><PublishEventInfo>"
        "<publish_id>999999999</publish_id><publish_status>2</publish_status>"
        "<fail_idx>1</fail_idx></PublishEventInfo></xml>"
    )
    query, body = sim.signed_event(xml)
    unknown = requests.post(f"{base}/callbacks/wechat", params=query, data=body, timeout=5)
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error"] == "unknown_publish_id"
    assert stack.states(sub) == {"wechat": "published"}


def stack_bin():  # type: ignore[no-untyped-def]
    import sys
    from pathlib import Path

    return Path(sys.executable).parent


def wait_http(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def attempts_of(stack: Stack, pub_id: int) -> list:  # type: ignore[type-arg]
    from orchestrator.models import Attempt

    with stack.app.db.session() as session:
        return list(session.scalars(select(Attempt).where(Attempt.publication_id == pub_id)))


def test_a_draft_a_platform_would_refuse_is_refused_at_submission(stack: Stack) -> None:
    """Refused before review, not at send: each objecting channel named with its limit and
    the fix; nothing written. Before sign-off every item lacks its approvals: the upward
    platforms' check does not say so."""
    from gate.model import ChannelRequest
    from orchestrator.errors import InvalidInput
    from orchestrator.models import Submission
    from orchestrator.services import submissions
    from tests.pipeline.conftest import COVER

    long_title = "青浦区政务服务办公室关于进一步优化营商环境推进一网通办改革的通知全文"
    draft = submissions.Draft(
        title=long_title,
        body_html="<p>正文</p>",
        cover=submissions.ImageFile("c.jpg", COVER),
        channels=[
            ChannelRequest("wechat", shanghai_tomorrow()),
            ChannelRequest("gov_website", shanghai_tomorrow()),
            ChannelRequest("xuexi", shanghai_tomorrow()),
        ],
        autofix=True,  # a title is not the software's to shorten
    )
    with stack.app.db.session() as session:
        before = session.query(Submission).count()
    with pytest.raises(InvalidInput) as refused, stack.app.db.session() as session:
        submissions.create(
            session, stack.app.blobs, author="author", department="sjgl", draft=draft
        )
    with stack.app.db.session() as session:
        assert session.query(Submission).count() == before
    assert refused.value.code == "channel_problems"
    details = refused.value.details
    assert details == [
        "微信公众号：标题 34 字，超过上限 32 字（请缩短标题）",
        "学习强国：标题 34 字，超过上限 30 字（请缩短标题）",
    ], details


def test_a_retry_with_the_broker_away_stays_queued_for_the_sweep(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """The retry commits first and hands the row on after; a broker that cannot take it costs
    only time (the stale sweep sends queued rows), never the person's action."""
    stack.sims.simulator("gov_website").faults.update({"rates": {"content_rejected": 1.0}})
    sub = stack.signed_off(("gov_website",))
    (pub,) = stack.publications(sub)
    handed: list[list[tuple[int, str]]] = []

    def broker_away(rows: list[tuple[int, str]]) -> None:
        handed.append(rows)
        raise ConnectionError("Error 111 connecting to redis")

    p = Publisher(stack.app, ChannelHub(stack.env), MemoryRateGate(), enqueue=broker_away)
    with stack.app.db.session() as session:
        claim_due(session, now=datetime.now(UTC))
    assert p.send(pub.id) == "failed"
    p.retry(pub.id, actor="web")
    assert handed == [[(pub.id, "gov_website")]]
    assert stack.states(sub) == {"gov_website": "queued"}
    assert "消息队列暂不可用" in caplog.text
