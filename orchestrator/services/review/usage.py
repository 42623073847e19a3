"""稿件用途 changing the 审批表: 综合科 decides where the item goes, and when its rows differ
from the current version's, a new version with them is made (the same content, the reviews
before 稿件用途 carried over) for the decision to sign."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy.orm import Session

import gate.model as g
from gate.rules import ReviewContext
from orchestrator import audit
from orchestrator.app import App
from orchestrator.models import Person, Submission, Version
from orchestrator.services import submissions
from orchestrator.services.submissions import content_of


def rows_differ(rows: Iterable[g.ChannelRequest], signed: Iterable[g.ChannelRequest]) -> bool:
    """Whether `rows` say something else than `signed` (order and spaces around a remark
    do not count)."""
    return _rows(rows) != _rows(signed)


def change_rows(
    session: Session,
    app: App,
    submission: Submission,
    person: Person,
    rows: list[g.ChannelRequest],
    context: ReviewContext,
) -> Version:
    """The new version with `rows`, keeping the reviews of the version they were made for."""
    reviewed = _reviewed_version(submission, context)
    return _usage_version(session, app, submission, person, rows, reviewed, context.now)


def _rows(rows: Iterable[g.ChannelRequest]) -> list[tuple[str, date, str]]:
    return sorted((r.channel, r.publish_date, r.remark.strip()) for r in rows)


def _reviewed_version(submission: Submission, context: ReviewContext) -> Version:
    """The version the effective approvals before 稿件用途 were made for."""
    before = [a for s, a in context.approval_of.items() if s.rank < g.ReviewStage.USAGE.rank]
    latest = max(before, key=lambda a: a.acted_at)
    return next(v for v in submission.versions if v.fingerprint == latest.fingerprint)


def _usage_version(
    session: Session,
    app: App,
    submission: Submission,
    person: Person,
    rows: list[g.ChannelRequest],
    reviewed: Version,
    now: datetime,
) -> Version:
    """稿件用途 changed the 审批表: the same content with `rows`, the reviews of `reviewed`
    (初审 to 终审, or 审定) kept."""
    current = submission.current
    draft = submissions.draft_of(app.blobs, current, rows, content_of(current).repost_source)
    version = submissions.add_version(
        session, app.blobs, submission, person, draft, now, reviewed_version=reviewed
    )
    audit.record(
        session,
        "submission.usage",
        actor=person.username,
        subject=f"submission:{submission.id}",
        payload={
            "version": version.number,
            "fingerprint": version.fingerprint,
            "from_version": current.number,
            "reviewed_version": reviewed.number,  # the version the reviews were made for
            "rows_before": [
                [c.channel, c.publish_date.isoformat(), c.remark] for c in current.channels
            ],
            "rows": [[r.channel, r.publish_date.isoformat(), r.remark] for r in rows],
        },
        at=now,
    )
    return version
