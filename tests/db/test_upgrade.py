"""`sanshen db upgrade` from the previous release with its data in place, and from nothing,
on SQLite and (with SANSHEN_TEST_DATABASE) on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from gate.model import ChannelRequest
from orchestrator import audit
from orchestrator.app import App
from orchestrator.errors import Unauthenticated
from orchestrator.migrate import current_revision, head_revision, upgrade
from orchestrator.models import AuditEvent, Person, Publication, ReviewAction, Submission
from orchestrator.services.dispatch import publication_origin_problem
from orchestrator.settings import Settings
from orchestrator.web.auth import attempt_sign_in
from tests.clock import shanghai_today
from tests.db import release_0_1
from tests.db.data import signed_off
from tests.orchestrator.conftest import PASSWORDS

SANSHEN = str(Path(sys.executable).with_name("sanshen"))
pytestmark = pytest.mark.empty_database


def sanshen(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"SANSHEN_DATA_DIR": str(data_dir), "SANSHEN_KDF_PROFILE": "min"}
    return subprocess.run(
        [SANSHEN, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[App]:
    """The suite's database (a SQLite file here, or this test's PostgreSQL database), empty."""
    app = App(Settings(data_dir=tmp_path / "data", kdf_profile="min"))
    yield app
    app.db.dispose()


def snapshot(app: App) -> dict[str, Any]:
    with app.db.read() as session:
        return {
            "people": sorted(session.scalars(select(Person.username))),
            "submissions": sorted(session.scalars(select(Submission.uid))),
            "signatures": sorted(s.hex() for s in session.scalars(select(ReviewAction.signature))),
            "publications": sorted(
                session.execute(select(Publication.idempotency_key, Publication.state)).all()
            ),
            "audit": session.scalar(select(func.count()).select_from(AuditEvent)),
        }


def test_upgrade_from_the_previous_release_keeps_the_data(target: App, tmp_path: Path) -> None:
    counts = release_0_1.build(target.db, tmp_path / "scratch")
    assert counts["people"] > 0 and counts["publications"] == 7 and counts["audit_events"] > 0
    with target.db.read() as session:
        before = audit.verify(session)
    # The chain of 0.1 is intact, but its events vouch for no row yet: 0005 attests them.
    assert before.first_bad_id is None and before.first_bad_row == {
        "table": "review_actions",
        "id": 1,
    }
    assert len(before.row_problems) == counts["review_actions"] + counts["publications"]

    result = ok_json(sanshen(target.settings.data_dir, "db", "upgrade", "--json"))
    assert result["status"] == "upgraded"
    assert current_revision(target.db) == head_revision(target.db)

    after = snapshot(target)
    assert len(after["people"]) == counts["people"]
    assert len(after["submissions"]) == counts["submissions"] == 2
    assert len(after["signatures"]) == counts["review_actions"] == 8
    assert len(after["publications"]) == 7 and {s for _, s in after["publications"]} == {
        "scheduled"
    }
    with target.db.read() as session:
        people = list(session.scalars(select(Person)))
        assert {p.failed_logins for p in people} == {0}
        assert {p.password_hash for p in people} == {None}
        assert {p.locked_until for p in people} == {None}
        report = audit.verify(session)
        # The old chain is kept as it was; 0005 appended one attestation per bound row.
        old_head = session.get(AuditEvent, counts["audit_events"])
        assert old_head is not None and old_head.hash == before.head_hash
    # 0005 attests every bound row; 0006 records once that the 分管领导 keeps every department.
    attested = counts["review_actions"] + counts["publications"] + 1
    assert report.ok and report.rows == counts["audit_events"] + attested

    verified = ok_json(sanshen(target.settings.data_dir, "audit", "verify", "--json"))
    assert verified["ok"] and verified["rows"] == counts["audit_events"] + attested
    with target.db.read() as session:  # 0.1's office-wide 分管领导 now covers each department
        leader = session.scalars(select(Person).where(Person.username == "leader")).one()
        covered = sorted(a.department.code for a in leader.assignments if a.department)
        assert covered == ["sjgl", "solo", "zhk"]


def test_an_upgraded_database_names_a_row_changed_after_the_upgrade(
    target: App, tmp_path: Path
) -> None:
    """0005 attests the rows of 0.1; a review row or publication changed afterwards is named,
    and the old publications pass the send path's origin check until then."""
    release_0_1.build(target.db, tmp_path / "scratch")
    ok_json(sanshen(target.settings.data_dir, "db", "upgrade", "--json"))
    with target.db.read() as session:
        pubs = list(session.scalars(select(Publication).order_by(Publication.id)))
        assert [publication_origin_problem(session, p) for p in pubs] == [None] * len(pubs)
    with target.db.engine.begin() as conn:
        conn.execute(text("UPDATE review_actions SET comment = '改过' WHERE id = 5"))
    verified = sanshen(target.settings.data_dir, "audit", "verify", "--json")
    assert verified.returncode == 7
    shown = json.loads(verified.stdout)
    assert not shown["ok"] and shown["first_bad_row"]["table"] == "review_actions"
    assert shown["first_bad_row"]["id"] == 5 and shown["problem"].startswith("审核记录 #5 的内容")
    with target.db.engine.begin() as conn:
        conn.execute(text("UPDATE publications SET channel = 'xuexi' WHERE id = :id"), {"id": 7})
    with target.db.read() as session:
        pub = session.get(Publication, 7)
        assert pub is not None
        assert (publication_origin_problem(session, pub) or "").startswith("发布记录在签发后被改动")


