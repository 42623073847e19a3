"""Upward first, then one repost (the seed, §三(二)): an item reported upward and also meant for
the office's own platforms waits for the adoption; the first adoption drafts the one repost, a
second adoption is recorded, and each own platform gets the article exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gate import evaluate, next_stage
from gate.model import ChannelRequest, RepostSource, ReviewStage
from orchestrator import audit
from orchestrator.errors import Conflict, Forbidden
from orchestrator.models import Alert, AuditEvent, Publication, Submission
from orchestrator.reports import form
from orchestrator.services import alerts, reposts, review, submissions
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.publishing import Publisher
from tests.clock import shanghai_today
from tests.pipeline.conftest import Stack

SIGN_OFF = ReviewStage.SIGN_OFF
BOTH_WAYS = ("xuexi", "lvse_qingpu", "gov_website", "wechat")


def by_channel(stack: Stack, sub: int) -> dict[str, Publication]:
    return {p.channel: p for p in stack.publications(sub)}


def publisher(stack: Stack) -> Publisher:
    return Publisher(stack.app, ChannelHub(stack.env), MemoryRateGate())


def reposts_of(stack: Stack, sub: int) -> list[Submission]:
    with stack.app.db.session() as session:
        return list(session.scalars(select(Submission).where(Submission.repost_origin_id == sub)))


def test_both_ways_goes_upward_first_and_each_own_platform_gets_one_repost(
    stack: Stack,
) -> None:
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(BOTH_WAYS)
    rows = by_channel(stack, sub)
    assert {c: rows[c].state for c in ("gov_website", "wechat")} == {
        "gov_website": "held",
        "wechat": "held",
    }
    assert rows["gov_website"].hold_until is not None

    stack.wait_for(
        lambda: (
            {by_channel(stack, sub)[c].state for c in ("xuexi", "lvse_qingpu")} == {"published"}
        ),
        timeout=40,
        what="adopted by both",
    )
    (repost,) = reposts_of(stack, sub)
    rows = by_channel(stack, sub)
    assert rows["gov_website"].state == rows["wechat"].state == "cancelled"
    assert f"改由转载稿（稿件 {repost.id}）发布" in rows["gov_website"].note
    with stack.app.db.session() as session:
        version = session.get(Submission, repost.id).current
        first = version.repost_platform  # whichever platform adopted first
        assert first in ("学习强国", "绿色青浦")
        assert {c.channel for c in version.channels} == {"gov_website", "wechat"}
        recorded = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "repost.adoption_recorded")
        ).all()
    (other,) = {"学习强国", "绿色青浦"} - {first}
    assert [e.payload["platform"] for e in recorded] == [other]
    assert stack.ledger("gov_website") == {} and stack.ledger("wechat") == {}

    # The repost is the original's approved content with the source: 签发 alone, no 三审 again.
    with stack.app.db.session() as session:
        record = review.review_record(session.get(Submission, repost.id), store=stack.app.blobs)
        assert next_stage(record, stack.app.policy, now=datetime.now(UTC)) is ReviewStage.SIGN_OFF
        assert record.original is not None and record.original.submission_id != record.submission_id
    with pytest.raises(
        Conflict, match="本稿无需初审（转载本单位已审稿件，沿用原稿的审核；当前等待签发）"
    ):
        stack.review_all(repost.id, stages=(ReviewStage.FIRST,))
    stack.review_all(repost.id, stages=(ReviewStage.SIGN_OFF,))
    with stack.app.db.session() as session:
        stages = [a.stage for a in session.get(Submission, repost.id).actions]
    assert stages == ["sign_off"]
    stack.wait_for(lambda: stack.settled(repost.id), timeout=40, what="repost published")
    out = by_channel(stack, repost.id)
    assert {c: p.state for c, p in out.items()} == {
        "gov_website": "published",
        "wechat": "published",
    }
    assert stack.ledger("gov_website") == {out["gov_website"].idempotency_key: 1}
    assert stack.ledger("wechat") == {out["wechat"].idempotency_key: 1}
    page = requests.get(out["gov_website"].url, timeout=10).text
    assert f"来源：{first}" in page
    with stack.app.db.session() as session:
        report = audit.verify(session)
    assert report.ok and not report.row_problems, report.as_dict()


def test_a_second_repost_of_one_original_is_refused_by_the_database(stack: Stack) -> None:
    sub = stack.signed_off(("xuexi",))
    with stack.app.db.session() as session:
        first = submissions.create(
            session,
            stack.app.blobs,
            author="author",
            department="sjgl",
            draft=submissions.Draft(
                title="转载一",
                body_html="<p>正文</p>",
                channels=[ChannelRequest("gov_website", shanghai_today())],
            ),
        )
        first.repost_origin_id = sub
    with pytest.raises(IntegrityError), stack.app.db.session() as session:
        second = submissions.create(
            session,
            stack.app.blobs,
            author="author",
            department="sjgl",
            draft=submissions.Draft(
                title="转载二",
                body_html="<p>正文</p>",
                channels=[ChannelRequest("gov_website", shanghai_today())],
            ),
        )
        second.repost_origin_id = sub
        session.flush()


def test_held_rows_are_released_or_dropped_by_the_general_office(stack: Stack) -> None:
    sub = stack.signed_off(("xuexi", "gov_website", "suishenban"))
    rows = by_channel(stack, sub)
    p = publisher(stack)
    with pytest.raises(Forbidden):
        p.release(rows["gov_website"].id, actor="web")  # 综合科 decides, not 政府网站运行科
    with pytest.raises(Conflict) as not_held:
        p.release(rows["xuexi"].id, actor="zhk")
    assert not_held.value.code == "not_held"
    when = p.release(rows["gov_website"].id, actor="zhk")
    assert when <= datetime.now(UTC) + timedelta(seconds=1)
    p.drop(rows["suishenban"].id, reason="上级未采用，内容已过时效", actor="zhk")
    rows = by_channel(stack, sub)
    assert rows["gov_website"].state == "scheduled" and rows["gov_website"].hold_until is None
    assert rows["suishenban"].state == "cancelled"
    assert rows["suishenban"].note == "上级未采用，内容已过时效"
    with stack.app.db.session() as session:
        report = audit.verify(session)
    assert report.ok and not report.row_problems, report.as_dict()


def test_a_hold_past_its_wait_raises_an_alert_and_a_late_release_needs_the_date(
    stack: Stack,
) -> None:
    sub = stack.signed_off(("xuexi", "gov_website"))
    held = by_channel(stack, sub)["gov_website"]
    later = held.hold_until + timedelta(minutes=1)
    with stack.app.db.session() as session:
        alerts.scan(session, now=later, overdue_after=900)
        found = session.scalars(select(Alert).where(Alert.kind == "held")).all()
    assert len(found) == 1 and "请综合科决定放行" in found[0].message
    assert found[0].publication_id == held.id

    p = publisher(stack)
    p.clock = lambda: later  # the signed day has passed: 改期 first
    with pytest.raises(Conflict) as refused:
        p.release(held.id, actor="zhk")
    assert refused.value.code == "needs_date_amendment"
    assert by_channel(stack, sub)["gov_website"].state == "held"


def test_an_upward_only_item_still_drafts_a_repost_to_every_own_platform(stack: Stack) -> None:
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("xuexi", "lvse_qingpu"))
    stack.wait_for(lambda: stack.settled(sub), timeout=40, what="adopted")
    (repost,) = reposts_of(stack, sub)
    with stack.app.db.session() as session:
        channels = {c.channel for c in session.get(Submission, repost.id).current.channels}
        count = session.scalar(
            select(func.count(Submission.id)).where(Submission.repost_of_id.is_not(None))
        )
    assert channels == {"gov_website", "suishenban", "wechat"} and count == 1


def adopted_repost(stack: Stack) -> int:
    """An upward-only item whose 学习强国 row is marked adopted by hand, and its repost."""
    sub = stack.signed_off(("xuexi",))
    with stack.app.db.session() as session:
        upward = session.scalars(select(Publication).where(Publication.submission_id == sub)).one()
        upward.state = "published"
        upward.url = "https://www.xuexi.cn/a/42.html"
        upward.published_at = datetime.now(UTC)
        return reposts.draft_repost(session, stack.app, upward, actor="system").id


def test_a_repost_edited_beyond_the_source_needs_every_stage_again(stack: Stack) -> None:
    repost = adopted_repost(stack)
    now = datetime.now(UTC)
    with stack.app.db.session() as session:
        sub = session.get(Submission, repost)
        assert next_stage(review.review_record(sub), stack.app.policy, now=now) == SIGN_OFF
        version = sub.current
        draft = submissions.draft_of(
            stack.app.blobs,
            version,
            [ChannelRequest(c.channel, c.publish_date, c.remark) for c in version.channels],
            RepostSource(version.repost_platform, version.repost_url, version.repost_published_at),
        )
        draft.title += "（改）"
        draft.body_html = "<p>改写后的正文</p>"
        submissions.revise(session, stack.app.blobs, repost, editor="author", draft=draft)
    with stack.app.db.session() as session:
        record = review.review_record(session.get(Submission, repost), store=stack.app.blobs)
        assert next_stage(record, stack.app.policy, now=now) is ReviewStage.FIRST
        verdict = evaluate(record, stack.app.policy, now=now)
    (why,) = [v.message for v in verdict.violations if v.code == "repost_original_unusable"]
    assert "标题" in why and "正文" in why and "须经完整审核" in why


def test_the_reposts_form_carries_the_originals_signatures(stack: Stack) -> None:
    repost = adopted_repost(stack)
    with stack.app.db.session() as session:
        original = session.get(Submission, repost).repost_origin_id
    stack.review_all(repost, stages=(SIGN_OFF,))
    with stack.app.db.session() as session:
        item = form.build(session, stack.app, [repost]).items[0]
    assert item.carried_from == original
    assert item.signatures[ReviewStage.FIRST].username == "author"
    assert item.signatures[ReviewStage.FINAL].username == "leader"
    assert item.signatures[SIGN_OFF].username == "publicity"
    assert (
        "审核依据",
        f"转载本单位稿件 {original}：内容与原稿一致、仅加注来源，沿用原稿的审核，"
        "经宣传分管领导签发",
    ) in form.content_facts(item)


def test_the_general_office_picks_which_adoption_the_repost_cites(stack: Stack) -> None:
    sub = stack.signed_off(("xuexi", "lvse_qingpu"))
    now = datetime.now(UTC)
    with stack.app.db.session() as session:
        rows = {
            p.channel: p
            for p in session.scalars(select(Publication).where(Publication.submission_id == sub))
        }
        for channel, row in rows.items():
            row.state, row.url, row.published_at = "published", f"https://{channel}.cn/a/1", now
        repost = reposts.draft_repost(session, stack.app, rows["xuexi"], actor="system").id
        green = rows["lvse_qingpu"].id
    stack.review_all(repost, stages=(SIGN_OFF,))
    signed_rows = {p.id for p in stack.publications(repost)}

    with stack.app.db.session() as session:
        reposts.cite(session, stack.app, session.get(Publication, green), actor="zhk")
    with stack.app.db.session() as session:
        cited = session.get(Submission, repost)
        assert cited.repost_of_id == green and len(cited.versions) == 2
        assert cited.current.repost_platform == "绿色青浦"
        assert cited.current.repost_url == "https://lvse_qingpu.cn/a/1"
        # still the original's content with a source: 签发 alone, again (the old one was for v1)
        record = review.review_record(cited, store=stack.app.blobs)
        assert next_stage(record, stack.app.policy, now=datetime.now(UTC)) is SIGN_OFF
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "repost.cite")).one()
        assert event.payload["previous_upward_publication"] == rows["xuexi"].id
    old = {p.id: p.state for p in stack.publications(repost) if p.id in signed_rows}
    assert set(old.values()) == {"cancelled"}  # the first version's rows are superseded

    with pytest.raises(Conflict) as again, stack.app.db.session() as session:
        reposts.cite(session, stack.app, session.get(Publication, green), actor="zhk")
    assert again.value.code == "already_cited"
    stack.review_all(repost, stages=(SIGN_OFF,))
    with stack.app.db.session() as session:
        live = session.scalars(
            select(Publication).where(
                Publication.submission_id == repost, Publication.state == "scheduled"
            )
        ).first()
        live.state = "sending"  # the repost has begun to go out
    with pytest.raises(Conflict) as started, stack.app.db.session() as session:
        reposts.cite(session, stack.app, session.get(Publication, rows["xuexi"].id), actor="zhk")
    assert started.value.code == "repost_started"
