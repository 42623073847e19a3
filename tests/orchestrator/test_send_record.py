"""The gate's record on the send path (services.record_cache), over a real database.

`checked_item` reads a fixed few statements however long the item's history is, the channels
of one version after the first read fewer still (the worker's cache), the record it judges is
the one `review_record` builds from the rows, and whatever changes the record (a new action, a
改期, an edit to a person or a role) or a row or blob altered behind the product's back is seen
by the very next send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, update

import gate.model as g
from channels.item import Item
from gate import evaluate
from gate.signature import payload_of
from orchestrator.app import App
from orchestrator.errors import GateRefused
from orchestrator.models import Publication, ReviewAction, RoleAssignment, Version
from orchestrator.render import render
from orchestrator.services import amendments, delegation, org, reposts, review, submissions
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.publishing import Publisher
from orchestrator.services.publishing.prepare import checked_item
from orchestrator.services.signing import signed_by
from tests.clock import shanghai_today
from tests.orchestrator.conftest import PASSWORDS
from tests.orchestrator.test_review_flow import create

S, D = g.ReviewStage, g.Decision
COVER = files("orchestrator").joinpath("data/demo-cover.jpg").read_bytes()
ALL = ("gov_website", "suishenban", "wechat", "xuexi", "lvse_qingpu")


# --- items ------------------------------------------------------------------------------------


def act(app: App, sub: int, stage: g.ReviewStage, actor: str, **kw: Any) -> None:
    with app.db.session() as session:
        review.review(
            session,
            sub,
            stage=stage,
            actor=actor,
            password=PASSWORDS[actor],
            policy=app.policy,
            app=app,
            decision=kw.pop("decision", D.APPROVE),
            **kw,
        )


def rows(channels: tuple[str, ...], day: date) -> list[g.ChannelRequest]:
    return [g.ChannelRequest(c, day) for c in channels]


def signed_off(app: App, channels: tuple[str, ...] = ALL, *, long_history: bool = False) -> int:
    """An item the department asks for on the website, which 稿件用途 sends to `channels` (a
    new version, the reviews before it carried over), signed off for tomorrow. With
    `long_history`: a major event, returned once at 终审, 复审 by a delegate, 审定 by the
    principal leader: twice the actions and more people."""
    day = shanghai_today() + timedelta(days=1)
    sub = create(
        app,
        channels=rows(("gov_website",), day),
        cover=submissions.ImageFile("cover.jpg", COVER),
        major_event=long_history,
    )
    second = "head"
    if long_history:
        act(app, sub, S.FIRST, "author")
        act(app, sub, S.SECOND, "head")
        act(app, sub, S.FINAL, "leader", decision=D.RETURN, comment="数据需核实")
        with app.db.session() as session:
            delegation.delegate(
                session,
                deputy="web",
                acting_for="head",
                role=org.parse_role("section_head"),
                start=shanghai_today(),
                end=shanghai_today(),
                actor="head",
                note="外出学习",
            )
        second = "web"
    act(app, sub, S.FIRST, "author")
    act(app, sub, S.SECOND, second)
    act(app, sub, S.FINAL, "leader")
    if long_history:
        act(app, sub, S.PRINCIPAL, "chief")
    act(app, sub, S.USAGE, "zhk", rows=rows(channels, day))
    act(app, sub, S.SIGN_OFF, "publicity")
    return sub


def row_ids(app: App, sub: int) -> list[int]:
    with app.db.read() as session:
        query = select(Publication.id).where(Publication.submission_id == sub)
        return list(session.scalars(query.order_by(Publication.id)))


def publisher(app: App) -> Publisher:
    return Publisher(app, ChannelHub({}), MemoryRateGate())


# --- sending and counting ---------------------------------------------------------------------


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine runs meanwhile."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def send_check(app: App, ctx: Publisher, pub_id: int) -> tuple[Item, int]:
    """`checked_item` on the row, in a read transaction of its own as `prepare` does it, and
    the number of statements it ran."""
    with app.db.read() as session:
        pub = session.get(Publication, pub_id)
        with statements() as seen:
            item = checked_item(ctx, pub, assisted=True)
    return item, len(seen)


def refusal(app: App, ctx: Publisher, pub_id: int) -> list[str]:
    """The gate's codes when it refuses the row at send, [] when it passes it."""
    try:
        send_check(app, ctx, pub_id)
    except GateRefused as refused:
        return sorted(refused.details or [])
    return []