def test_the_upgraded_database_takes_new_work(target: App, tmp_path: Path) -> None:
    """New rows after the upgrade: ids continue after the old ones; old keys still sign."""
    release_0_1.build(target.db, tmp_path / "scratch")
    ok_json(sanshen(target.settings.data_dir, "db", "upgrade", "--json"))
    # Four people from 0.1 sign with the keys sealed then.
    third = signed_off(target, "第三篇：升级后的新稿件", channels=("gov_website",))
    assert third == 3
    with target.db.read() as session:
        assert audit.verify(session).ok
        pubs = session.scalars(select(Publication).where(Publication.submission_id == 3)).all()
        assert [p.state for p in pubs] == ["scheduled"] and pubs[0].id == 8
    # Sign-in (new in 0002) for a person from 0.1, who has no password hash yet.
    with pytest.raises(Unauthenticated):
        attempt_sign_in(target.db, "author", "wrong-password", target.settings)
    token, csrf = attempt_sign_in(target.db, "author", PASSWORDS["author"], target.settings)
    assert token and csrf
    with target.db.read() as session:
        author = session.scalars(select(Person).where(Person.username == "author")).one()
        assert author.failed_logins == 0 and author.password_hash is not None


def test_upgrade_from_an_empty_database(target: App) -> None:
    assert current_revision(target.db) is None
    ok_json(sanshen(target.settings.data_dir, "db", "upgrade", "--json"))
    assert current_revision(target.db) == head_revision(target.db)
    again = ok_json(sanshen(target.settings.data_dir, "db", "upgrade", "--json"))
    assert again["status"] == "upgraded"  # a second run is a no-op, not an error
    assert ok_json(sanshen(target.settings.data_dir, "person", "list", "--json")) == []


def downgrade(app: App, revision: str) -> None:
    from alembic import command

    from orchestrator.migrate import alembic_config

    config = alembic_config(app.db)
    with app.db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        connection.commit()


def test_0007_links_the_reposts_drafted_before_it_and_the_chain_still_verifies(
    target: App,
) -> None:
    """Before 0007 every adoption drafted a repost: one original could have two. The first
    keeps the link to its original (now unique); the later one stays, unlinked."""
    from orchestrator.services import reposts, submissions
    from orchestrator.services.dispatch import move, record_move
    from orchestrator.states import State
    from tests.db.data import organisation

    upgrade(target.db)
    organisation(target)
    original = signed_off(target, "对上报送的原稿", channels=("xuexi", "lvse_qingpu"))
    now = datetime.now(UTC)
    with target.db.session() as session:  # both platforms adopt it, as the pipeline records
        ups = list(
            session.scalars(select(Publication).where(Publication.submission_id == original))
        )
        for n, pub in enumerate(ups, 1):
            for source, goal in ((State.SCHEDULED, State.QUEUED), (State.QUEUED, State.SENDING)):
                assert move(session, pub.id, (source,), goal, now=now)
            assert move(
                session,
                pub.id,
                (State.SENDING,),
                State.PUBLISHED,
                now=now,
                url=f"https://example.cn/{n}.html",
                published_at=now,
            )
            record_move(session, pub.id, "publication.sent", State.PUBLISHED, at=now)
    with target.db.session() as session:
        first, second = (session.get(Publication, p.id) for p in ups)
        kept = reposts.draft_repost(session, target, first, actor="system", now=now)
        # what the old code did on the second adoption: another repost of the same original
        extra = submissions.create(
            session,
            target.blobs,
            author="author",
            department="sjgl",
            draft=submissions.Draft(
                title="对上报送的原稿",
                body_html="<p>正文</p>",
                channels=[ChannelRequest("gov_website", shanghai_today())],
            ),
        )
        extra.repost_of_id = second.id
        kept_id, extra_id = kept.id, extra.id
    downgrade(target, "0006")
    ok_json(sanshen(target.settings.data_dir, "db", "upgrade", "--json"))
    with target.db.read() as session:
        origins = dict(
            session.execute(
                select(Submission.id, Submission.repost_origin_id).where(
                    Submission.id.in_([kept_id, extra_id])
                )
            ).all()
        )
        assert origins == {kept_id: original, extra_id: None}
        assert audit.verify(session).ok


def test_0008_lets_what_was_signed_off_before_it_go_out_as_signed(
    target: App, tmp_path: Path
) -> None:
    """稿件用途 came with 0008: an item signed off before it was signed under the rules of its
    day, and goes out without it; the gate still checks everything else."""
    from gate import MISSING_STAGE_CODES, evaluate
    from orchestrator.services import review

    release_0_1.build(target.db, tmp_path / "scratch")
    ok_json(sanshen(target.settings.data_dir, "db", "upgrade", "--json"))
    with target.db.read() as session:
        subs = list(session.scalars(select(Submission)))
        assert len(subs) == 2
        for sub in subs:
            assert sub.current.usage_exempt and sub.current.reviewed_version_id is None
            assert {a.stage for a in sub.actions} == {"first", "second", "final", "sign_off"}
            verdict = evaluate(review.review_record(sub), target.policy, now=datetime.now(UTC))
            assert not set(verdict.codes) & MISSING_STAGE_CODES, verdict.codes
        # without the mark the same record waits for 综合科
        record = review.review_record(subs[0])
        from dataclasses import replace

        unmarked = evaluate(
            replace(record, usage_exempt=False), target.policy, now=datetime.now(UTC)
        )
        assert "stage_missing" in unmarked.codes
