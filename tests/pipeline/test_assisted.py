"""Assisted channels and 发布核验 on the real stack: the website in assisted mode waits for a
person (待人工发布), who publishes through the simulator's CMS and records the URL (signed);
the page is verified at once and by the watch, an edit of the live page raises an alert with
its diff, and a retract becomes a take-down finished when the page is verified gone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from gate.model import ChannelRequest
from orchestrator import audit
from orchestrator.errors import Forbidden, InvalidInput, WrongPassword
from orchestrator.models import Alert, ArchiveEntry, ManualAction, Publication, Verification
from orchestrator.services import alerts, manual
from orchestrator.services.hub import ChannelHub, ChannelNotConfigured, MemoryRateGate
from orchestrator.services.publishing import Publisher
from orchestrator.states import State
from tests.orchestrator.conftest import PASSWORDS
from tests.pipeline.conftest import Stack

ASSISTED = {
    "SANSHEN_CHANNEL_GOV_WEBSITE_MODE": "assisted",
    "SANSHEN_VERIFY_INTERVAL": "0.5",
    "SANSHEN_VERIFY_FIRST_DAY_EVERY": "1",
    "SANSHEN_TAKEDOWN_CHECK_INTERVAL": "1",
}


@pytest.fixture
def assisted(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    stack.env |= ASSISTED
    for key, value in ASSISTED.items():
        monkeypatch.setenv(key, value)
    from orchestrator.settings import Settings, get_settings

    get_settings.cache_clear()
    stack.app.settings = Settings()  # this process records too: the same watch pace
    return stack


def hub(stack: Stack) -> ChannelHub:
    return ChannelHub(stack.env)


def cms_publish(stack: Stack, title: str, body: str) -> tuple[str, str]:
    """What the clerk does in the browser: paste the package's text into the platform's CMS
    form and publish; the CMS answers with the article's URL and id."""
    base = stack.sims.base_url("gov_website")
    answer = requests.post(
        f"{base}/cms/",
        data={"column": "qpzwfw", "title": title, "body": body, "source": "青浦区政务服务中心"},
        timeout=5,
    )
    answer.raise_for_status()
    url = re.search(r'id="published-url"[^>]*>([^<]+)<', answer.text)
    article = re.search(r'id="published-id"[^>]*>([^<]+)<', answer.text)
    assert url and article, answer.text[:2000]
    return url.group(1).strip(), article.group(1).strip()


def verifications_of(stack: Stack, pub_id: int) -> list[Verification]:
    with stack.app.db.read() as session:
        return list(
            session.scalars(select(Verification).where(Verification.publication_id == pub_id))
        )


def manual_row(stack: Stack, sub: int) -> Publication:
    (pub,) = stack.publications(sub)
    return pub


def test_published_by_hand_is_verified_watched_alerted_on_change_and_taken_down(
    assisted: Stack,
) -> None:
    stack = assisted
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website",))
    stack.wait_for(lambda: stack.states(sub) == {"gov_website": "manual"}, what="待人工发布")
    assert stack.ledger("gov_website") == {}  # nothing went out through the API
    pub = manual_row(stack, sub)
    assert pub.mode == "assisted"

    with stack.app.db.read() as session:
        version = session.get(Publication, pub.id).version  # type: ignore[union-attr]
        title, body = version.title, version.body_html
    # the clerk leaves out the image in the CMS (the signed version has one): a mismatch
    url, article_id = cms_publish(stack, title, re.sub(r"<img[^>]*>", "", body))
    done = manual.record_published(
        stack.app,
        hub(stack),
        pub.id,
        url=url,
        external_id=article_id,
        actor="web",
        password=PASSWORDS["web"],
    )
    assert done.checked is not None
    assert done.checked.verdict.value == "mismatch", done.checked.reason
    assert done.checked.code == "image_count_changed", (done.checked.reason, done.checked.diff_html)
    # the chain vouches for the signed manual action as well as for the row it moved
    with stack.app.db.read() as session:
        report = audit.verify(session)
    assert report.ok, report