@dataclass
class Built:
    record: g.ReviewRecord
    item: Item


def from_cache(app: App, ctx: Publisher, pub_id: int) -> Built:
    with app.db.read() as session:
        pub = session.get(Publication, pub_id)
        origin = review.origin_problem(session, pub)
        inputs = ctx.records.inputs(pub, store=app.blobs, origin=origin)
        return Built(
            inputs.record, inputs.item(pub.channel, reference=f"P{pub.id}", store=app.blobs)
        )


def record_from_rows(app: App, pub_id: int) -> g.ReviewRecord:
    """The record the send path built before the cache: `review_record` on the rows."""
    with app.db.read() as session:
        pub = session.get(Publication, pub_id)
        return review.review_record(
            pub.submission,
            pub.version,
            store=app.blobs,
            publications=(pub,),
            origin=lambda row: review.origin_problem(session, row),
        )


def from_rows(app: App, pub_id: int) -> Built:
    with app.db.read() as session:
        pub = session.get(Publication, pub_id)
        item = render(pub.version, pub.channel, reference=f"P{pub.id}", store=app.blobs)
    return Built(record_from_rows(app, pub_id), item)


def codes_from_rows(app: App, pub_id: int) -> list[str]:
    verdict = evaluate(record_from_rows(app, pub_id), app.policy, now=datetime.now(UTC))
    return sorted(verdict.codes)


def amend(app: App, pub_id: int, day: date) -> None:
    """A 改期 of the row to `day`, signed by the 宣传分管领导."""
    with app.db.session() as session:
        amendments.amend_date(
            session,
            pub_id,
            new_date=day,
            actor="publicity",
            password=PASSWORDS["publicity"],
            policy=app.policy,
            comment="活动延期",
        )


# --- (a) a fixed few statements ---------------------------------------------------------------


def test_a_send_reads_a_fixed_few_statements_however_long_the_history(org_app: App) -> None:
    short = signed_off(org_app, ("gov_website", "wechat"))
    long = signed_off(org_app, ALL, long_history=True)
    amend(org_app, row_ids(org_app, long)[-1], shanghai_today() + timedelta(days=3))
    sizes = {}
    for sub in (short, long):
        record = from_rows(org_app, row_ids(org_app, sub)[0]).record
        sizes[sub] = (len(record.actions), len(record.people), len(record.amendments))
    assert sizes == {short: (5, 5, 0), long: (9, 7, 1)}
    ctx = publisher(org_app)
    counts = {
        sub: [send_check(org_app, ctx, p)[1] for p in row_ids(org_app, sub)]
        for sub in (short, long)
    }
    # the first row of a version builds the shared part; every other row reads the stamp, the
    # people and its own origin in the audit chain
    first, later = counts[short]
    assert counts[long] == [first, later, later, later, later]
    assert later == 3 and first <= 8


def test_the_cache_is_bounded_and_its_entries_age(org_app: App) -> None:
    first, second = (row_ids(org_app, signed_off(org_app, ("gov_website", "wechat"))) for _ in "ab")
    ctx = publisher(org_app)
    ctx.records.size = 1
    full = send_check(org_app, ctx, first[0])[1]
    assert send_check(org_app, ctx, first[1])[1] < full
    assert send_check(org_app, ctx, second[0])[1] == full
    assert len(ctx.records) == 1
    assert send_check(org_app, ctx, first[1])[1] == full  # pushed out by the other version
    ctx.records.max_age = 0
    assert send_check(org_app, ctx, first[0])[1] == full


# --- (b) the same record as from the rows -----------------------------------------------------


def test_the_cached_record_and_item_are_those_built_from_the_rows(org_app: App) -> None:
    sub = signed_off(org_app, ALL, long_history=True)
    amend(org_app, row_ids(org_app, sub)[3], shanghai_today() + timedelta(days=3))
    ctx = publisher(org_app)
    for pub_id in row_ids(org_app, sub):
        cached, built = from_cache(org_app, ctx, pub_id), from_rows(org_app, pub_id)
        assert cached == built
        assert cached.record.reviewed_as is not None and len(cached.record.amendments) == 1
        assert evaluate(cached.record, org_app.policy, now=datetime.now(UTC)).passed
    assert len(ctx.records) == 1


