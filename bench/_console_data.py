"""The console bench's data: 100,000 publications by bulk insert (mostly published in the
past, the rest scheduled ahead, failed, unconfirmed or overdue, over ±60 days), and one
month of its own for the 排期日历."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from bench._stack import say
from orchestrator.app import App
from orchestrator.models import (
    Department,
    Person,
    Publication,
    ReviewAction,
    Submission,
    Version,
)

CHANNELS = ("gov_website", "suishenban", "wechat", "xuexi", "lvse_qingpu")
STATES = (
    ("published", 0.70),
    ("scheduled", 0.15),
    ("failed", 0.03),
    ("unconfirmed", 0.02),
    ("submitted", 0.04),
    ("cancelled", 0.03),
    ("retracted", 0.03),
)
BATCH = 5_000
CALENDAR_MONTH = date(2027, 6, 1)


def pick_state(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for state, share in STATES:
        total += share
        if roll < total:
            return state
    return STATES[0][0]


def seed(app: App, publications: int, rng: random.Random) -> None:
    """Submissions, one version each, and a publication per channel: bulk inserts."""
    now = datetime.now(UTC)
    with app.db.session() as session:
        departments = list(session.scalars(select(Department.id)))
        author = session.scalar(select(Person.id).where(Person.username == "wangfang"))
    submissions = -(-publications // len(CHANNELS))
    made = 0
    for start in range(0, submissions, BATCH // len(CHANNELS)):
        count = min(BATCH // len(CHANNELS), submissions - start)
        ids = range(start + 1, start + count + 1)
        with app.db.session() as session:
            conn = session.connection()
            conn.execute(
                insert(Submission),
                [
                    {
                        "id": i,
                        "uid": str(uuid.UUID(int=rng.getrandbits(128))),
                        "department_id": departments[i % len(departments)],
                        "author_id": author,
                        "created_at": now - timedelta(days=60),
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(Version),
                [
                    {
                        "id": i,
                        "submission_id": i,
                        "number": 1,
                        "title": f"青浦区政务服务工作动态（第{i}期）",
                        "body_html": "<p>政务服务“一网通办”持续深化。</p>",
                        "digest": "",
                        "byline": "",
                        "major_event": False,
                        "special_content": False,
                        "fingerprint": f"{i:064x}",
                        "created_by_id": author,
                        "created_at": now - timedelta(days=60),
                    }
                    for i in ids
                ],
            )
            # Each signed off (签发 approved, a dummy signature: nothing here checks it), as
            # the rows of a real database are: only items still in review wait on the board.
            conn.execute(
                insert(ReviewAction),
                [
                    {
                        "submission_id": i,
                        "version_id": i,
                        "fingerprint": f"{i:064x}",
                        "stage": "sign_off",
                        "decision": "approve",
                        "actor_id": author,
                        "acted_at": now - timedelta(days=59),
                        "comment": "",
                        "signature": bytes(64),
                    }
                    for i in ids
                ],
            )
            rows = []
            for i in ids:
                for channel in CHANNELS:
                    if made >= publications:
                        break
                    rows.append(publication_row(i, channel, rng, now))
                    made += 1
            conn.execute(insert(Publication), rows)
        if made % 20_000 < BATCH:
            say(f"seeded {made} publications")


def publication_row(sub_id: int, channel: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    state = pick_state(rng)
    offset = timedelta(minutes=rng.randint(-60 * 24 * 60, 60 * 24 * 60))
    if state == "scheduled" and rng.random() < 0.1:
        offset = -abs(offset)  # overdue
    elif state == "scheduled":
        offset = abs(offset)
    elif state != "scheduled":
        offset = -abs(offset)
    at = now + offset
    return {
        "submission_id": sub_id,
        "version_id": sub_id,
        "channel": channel,
        "state": state,
        "revision": 1,
        "idempotency_key": f"ss-{sub_id}-{channel}",
        "scheduled_at": at,
        "late": False,
        "attempts": 1 if state != "scheduled" else 0,
        "external_id": f"{channel}-{sub_id}" if state in ("published", "submitted") else None,
        "url": f"https://example.cn/{channel}/{sub_id}" if state == "published" else None,
        "last_error": "平台拒绝：内容不合规" if state == "failed" else None,
        "state_changed_at": at,
        "published_at": at if state == "published" else None,
        "created_at": at - timedelta(days=1),
    }


def seed_month(app: App, rows: int, rng: random.Random) -> None:
    """Move `rows` publications into CALENDAR_MONTH, spread over its days and office hours."""
    start = datetime(CALENDAR_MONTH.year, CALENDAR_MONTH.month, 1, tzinfo=UTC)
    with app.db.session() as session:
        ids = rng.sample(list(session.scalars(select(Publication.id))), rows)
        moves = [
            {"pid": i, "at": start + timedelta(days=rng.randrange(30), minutes=rng.randrange(600))}
            for i in ids
        ]
        session.connection().execute(
            update(Publication)
            .where(Publication.id == bindparam("pid"))
            .values(scheduled_at=bindparam("at")),
            moves,
        )