def test_the_done_when_walk(assisted: Stack) -> None:
    """Published by hand with every image, recorded, 一致; the live page edited: an alert with the
    diff within a watch round; retracted: a take-down, finished when the page is gone."""
    stack = assisted
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(
        ("gov_website",),
        body_html="<p>自下月起周六上午提供延时服务，办理时间为9:00至12:00。</p>",
        images=[],
    )
    stack.wait_for(lambda: stack.states(sub) == {"gov_website": "manual"}, what="待人工发布")
    pub = manual_row(stack, sub)
    with stack.app.db.read() as session:
        version = session.get(Publication, pub.id).version  # type: ignore[union-attr]
        title, body = version.title, version.body_html
    url, article_id = cms_publish(stack, title, body)
    done = manual.record_published(
        stack.app,
        hub(stack),
        pub.id,
        url=url,
        external_id=article_id,
        actor="web",
        password=PASSWORDS["web"],
        comment="已在集约化平台发布",
    )
    assert done.checked is not None and done.checked.verdict.value == "consistent", done.checked
    with stack.app.db.read() as session:
        row = session.get(Publication, pub.id)
        assert row is not None
        assert (row.state, row.url, row.external_id, row.verdict) == (
            "published",
            url,
            article_id,
            "consistent",
        )
        action = session.scalar(select(ManualAction).where(ManualAction.publication_id == pub.id))
        assert action is not None and action.actor.username == "web" and len(action.signature) == 64
        snapshot = session.scalar(
            select(ArchiveEntry).where(
                ArchiveEntry.kind == "live_snapshot", ArchiveEntry.submission_id == sub
            )
        )
        assert snapshot is not None  # the first 一致 snapshot kept with the 审批表

    # someone edits the live page on the platform: the watch finds it within a round
    stack.sims.simulator("gov_website").alter_page(url, replace=["9:00至12:00", "9:00至11:00"])

    def alerted() -> bool:
        with stack.app.db.read() as session:
            return bool(
                session.scalar(
                    select(func.count())
                    .select_from(Alert)
                    .where(Alert.publication_id == pub.id, Alert.kind == "live_mismatch")
                )
            )

    stack.wait_for(alerted, timeout=30, what="不一致告警")
    # the page counts its views, so its bytes change on every check: still one alert
    seen = len(verifications_of(stack, pub.id))
    stack.wait_for(lambda: len(verifications_of(stack, pub.id)) >= seen + 3, what="more rounds")
    with stack.app.db.read() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(Alert.publication_id == pub.id, Alert.kind == "live_mismatch")
        )
    assert count == 1
    with stack.app.db.read() as session:
        last = session.scalars(
            select(Verification)
            .where(Verification.publication_id == pub.id)
            .order_by(Verification.id.desc())
        ).first()
        assert last is not None and last.verdict == "mismatch" and last.trigger == "watch"
        segments = [tuple(s) for s in last.diff["segments"]]
        assert ("delete", "2") in segments and ("insert", "1") in segments, segments
        assert last.snapshot_sha256 and stack.app.blobs.get(last.snapshot_sha256)
        alert = session.scalar(select(Alert).where(Alert.kind == "live_mismatch"))
        assert alert is not None and title in alert.message

    # the accountability report for the URL: who published it by hand (signed), every check
    from orchestrator.reports import accountability

    with stack.app.db.read() as session:
        found = accountability.report(session, stack.app, "政府网站", url=url)
    assert found["publisher"]["username"] == "web"
    assert [(a["kind"], a["signature_valid"]) for a in found["by_hand"]] == [("published", True)]
    verdicts = [v["verdict"] for v in found["verifications"]]
    assert verdicts[0] == "consistent" and verdicts[-1] == "mismatch"
    assert found["verifications"][-1]["diff"] and found["verifications"][-1]["page_sha256"]
    lines = "\n".join(found["summary"])
    assert "人工发布登记" in lines and "发布核验" in lines and "不一致" in lines

    # 撤稿 on an assisted channel: a to-do to take the page down, done when it is gone
    p = Publisher(stack.app, hub(stack), MemoryRateGate())
    assert p.retract(pub.id, reason="信息有误", actor="web") == State.TAKEDOWN.value
    still = manual.confirm_taken_down(stack.app, hub(stack), pub.id, actor="web")
    assert still.state == "takedown" and still.verdict.value != "removed"
    with stack.app.db.session() as session:  # nobody took it down for an hour: an alert
        alerts.scan(session, now=datetime.now(UTC) + timedelta(hours=1), overdue_after=900)
    with stack.app.db.read() as session:
        kinds = set(session.scalars(select(Alert.kind).where(Alert.publication_id == pub.id)))
    assert "takedown" in kinds
    base = stack.sims.base_url("gov_website")
    requests.post(f"{base}/cms/articles/{article_id}/delete", timeout=5).raise_for_status()
    gone = manual.confirm_taken_down(stack.app, hub(stack), pub.id, actor="web")
    assert (gone.state, gone.verdict.value) == ("retracted", "removed")
    with stack.app.db.read() as session:
        row = session.get(Publication, pub.id)
        assert row is not None and row.next_verify_at is None  # no longer watched