def reposted(app: App, channels: tuple[str, ...]) -> int:
    """An item reported to 学习强国, adopted there, and its repost for `channels` signed off."""
    original = signed_off(app, ("xuexi",))
    with app.db.session() as session:
        upward = session.scalars(
            select(Publication).where(Publication.submission_id == original)
        ).one()
        upward.state, upward.url = "published", "https://www.xuexi.cn/article/qp-001.html"
        upward.published_at = datetime.now(UTC)
        repost = reposts.draft_repost(session, app, upward, actor="system", channels=[*channels])
        repost_id = repost.id
    act(app, repost_id, S.SIGN_OFF, "publicity")  # the original's reviews carry it
    return repost_id


def test_a_repost_is_judged_with_its_original_as_from_the_rows(org_app: App) -> None:
    sub = reposted(org_app, ("gov_website", "wechat"))
    ctx = publisher(org_app)
    first, second = row_ids(org_app, sub)
    for pub_id in (first, second):
        cached = from_cache(org_app, ctx, pub_id)
        assert cached == from_rows(org_app, pub_id)
        assert cached.record.original is not None and cached.item.source is not None
        assert [a.stage for a in cached.record.actions] == [S.SIGN_OFF]
    ctx.records.clear()
    assert refusal(org_app, ctx, first) == refusal(org_app, ctx, second) == []
    ctx.records.clear()
    assert send_check(org_app, ctx, first)[1] > send_check(org_app, ctx, second)[1] == 3


# --- (c) a change is seen by the next send ----------------------------------------------------


def late_decision(
    app: App, sub: int, stage: g.ReviewStage, actor: str, decision: g.Decision
) -> None:
    """A signed decision that lands after the sign-off (the review service would refuse it
    now; a decision signed a moment before the sign-off and written after it looks so)."""
    with app.db.session() as session:
        submission = review.get(session, sub)
        person = org.person_by_username(session, actor)
        version = submission.current
        action = g.ReviewAction(
            submission_id=submission.uid,
            fingerprint=version.fingerprint,
            stage=stage,
            decision=decision,
            actor_id=actor,
            acted_at=datetime.now(UTC),
            signature=b"",
            comment="不宜发布",
        )
        signed = signed_by(person, PASSWORDS[actor], action, payload_of)
        session.add(
            ReviewAction(
                submission=submission,
                version_id=version.id,
                fingerprint=signed.fingerprint,
                stage=signed.stage.value,
                decision=signed.decision.value,
                actor=person,
                acted_at=signed.acted_at,
                comment=signed.comment,
                signature=signed.signature,
            )
        )


def test_a_new_review_action_is_seen_by_the_next_send(org_app: App) -> None:
    sub = signed_off(org_app, ("gov_website", "wechat"))
    first, second = row_ids(org_app, sub)
    ctx = publisher(org_app)
    assert refusal(org_app, ctx, first) == []
    late_decision(org_app, sub, S.FINAL, "leader", D.REJECT)
    assert refusal(org_app, ctx, second) == codes_from_rows(org_app, second) != []
    assert from_cache(org_app, ctx, second) == from_rows(org_app, second)


def test_a_date_amendment_is_seen_by_the_next_send(org_app: App) -> None:
    sub = signed_off(org_app, ("gov_website", "wechat"))
    first, second = row_ids(org_app, sub)
    ctx = publisher(org_app)
    assert refusal(org_app, ctx, first) == refusal(org_app, ctx, second) == []
    amend(org_app, second, shanghai_today() + timedelta(days=3))
    # judged on the record without the 改期, the moved row would be on an unsigned day
    assert refusal(org_app, ctx, second) == []
    assert from_cache(org_app, ctx, second) == from_rows(org_app, second)


def _moved_to_general_office(app: App) -> None:
    with app.db.session() as session:
        org.person_by_username(session, "head").department = org.department_by_code(session, "zhk")


def _in_charge_ended_before_the_review(app: App) -> None:
    """The 分管 of 数据管理发展科 ended, dated back to before the leader's 终审 (a correction)."""
    with app.db.session() as session:
        leader = org.person_by_username(session, "leader")
        (row,) = [a for a in leader.assignments if a.department and a.department.code == "sjgl"]
        row.valid_until = row.valid_from + timedelta(days=1)


