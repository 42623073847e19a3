"""Find a published article by its channel and its URL or platform id, and assemble its
accountability report: the version that went out, who wrote, reviewed, signed off and
published it, the audit events, and the gate's verdict on it now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import gate.model as g
from gate import evaluate
from gate.rules import ReviewContext
from orchestrator.app import App
from orchestrator.documents.form import local
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.models import AuditEvent, Person, Publication
from orchestrator.reports.accountability.events import Names, event_row, publisher
from orchestrator.reports.accountability.sections import (
    amendments,
    by_hand,
    publication,
    review_of,
    verifications,
)
from orchestrator.reports.accountability.summary import summary
from orchestrator.services.record import review_record
from orchestrator.services.review.queries import origin_problem
from orchestrator.services.submissions import channel_catalogue, resolve_channel


def find(
    session: Session, channel: str, *, url: str | None = None, external_id: str | None = None
) -> Publication:
    """The publication on `channel` (name or 发布形式) with this URL or platform id."""
    if (url is None) == (external_id is None):
        raise InvalidInput("请提供发布链接（--url）或平台编号（--id）之一", code="url_or_id")
    name = resolve_channel(channel.strip(), channel_catalogue())
    query = select(Publication).where(Publication.channel == name)
    if url is not None:
        query = query.where(Publication.url == url.strip())
        what = f"链接为 {url.strip()}"
    else:
        assert external_id is not None
        query = query.where(Publication.external_id == external_id.strip())
        what = f"平台编号为 {external_id.strip()}"
    found = session.scalars(query.order_by(Publication.id.desc()).limit(1)).first()
    if found is None:
        raise NotFound(f"未找到{channel}上{what}的发布", code="publication_not_found")
    return found


def report(
    session: Session,
    app: App,
    channel: str,
    *,
    url: str | None = None,
    external_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    pub = find(session, channel, url=url, external_id=external_id)
    submission, version = pub.submission, pub.version
    record = review_record(
        submission,
        version,
        store=app.blobs,
        publications=(pub,),
        origin=lambda row: origin_problem(session, row),
    )
    context = ReviewContext(record, app.policy, now)
    verdict = evaluate(record, app.policy, now=now)
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject == f"publication:{pub.id}")
            .order_by(AuditEvent.id)
        )
    )
    usernames = {e.actor for e in events} | set(record.people)
    rows = session.execute(
        select(Person.username, Person.name).where(Person.username.in_(usernames))
    )
    names = Names({username: name for username, name in rows})
    reviews = [review_of(a, record, context) for a in context.this_version]
    counted = {r["stage"]: r for r in reviews if r["counts"]}
    out: dict[str, Any] = {
        "publication": publication(pub),
        "submission": {
            "id": submission.id,
            "uid": submission.uid,
            "department": submission.department.name,
        },
        "version": {
            "number": version.number,
            "fingerprint": version.fingerprint,
            "title": version.title,
            "current": version.id == submission.current.id,
            "created_at": local(version.created_at),
        },
        "author": {"username": submission.author.username, "name": submission.author.name},
        "reviews": reviews,
        "approved": {stage.value: counted.get(stage.value) for stage in context.required_stages},
        "publisher": publisher(pub, events, counted.get(g.ReviewStage.SIGN_OFF.value), names),
        "events": [event_row(e, names) for e in events],
        "amendments": amendments(pub, record, context),
        "by_hand": by_hand(session, pub),
        "verifications": verifications(session, pub),
        "signatures_valid": all(r["signature_valid"] for r in reviews),
        "gate": {
            "passed": verdict.passed,
            "violations": [{"code": v.code, "message": v.message} for v in verdict.violations],
        },
    }
    out["summary"] = summary(out)
    return out