def test_refused_records_write_nothing(assisted: Stack) -> None:
    stack = assisted
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website",))
    stack.wait_for(lambda: stack.states(sub) == {"gov_website": "manual"}, what="待人工发布")
    pub = manual_row(stack, sub)
    good = f"{stack.sims.base_url('gov_website')}/articles/x.html"

    def record(**kw: str) -> None:
        args = {"url": good, "actor": "web", "password": PASSWORDS["web"]} | kw
        manual.record_published(stack.app, hub(stack), pub.id, **args)  # type: ignore[arg-type]

    with pytest.raises(InvalidInput) as host:
        record(url="https://evil.example/a.html")
    assert host.value.code == "host_not_allowed"
    with pytest.raises(InvalidInput) as scheme:
        record(url="file:///etc/passwd")
    assert scheme.value.code == "bad_url"
    with pytest.raises(WrongPassword):
        record(password="not-it")
    with pytest.raises(Forbidden):
        record(actor="author", password=PASSWORDS["author"])
    with pytest.raises(Forbidden):  # 综合科 publishes upward, not on the website
        record(actor="zhk", password=PASSWORDS["zhk"])
    with stack.app.db.read() as session:
        assert session.scalar(select(func.count()).select_from(ManualAction)) == 0
        assert session.scalar(select(func.count()).select_from(Verification)) == 0
    assert stack.states(sub) == {"gov_website": "manual"}

    # 待人工发布 past its time raises the overdue alert
    later = datetime.now(UTC) + timedelta(hours=1)
    with stack.app.db.session() as session:
        alerts.scan(session, now=later, overdue_after=900)
    with stack.app.db.read() as session:
        kinds = set(session.scalars(select(Alert.kind).where(Alert.publication_id == pub.id)))
    assert "overdue" in kinds

    # it can still be called off
    Publisher(stack.app, hub(stack), MemoryRateGate()).cancel(pub.id, reason="不发了", actor="web")
    assert stack.states(sub) == {"gov_website": "cancelled"}


def test_wechat_cannot_be_assisted_and_a_bad_mode_is_named(stack: Stack) -> None:
    env = dict(stack.env)
    with pytest.raises(ChannelNotConfigured, match="微信公众号只能通过接口发布"):
        ChannelHub(env | {"SANSHEN_CHANNEL_WECHAT_MODE": "assisted"}).mode("wechat")
    with pytest.raises(ChannelNotConfigured, match="SANSHEN_CHANNEL_GOV_WEBSITE_MODE"):
        ChannelHub(env | {"SANSHEN_CHANNEL_GOV_WEBSITE_MODE": "manual"}).mode("gov_website")


def test_the_watch_checks_api_channels_survives_bad_pages_and_stops_once_retracted_is_gone(
    stack: Stack,
) -> None:
    """Pages published through the APIs (WeChat's article URL included) are verified by the
    watch; a page grown huge or redirecting forever gets its verdict without stopping the
    round; a retracted page is checked until it is gone, then no longer watched."""
    from orchestrator.services import verification

    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website", "suishenban", "wechat"))
    stack.wait_for(lambda: stack.settled(sub), timeout=60, what="published")
    assert set(stack.states(sub).values()) == {"published"}
    gov, zsb, wx = stack.publications(sub)
    stack.sims.simulator("suishenban").alter_page(zsb.url, huge_mb=50)
    stack.sims.simulator("wechat").alter_page(wx.url, redirect_loop=True)
    with stack.app.db.session() as session:  # due now, whoever looked before
        session.query(Publication).filter(Publication.submission_id == sub).update(
            {"next_verify_at": datetime.now(UTC) - timedelta(seconds=1)}
        )
    verification.watch_round(stack.app, hub(stack))
    by_channel = {p.channel: p for p in stack.publications(sub)}
    assert by_channel["gov_website"].verdict == "consistent"
    with stack.app.db.read() as session:
        codes = {
            v.publication_id: v.code
            for v in session.scalars(select(Verification).order_by(Verification.id))
        }
    assert codes[zsb.id] == "too_large" and codes[wx.id] in ("redirect_loop", "too_many_redirects")
    assert by_channel["suishenban"].verdict == by_channel["wechat"].verdict == "unreachable"

    stack.sims.simulator("wechat").restore_page(wx.url)
    with stack.app.db.session() as session:
        session.query(Publication).filter(Publication.id == wx.id).update(
            {"next_verify_at": datetime.now(UTC) - timedelta(seconds=1)}
        )
    verification.watch_round(stack.app, hub(stack))
    assert {p.channel: p.verdict for p in stack.publications(sub)}["wechat"] == "consistent"

    # 已删除 right after recording is not alerted (a page may take a moment to be served); the
    # same found by the watch is, once
    from orchestrator.verify import Outcome, Verdict

    gone = Outcome(verdict=Verdict.REMOVED, code="gone", reason="页面已删除", url=zsb.url or "")
    for trigger in ("published", "watch", "watch"):
        verification.record(stack.app, zsb.id, gone, trigger=trigger)
    with stack.app.db.read() as session:
        removed = session.scalars(
            select(Alert.kind).where(Alert.publication_id == zsb.id, Alert.kind == "live_removed")
        ).all()
    assert removed == ["live_removed"]

    # retracted through the API: the watch sees the page gone and lets it be
    p = Publisher(stack.app, hub(stack), MemoryRateGate())
    assert p.retract(gov.id, reason="信息有误", actor="web") == State.RETRACTED.value
    verification.watch_round(stack.app, hub(stack))
    row = {q.channel: q for q in stack.publications(sub)}["gov_website"]
    assert (row.state, row.verdict, row.next_verify_at) == ("retracted", "removed", None)
    with stack.app.db.read() as session:
        still = session.scalar(
            select(func.count()).select_from(Alert).where(Alert.kind == "still_live")
        )
    assert still == 0