def _in_charge_ended_now(app: App) -> None:
    with app.db.session() as session:
        org.set_in_charge(session, org.person_by_username(session, "leader"), ["zhk", "solo"])


def _role_added(app: App) -> None:
    with app.db.session() as session:
        person = org.person_by_username(session, "zhk")
        org.grant_role(session, person, org.parse_role("web_operations"), now=datetime.now(UTC))


def _key_replaced(app: App) -> None:
    with app.db.session() as session:
        org.person_by_username(session, "leader").public_key = bytes(32)


def _delegation(session: Any) -> RoleAssignment:
    query = select(RoleAssignment).where(RoleAssignment.acting_for_id.is_not(None))
    return session.scalars(query).one()


def _delegation_for_someone_else(app: App) -> None:
    """The delegate's row now says whom else it stood in for (edited in place)."""
    with app.db.session() as session:
        _delegation(session).acting_for = org.person_by_username(session, "editor")


def _delegation_for_another_department(app: App) -> None:
    with app.db.session() as session:
        _delegation(session).department = org.department_by_code(session, "zhk")


@pytest.mark.parametrize(
    ("edit", "refused"),
    [
        (_moved_to_general_office, True),
        (_in_charge_ended_before_the_review, True),
        (_in_charge_ended_now, False),
        (_role_added, False),
        (_key_replaced, True),
        (_delegation_for_someone_else, False),  # the gate reads whom only for the pages
        (_delegation_for_another_department, True),
    ],
)
def test_an_edit_to_a_person_or_a_role_is_seen_by_the_next_send(
    org_app: App, edit: Callable[[App], None], refused: bool
) -> None:
    sub = signed_off(org_app, ("gov_website", "wechat"), long_history=True)
    first, second = row_ids(org_app, sub)
    ctx = publisher(org_app)
    assert refusal(org_app, ctx, first) == []
    edit(org_app)
    assert from_cache(org_app, ctx, second) == from_rows(org_app, second)
    codes = refusal(org_app, ctx, second)
    assert codes == codes_from_rows(org_app, second)
    assert bool(codes) is refused, codes


# --- (d) altered rows and blobs are refused as before -----------------------------------------


def test_a_blob_changed_after_the_first_send_is_refused_for_the_next(org_app: App) -> None:
    sub = signed_off(org_app, ("gov_website", "suishenban", "wechat"))
    first, second, third = row_ids(org_app, sub)
    ctx = publisher(org_app)
    assert refusal(org_app, ctx, first) == []
    with org_app.db.read() as session:
        sha = review.get(session, sub).current.images[0].sha256
    org_app.blobs.path(sha).write_bytes(b"<?php echo 1; ?>")
    assert (
        refusal(org_app, ctx, second) == codes_from_rows(org_app, second) == ["image_bytes_changed"]
    )
    org_app.blobs.path(sha).unlink()
    assert refusal(org_app, ctx, third) == codes_from_rows(org_app, third) == ["image_missing"]


def test_a_row_moved_in_the_database_after_the_first_send_is_refused(org_app: App) -> None:
    sub = signed_off(org_app, ("gov_website", "wechat"))
    first, second = row_ids(org_app, sub)
    ctx = publisher(org_app)
    assert refusal(org_app, ctx, first) == []
    with org_app.db.engine.begin() as connection:
        connection.execute(
            update(Publication)
            .where(Publication.id == second)
            .values(scheduled_at=datetime.now(UTC))
        )
    expected = ["publication_date_not_signed", "publication_origin"]
    assert refusal(org_app, ctx, second) == codes_from_rows(org_app, second) == expected


def test_a_version_edited_in_the_database_after_the_first_send_is_refused(org_app: App) -> None:
    """The cache holds the version as signed; an edit made by SQL is judged by the next send,
    which refuses it as a send without the cache would."""
    sub = signed_off(org_app, ("gov_website", "wechat"))
    first, second = row_ids(org_app, sub)
    ctx = publisher(org_app)
    assert refusal(org_app, ctx, first) == []
    with org_app.db.read() as session:
        version_id = review.get(session, sub).current.id
    with org_app.db.engine.begin() as connection:
        connection.execute(
            update(Version).where(Version.id == version_id).values(body_html="<p>改过的正文</p>")
        )
    found = refusal(org_app, ctx, second)
    assert found and found == codes_from_rows(org_app, second)
