"""Told when it is your turn: the outbox over a real database and the 企业微信 simulator over
loopback HTTP, driven by a test clock (`now=`), never by sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.simulators.wecom_app import WeComAppServer, WeComAppSimulator
from gate.model import Decision, ReviewStage
from orchestrator import workdays
from orchestrator.app import App
from orchestrator.migrate import upgrade
from orchestrator.models import Notification, Publication, Submission
from orchestrator.services import deadlines, notifications, org
from orchestrator.settings import Settings
from orchestrator.states import State
from tests.orchestrator.conftest import ORG_YAML
from tests.orchestrator.test_review_flow import act, create

S = ReviewStage
USERIDS = {
    "author": "WangGongGao",
    "head": "LiKeZhang",
    "leader": "ZhaoFenGuan",
    "chief": "ChenZhuYao",
    "publicity": "SunXuanChuan",
    "zhk": "ZhouZongHe",
}


@pytest.fixture
def wecom() -> Iterator[WeComAppServer]:
    with WeComAppServer(WeComAppSimulator()) as server:
        yield server


@pytest.fixture
def app(tmp_path: Path, wecom: WeComAppServer) -> Iterator[App]:
    s = wecom.client_settings()
    settings = Settings(
        data_dir=tmp_path / "data",
        kdf_profile="min",
        public_url="https://sanshen.example.gov.cn",
        wecom_corp_id=s["corp_id"],
        wecom_secret=s["secret"],
        wecom_agent_id=s["agent_id"],
        wecom_base_url=s["base_url"],
    )
    application = App(settings)
    upgrade(application.db)
    with application.db.session() as session:
        org.initialise(session, org.parse_organisation(ORG_YAML), kdf_profile="min")
        for person in org.all_people(session):
            for assignment in person.assignments:
                assignment.valid_from = datetime(2020, 1, 1, tzinfo=UTC)
            if person.username in USERIDS:
                org.set_notify(
                    session, person.username, actor="admin", wecom_userid=USERIDS[person.username]
                )
    yield application
    application.db.dispose()


def received(wecom: WeComAppServer, username: str) -> list[dict[str, object]]:
    return wecom.simulator.messages(USERIDS[username])


def titles(wecom: WeComAppServer, username: str) -> list[str]:
    return [m["textcard"]["title"] for m in received(wecom, username)]  # type: ignore[index]


def rows(app: App) -> list[Notification]:
    with app.db.session() as session:
        found = list(session.scalars(select(Notification).order_by(Notification.id)))
        session.expunge_all()
        return found


def test_each_stage_tells_the_people_who_may_act_once_with_a_link(
    app: App, wecom: WeComAppServer
) -> None:
    sub = create(app)
    notifications.run_once(app)
    # The author handed it in and does 初审 themselves: nobody else may, nobody is told.
    assert all(not received(wecom, who) for who in USERIDS), wecom.simulator.calls
    act(app, sub, S.FIRST, "author")
    notifications.run_once(app)
    notifications.run_once(app)  # a second round finds the same event: nothing new
    assert titles(wecom, "head") == [f"待您复审：稿件 {sub}《一网通办新功能上线》"]
    card = received(wecom, "head")[0]["textcard"]
    assert card["url"] == f"https://sanshen.example.gov.cn/submissions/{sub}/review"  # type: ignore[index]
    assert "数据管理发展科" in card["description"]  # type: ignore[index]
    # Nobody else may do 复审 on 数据管理发展科's item.
    assert [w for w in USERIDS if received(wecom, w)] == ["head"]
    act(app, sub, S.SECOND, "head")
    notifications.run_once(app)
    assert titles(wecom, "leader") == [f"待您终审：稿件 {sub}《一网通办新功能上线》"]
    assert len(received(wecom, "head")) == 1
    assert {r.state for r in rows(app)} == {"sent"}


def test_a_failed_send_is_tried_again_and_arrives_once(app: App, wecom: WeComAppServer) -> None:
    sub = create(app)
    act(app, sub, S.FIRST, "author")
    now = datetime.now(UTC)
    wecom.simulator.fail(times=1, errcode=-1)  # 系统繁忙
    counts = notifications.run_once(app, now=now)
    assert counts["pending"] == 1 and not received(wecom, "head")
    (row,) = rows(app)
    assert row.state == "pending" and "busy" not in (row.last_error or "x")
    notifications.run_once(app, now=now + timedelta(seconds=5))  # not due again yet
    assert not received(wecom, "head")
    notifications.run_once(app, now=now + timedelta(seconds=31))
    notifications.run_once(app, now=now + timedelta(seconds=90))
    assert len(received(wecom, "head")) == 1
    (row,) = rows(app)
    assert (row.state, row.attempts, row.via) == ("sent", 2, "wecom")


def test_a_return_tells_the_author_with_the_revise_link(app: App, wecom: WeComAppServer) -> None:
    sub = create(app)
    act(app, sub, S.FIRST, "author")
    act(app, sub, S.SECOND, "head", decision=Decision.RETURN, comment="请补充办理时间")
    notifications.run_once(app)
    (message,) = received(wecom, "author")
    card = message["textcard"]
    assert card["title"] == f"复审退回：稿件 {sub}《一网通办新功能上线》"  # type: ignore[index]
    assert "请补充办理时间" in card["description"]  # type: ignore[index]
    assert card["url"].endswith(f"/submissions/{sub}/revise")  # type: ignore[index]


def test_an_urgent_stage_reminds_after_its_limit_and_escalates_after_twice(
    app: App, wecom: WeComAppServer
) -> None:
    sub = create(app)
    with app.db.session() as session:
        session.get(Submission, sub).urgent = True  # type: ignore[union-attr]
    act(app, sub, S.FIRST, "author")
    reached = datetime.now(UTC)
    notifications.run_once(app, now=reached)
    notifications.run_once(app, now=reached + timedelta(hours=1, minutes=59))
    assert len(received(wecom, "head")) == 1 and not received(wecom, "leader")
    notifications.run_once(app, now=reached + timedelta(hours=2, minutes=1))
    assert titles(wecom, "head")[1] == f"请尽快复审（已超时限）：稿件 {sub}《一网通办新功能上线》"
    assert not received(wecom, "leader")
    notifications.run_once(app, now=reached + timedelta(hours=4, minutes=1))
    notifications.run_once(app, now=reached + timedelta(hours=5))
    # The next level: who may do 终审 on 数据管理发展科's items (its 分管领导), told once.
    (escalated,) = titles(wecom, "leader")
    assert escalated == f"复审超时未办（已等 4 小时）：稿件 {sub}《一网通办新功能上线》"
    assert len(received(wecom, "head")) == 2
    assert not received(wecom, "chief")


def test_a_working_day_limit_skips_the_holidays() -> None:
    """National Day 2026: 10-01 to 10-07 off, 10-10 (a Saturday) worked instead."""
    since = datetime(2026, 9, 30, 9, 0, tzinfo=workdays.SHANGHAI)
    assert workdays.working_days_after(since, 1).date().isoformat() == "2026-10-08"
    assert workdays.working_days_after(since, 2).date().isoformat() == "2026-10-09"
    assert workdays.working_days_after(since, 3).date().isoformat() == "2026-10-10"


def test_one_of_mine_failing_on_a_channel_tells_me(app: App, wecom: WeComAppServer) -> None:
    sub = create(app)
    for stage, who in [
        (S.FIRST, "author"),
        (S.SECOND, "head"),
        (S.FINAL, "leader"),
        (S.USAGE, "zhk"),
        (S.SIGN_OFF, "publicity"),
    ]:
        act(app, sub, stage, who)
    with app.db.session() as session:
        (pub,) = session.scalars(select(Publication).where(Publication.submission_id == sub))
        pub.state, pub.revision = State.FAILED.value, pub.revision + 1
        pub.state_changed_at, pub.last_error = datetime.now(UTC), "平台拒绝：标题含敏感词"
    notifications.run_once(app)
    notifications.run_once(app)
    failed = [t for t in titles(wecom, "author") if "发布失败" in t]
    assert failed == [f"政府网站发布失败：稿件 {sub}《一网通办新功能上线》"]


def next_evening(after: datetime) -> datetime:
    """The first 18:00 in Shanghai after `after`, in UTC."""
    local = after.astimezone(workdays.SHANGHAI)
    evening = datetime.combine(local.date(), time(18, 0), workdays.SHANGHAI)
    return (evening if evening > local else evening + timedelta(days=1)).astimezone(UTC)


def test_a_digest_person_gets_one_message_at_the_digest_time(
    app: App, wecom: WeComAppServer
) -> None:
    app.settings.stage_working_days = 30  # no reminder joins the digest, whatever today is
    with app.db.session() as session:
        org.set_notify(session, "head", actor="head", digest=True)
    first, second = create(app), create(app, title="第二篇稿件")
    act(app, first, S.FIRST, "author")
    act(app, second, S.FIRST, "author")
    evening = next_evening(datetime.now(UTC))  # the items reached 复审 before it
    notifications.run_once(app, now=evening)
    assert not received(wecom, "head")
    assert {r.state for r in rows(app)} == {"digest"}
    next_morning = notifications.digest_moment(app.settings, evening + timedelta(days=1))
    notifications.run_once(app, now=next_morning - timedelta(minutes=1))
    assert not received(wecom, "head")
    notifications.run_once(app, now=next_morning)
    notifications.run_once(app, now=next_morning + timedelta(minutes=5))
    (digest,) = received(wecom, "head")
    card = digest["textcard"]
    assert card["title"] == "三审发布每日汇总：2 条待您处理"  # type: ignore[index]
    assert "第二篇稿件" in card["description"] and "一网通办新功能上线" in card["description"]  # type: ignore[index]


def test_someone_without_an_address_is_recorded_not_retried(
    app: App, wecom: WeComAppServer
) -> None:
    with app.db.session() as session:
        org.set_notify(session, "head", actor="admin", wecom_userid="")
    sub = create(app)
    act(app, sub, S.FIRST, "author")
    notifications.run_once(app)
    (row,) = rows(app)
    assert row.state == "failed" and "未登记企业微信账号" in (row.last_error or "")


def test_the_to_do_wait_counts_from_the_stage_before(app: App) -> None:
    sub = create(app)
    act(app, sub, S.FIRST, "author")
    from gate.rules import ReviewContext
    from orchestrator.services import review

    now = datetime.now(UTC)
    with app.db.session() as session:
        submission = session.get(Submission, sub)
        assert submission is not None
        context = ReviewContext(review.review_record(submission), app.policy, now)
        wait = deadlines.wait_of(submission, context, app.settings)
        assert wait is not None and wait.stage is S.SECOND
        first = max(a.acted_at for a in submission.actions)
        assert wait.since == first
        assert wait.due > wait.since and wait.escalate_at > wait.due


def test_bad_addresses_are_refused_and_change_nothing(app: App) -> None:
    from orchestrator.errors import InvalidInput

    with app.db.session() as session, pytest.raises(InvalidInput) as refused:
        org.set_notify(session, "head", actor="head", email="not-an-address", via=["fax"])
    assert refused.value.code == "invalid_notify"
    assert refused.value.details == [
        "邮箱“not-an-address”格式不对",
        "未知的通知方式：fax（可选：wecom 企业微信、email 邮件）",
    ]


def test_two_schedulers_delivering_at_once_send_each_row_once(
    app: App, wecom: WeComAppServer
) -> None:
    """The claim (a compare-and-set on the row's lease) lets one deliverer send a row; the
    platform's own duplicate check is not what keeps it single (the calls are counted)."""
    import threading

    subs = [create(app, title=f"稿件{i}") for i in range(4)]
    for sub in subs:
        act(app, sub, S.FIRST, "author")
    now = datetime.now(UTC)
    with app.db.session() as session:
        notifications.scan(session, app, now=now)
    routes = notifications.routes_from(app.settings)
    start = threading.Barrier(2)

    def deliver() -> None:
        start.wait()
        notifications.deliver_due(app, now=now, routes=routes)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wecom.simulator.calls["send"] == 4
    assert len(received(wecom, "head")) == 4


def test_a_person_who_chose_mail_gets_an_email_with_the_link(
    app: App, wecom: WeComAppServer, mailbox: Any
) -> None:
    handler, mail = mailbox
    settings = app.settings.model_copy(
        update={"smtp_host": mail.host, "smtp_port": mail.port, "smtp_tls": "none"}
    )
    with app.db.session() as session:
        org.set_notify(session, "head", actor="head", email="li@qingpu.gov.test", via=["email"])
    sub = create(app)
    act(app, sub, S.FIRST, "author")
    mailing = App(settings)
    try:
        notifications.run_once(mailing)
    finally:
        mailing.db.dispose()
    assert not received(wecom, "head")  # 企业微信 not chosen
    ((to, message),) = handler.mails
    assert to == ["li@qingpu.gov.test"]
    assert message["Subject"] == f"待您复审：稿件 {sub}《一网通办新功能上线》"
    body = message.get_body(("plain",)).get_content()
    assert f"https://sanshen.example.gov.cn/submissions/{sub}/review" in body
    (row,) = rows(app)
    assert (row.state, row.via) == ("sent", "email")