def test_the_hand_steps_and_verify_on_the_command_line(assisted: Stack) -> None:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    stack = assisted
    sanshen = str(Path(sys.executable).with_name("sanshen"))

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANSHEN_")} | stack.env
        return subprocess.run(
            [sanshen, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
        )

    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(
        ("gov_website",), body_html="<p>周六上午延时服务，共138项。</p>", images=[]
    )
    stack.wait_for(lambda: stack.states(sub) == {"gov_website": "manual"}, what="待人工发布")
    (pub,) = stack.publications(sub)
    url, article_id = cms_publish(
        stack, "区政务服务中心推出周末延时服务", "<p>周六上午延时服务，共138项。</p>"
    )

    done = run(
        "publication", "published-by-hand", str(pub.id), "--url", url, "--id", article_id,
        "--as", "web", "--password-stdin", "--json", stdin=PASSWORDS["web"] + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["verification"]["verdict"] == "consistent"

    again = run("verify", str(pub.id), "--as", "web", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert [r["verdict"] for r in json.loads(again.stdout)] == ["consistent"]

    stack.sims.simulator("gov_website").alter_page(url, replace=["138项", "18项"])
    changed = run("verify", "--submission", str(sub), "--as", "web")
    assert changed.returncode == 3, changed.stdout + changed.stderr
    assert "核验不一致" in changed.stdout or "不一致" in changed.stdout
    assert "- 3" in changed.stdout  # the deleted character, shown as a diff line

    neither = run("verify", "--as", "web")
    assert neither.returncode != 0 and "三者选一" in neither.stderr
    history = run("publication", "verifications", str(pub.id))
    assert history.returncode == 0 and "人工核验" in history.stdout and "不一致" in history.stdout

    # 撤稿 by hand where the platform shows a deleted article as a 200 notice (as WeChat does)
    from orchestrator.services import verification
    from orchestrator.verify import Outcome, Verdict

    Publisher(stack.app, hub(stack), MemoryRateGate()).retract(pub.id, reason="撤回", actor="web")

    def notice(similarity: float) -> Outcome:
        return Outcome(
            verdict=Verdict.MISMATCH,
            code="title_changed",
            reason="页面上找不到签发的标题",
            url=url,
            similarity=similarity,
        )

    # only the title changed: the article is still there
    kept = verification.record(stack.app, pub.id, notice(0.9), trigger="takedown")
    assert kept.state == "takedown"
    gone = verification.record(stack.app, pub.id, notice(0.02), trigger="takedown")
    assert gone.state == "retracted"
    assert stack.publications(sub)[0].next_verify_at is None


def test_a_new_version_calls_off_the_hand_publication_of_the_old_one(assisted: Stack) -> None:
    """A row waiting for a person is what an older version had waiting: a new version
    cancels it, and a record of publishing it by hand is refused (the gate again)."""
    from orchestrator.services import submissions

    stack = assisted
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website",), body_html="<p>周六上午延时服务。</p>", images=[])
    stack.wait_for(lambda: stack.states(sub) == {"gov_website": "manual"}, what="待人工发布")
    (pub,) = stack.publications(sub)
    with stack.app.db.session() as session:
        current = submissions.get(session, sub).current
        draft = submissions.Draft(
            title=current.title,
            body_html="<p>周六上午延时服务，时间调整为8:30开始。</p>",
            channels=[ChannelRequest(c.channel, c.publish_date) for c in current.channels],
        )
        submissions.revise(session, stack.app.blobs, sub, editor="author", draft=draft)
    assert {p.id: p.state for p in stack.publications(sub)}[pub.id] == "cancelled"
    with pytest.raises(Exception) as refused:
        manual.record_published(
            stack.app,
            hub(stack),
            pub.id,
            url=f"{stack.sims.base_url('gov_website')}/articles/x.html",
            actor="web",
            password=PASSWORDS["web"],
        )
    assert getattr(refused.value, "code", "") == "not_manual"
    with stack.app.db.read() as session:
        assert session.scalar(select(func.count()).select_from(ManualAction)) == 0
