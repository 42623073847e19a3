"""What goes out is bound to the signed 审批表's rows, and reviewers to the item's department.

Each test reproduces one finding of the gate-binding issue on a real database: the change is
made the way a person (or someone with database access) would make it, and the product must
refuse it with a stable code, writing nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from gate.model import ReviewStage
from orchestrator import audit
from orchestrator.app import App
from orchestrator.errors import Conflict, Forbidden, GateRefused, InvalidInput, WrongPassword
from orchestrator.models import DateAmendment, Publication
from orchestrator.reports import form
from orchestrator.services import amendments, delegation, org, review, submissions
from orchestrator.services.hub import MemoryRateGate, hub_for
from orchestrator.services.publishing import Publisher
from tests.clock import shanghai_today
from tests.orchestrator.conftest import PASSWORDS
from tests.orchestrator.test_review_flow import FULL, act, create, draft, refused, verdict, walk

S = ReviewStage
SHANGHAI = ZoneInfo("Asia/Shanghai")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def signed_off(app: App, days_ahead: int = 2) -> tuple[int, Publication]:
    """An item signed off for the website `days_ahead` days from today, and its row."""
    day = shanghai_today() + timedelta(days=days_ahead)
    sub = create(app, channels=[submissions.ChannelRequest("gov_website", day)])
    walk(app, sub)
    with app.db.session() as session:
        pub = session.scalars(select(Publication).where(Publication.submission_id == sub)).one()
        session.expunge(pub)
    return sub, pub


def publisher(app: App) -> Publisher:
    return Publisher(app, hub_for(app.settings.data_dir), MemoryRateGate())


def row_codes(app: App, sub: int) -> list[str]:
    return [v.code for v in verdict(app, sub)[0].violations if v.publication]


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


# --- finding 1: rows bound to the signed rows -------------------------------------------------


def test_the_gate_passes_the_rows_the_sign_off_created(org_app: App) -> None:
    sub, _ = signed_off(org_app)
    v, _, _ = verdict(org_app, sub)
    assert v.passed, v.violations


def test_a_row_on_a_channel_nobody_signed_is_refused(org_app: App) -> None:
    sub, pub = signed_off(org_app)
    with org_app.db.session() as session:
        session.add(
            Publication(
                submission_id=sub,
                version_id=pub.version_id,
                channel="wechat",
                state="scheduled",
                idempotency_key=f"ss-{uuid.uuid4().hex}",
                scheduled_at=pub.scheduled_at,
            )
        )
    assert "publication_channel_not_signed" in row_codes(org_app, sub)


def test_a_row_moved_before_the_signed_day_in_the_database_is_refused(org_app: App) -> None:
    sub, pub = signed_off(org_app)
    with org_app.db.session() as session:
        session.execute(
            update(Publication)
            .where(Publication.id == pub.id)
            .values(scheduled_at=datetime.now(UTC))
        )
    # the day no longer matches the signed row, and the chain saw nobody move it
    assert sorted(row_codes(org_app, sub)) == ["publication_date_not_signed", "publication_origin"]


def test_publish_now_before_the_signed_day_needs_a_signed_amendment(org_app: App) -> None:
    _, pub = signed_off(org_app)
    with pytest.raises(Conflict) as info:
        publisher(org_app).reschedule(pub.id, when=datetime.now(UTC), actor="web")
    assert info.value.code == "needs_date_amendment"
    assert "宣传分管领导" in info.value.message
    with org_app.db.session() as session:
        assert session.get(Publication, pub.id).scheduled_at == pub.scheduled_at


def test_moving_within_the_signed_day_stays_the_website_sections_act(org_app: App) -> None:
    sub, pub = signed_off(org_app)
    later = at(pub.scheduled_at.astimezone(SHANGHAI).date(), 15)
    publisher(org_app).reschedule(pub.id, when=later, actor="web")
    with org_app.db.session() as session:
        assert session.get(Publication, pub.id).scheduled_at == later
    assert verdict(org_app, sub)[0].passed


def amend(app: App, pub_id: int, day: date, actor: str = "publicity", **kw: object) -> object:
    with app.db.session() as session:
        return amendments.amend_date(
            session,
            pub_id,
            new_date=day,
            actor=actor,
            password=str(kw.pop("password", PASSWORDS[actor])),
            policy=app.policy,
            comment="活动延期",
            **kw,  # type: ignore[arg-type]
        )


def test_a_signed_amendment_moves_the_row_and_the_gate_accepts_it(org_app: App) -> None:
    sub, pub = signed_off(org_app)
    today = shanghai_today()
    amend(org_app, pub.id, today, at_time=time(23, 59))
    with org_app.db.session() as session:
        moved = session.get(Publication, pub.id)
        assert moved.scheduled_at.astimezone(SHANGHAI).date() == today
        (row,) = session.scalars(select(DateAmendment)).all()
        assert (row.old_date, row.new_date, row.actor.username) == (
            today + timedelta(days=2),
            today,
            "publicity",
        )
    assert verdict(org_app, sub)[0].passed


@pytest.mark.parametrize(
    ("actor", "password", "error", "code"),
    [
        ("web", None, Forbidden, "not_permitted"),
        ("leader", None, Forbidden, "not_permitted"),
        ("publicity", "wrong-password", WrongPassword, "wrong_password"),
    ],
)
def test_only_the_publicity_leaders_signature_moves_the_day(
    org_app: App, actor: str, password: str | None, error: type[Exception], code: str
) -> None:
    _, pub = signed_off(org_app)
    kw = {"password": password} if password else {}
    refused(
        org_app,
        lambda: amend(org_app, pub.id, shanghai_today(), actor=actor, **kw),
        error,  # type: ignore[arg-type]
        code,
    )


def test_an_amendment_altered_in_the_database_is_refused(org_app: App) -> None:
    sub, pub = signed_off(org_app)
    amend(org_app, pub.id, shanghai_today() + timedelta(days=3))
    with org_app.db.engine.begin() as connection:  # past the ORM's immutability guard
        connection.execute(
            update(DateAmendment).values(new_date=shanghai_today() + timedelta(days=4))
        )
    codes = [v.code for v in verdict(org_app, sub)[0].violations]
    assert "amendment_invalid" in codes and "publication_date_not_signed" in codes


def test_an_amendment_to_a_past_day_or_the_same_day_is_refused(org_app: App) -> None:
    _, pub = signed_off(org_app)
    yesterday = shanghai_today() - timedelta(days=1)
    refused(org_app, lambda: amend(org_app, pub.id, yesterday), InvalidInput, "time_in_past")
    signed_day = pub.scheduled_at.astimezone(SHANGHAI).date()
    refused(org_app, lambda: amend(org_app, pub.id, signed_day), InvalidInput, "same_day")


def test_sign_off_of_a_past_publish_date_is_refused(org_app: App) -> None:
    sub = create(org_app)
    walk(org_app, sub, FULL[:-1])
    later = datetime.now(UTC) + timedelta(days=3)  # the leader signs three days late
    with pytest.raises(Conflict) as info, org_app.db.session() as session:
        review.review(
            session,
            sub,
            stage=S.SIGN_OFF,
            decision=review.g.Decision.APPROVE,
            actor="publicity",
            password=PASSWORDS["publicity"],
            policy=org_app.policy,
            app=org_app,
            now=later,
        )
    assert info.value.code == "publish_date_past"


# --- finding 2: reviewers and writers bound to the item's department ---------------------------


def grant(app: App, username: str, role: str, department: str | None = None) -> None:
    with app.db.session() as session:
        org.grant_role(
            session,
            org.person_by_username(session, username),
            org.parse_role(role),
            department=org.department_by_code(session, department) if department else None,
            now=LONG_AGO,
        )


def test_the_section_head_of_another_department_cannot_do_the_second_review(
    org_app: App,
) -> None:
    grant(org_app, "web", "section_head")  # 综合科's own 科室负责人
    sub = create(org_app)
    act(org_app, sub, S.FIRST, "author")
    with pytest.raises(Forbidden) as info:
        act(org_app, sub, S.SECOND, "web")
    assert info.value.code == "role_out_of_scope"
    assert "数据管理发展科的科室负责人/支部书记" in info.value.message


def test_a_leader_not_in_charge_of_the_department_cannot_do_the_final_review(
    org_app: App,
) -> None:
    with org_app.db.session() as session:
        org.set_in_charge(session, org.person_by_username(session, "leader"), ["zhk"])
    sub = create(org_app)
    walk(org_app, sub, FULL[:2])
    with pytest.raises(Forbidden) as info:
        act(org_app, sub, S.FINAL, "leader")
    assert info.value.code == "role_out_of_scope"
    assert "分管数据管理发展科的分管领导" in info.value.message


def test_a_contributor_of_another_department_cannot_create_or_revise(org_app: App) -> None:
    def create_as(author: str) -> object:
        with org_app.db.session() as session:
            return submissions.create(
                session, org_app.blobs, author=author, department="sjgl", draft=draft()
            )

    refused(org_app, lambda: create_as("editor"), Forbidden, "out_of_department")
    sub = create(org_app)

    def revise_as(editor: str) -> object:
        with org_app.db.session() as session:
            return submissions.revise(
                session, org_app.blobs, sub, editor=editor, draft=draft(title="改")
            )

    refused(org_app, lambda: revise_as("editor"), Forbidden, "out_of_department")
    create_as("zhk")  # 综合科 receives and edits every item
    revise_as("zhk")


def delegate(app: App, start: date, end: date, actor: str = "head") -> int:
    with app.db.session() as session:
        return delegation.delegate(
            session,
            deputy="web",
            acting_for="head",
            role=org.parse_role("section_head"),
            start=start,
            end=end,
            actor=actor,
            note="外出学习",
        ).id


def test_a_delegate_does_the_second_review_only_inside_the_dates(org_app: App) -> None:
    today = shanghai_today()
    sub = create(org_app)
    act(org_app, sub, S.FIRST, "author")
    delegate(org_app, today + timedelta(days=1), today + timedelta(days=3))
    with pytest.raises(Forbidden) as info:
        act(org_app, sub, S.SECOND, "web")
    assert info.value.code == "role_not_held"
    delegate(org_app, today, today)
    act(org_app, sub, S.SECOND, "web")
    act(org_app, sub, S.FINAL, "leader")
    act(org_app, sub, S.USAGE, "zhk")
    act(org_app, sub, S.SIGN_OFF, "publicity")
    assert verdict(org_app, sub)[0].passed


def test_a_delegation_is_granted_only_by_the_holder_a_principal_leader_or_general_office(
    org_app: App,
) -> None:
    today = shanghai_today()
    with pytest.raises(Forbidden):
        delegate(org_app, today, today, actor="author")
    delegate(org_app, today, today, actor="zhk")
    delegate(org_app, today, today, actor="chief")


def test_a_delegation_ended_early_stops_counting_new_reviews(org_app: App) -> None:
    today = shanghai_today()
    delegation_id = delegate(org_app, today, today + timedelta(days=5))
    with org_app.db.session() as session:
        delegation.end_delegation(session, delegation_id, actor="head")
    sub = create(org_app)
    act(org_app, sub, S.FIRST, "author")
    with pytest.raises(Forbidden):
        act(org_app, sub, S.SECOND, "web")


# --- finding 4: the gate sees the stored bytes ------------------------------------------------


def test_gate_check_sees_an_image_whose_stored_bytes_changed(org_app: App) -> None:
    sub, _ = signed_off(org_app)
    with org_app.db.session() as session:
        sha = review.get(session, sub).current.images[0].sha256
    org_app.blobs.path(sha).write_bytes(b"<?php echo 1; ?>")
    codes = [v.code for v in verdict(org_app, sub)[0].violations]
    assert codes == ["image_bytes_changed"]
    org_app.blobs.path(sha).unlink()
    assert [v.code for v in verdict(org_app, sub)[0].violations] == ["image_missing"]


def test_sign_off_is_refused_when_an_image_was_changed_on_disk(org_app: App) -> None:
    sub = create(org_app)
    walk(org_app, sub, FULL[:-1])
    with org_app.db.session() as session:
        sha = review.get(session, sub).current.images[0].sha256
    org_app.blobs.path(sha).write_bytes(b"not the reviewed image")
    refused(
        org_app, lambda: act(org_app, sub, S.SIGN_OFF, "publicity"), GateRefused, "gate_refused"
    )


def test_the_form_shows_the_amended_date_and_who_signed_it(org_app: App) -> None:
    sub, pub = signed_off(org_app)
    signed = pub.scheduled_at.astimezone(SHANGHAI).date()
    new = shanghai_today() + timedelta(days=3)
    amend(org_app, pub.id, new)
    with org_app.db.read() as session:
        (line,) = form.build(session, org_app, [sub]).items[0].channels
    assert line.publish_date == new
    assert line.date_text.startswith(f"{new.isoformat()}（原定 {signed:%m-%d}，孙宣传 ")
    assert line.date_text.endswith("签署改期）")


def test_the_audit_chain_covers_the_amendment_and_the_moved_row(org_app: App) -> None:
    _, pub = signed_off(org_app)
    amend(org_app, pub.id, shanghai_today() + timedelta(days=3))
    with org_app.db.read() as session:
        assert audit.verify(session).ok
    with org_app.db.engine.begin() as connection:  # past the ORM's immutability guard
        connection.execute(update(DateAmendment).values(comment="另有原因"))
    with org_app.db.read() as session:
        report = audit.verify(session)
    assert not report.ok and report.first_bad_row == {
        "table": "date_amendments",
        "id": 1,
        "event": report.first_bad_row["event"],  # type: ignore[index]
    }
    assert "改期记录 #1" in report.problem
