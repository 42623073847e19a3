"""The Notification rows: the scan that writes one per person and event (its unique key makes
it safe to run again or twice at once), and a person's own list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gate.rules import ReviewContext
from orchestrator.app import App
from orchestrator.models import Notification, Person
from orchestrator.services import deadlines, review
from orchestrator.services.notifications.messages import (
    BATCH,
    Message,
    date_request_messages,
    failed_messages,
    returned_message,
    stage_messages,
)


def scan(session: Session, app: App, *, now: datetime) -> list[Notification]:
    """New rows for every event not yet told; an event already told is skipped by its key."""
    everyone = deadlines.people(session)
    messages: list[Message] = []
    for sub in session.scalars(deadlines.open_submissions().limit(BATCH)):
        back = deadlines.returned_to(sub)
        if back is not None:
            messages.append(returned_message(back))
            continue
        context = ReviewContext(review.review_record(sub), app.policy, now)
        wait = deadlines.wait_of(sub, context, app.settings)
        if wait is not None:
            messages += stage_messages(wait, context, everyone, now)
    messages += failed_messages(session, now)
    messages += date_request_messages(session, app, everyone, now)
    known = set(
        session.scalars(
            select(Notification.dedup_key).where(
                Notification.dedup_key.in_([m.key for m in messages])
            )
        )
    )
    created = []
    for m in messages:
        if m.key in known:
            continue
        known.add(m.key)
        row = Notification(
            dedup_key=m.key,
            person_id=m.person.id,
            kind=m.kind,
            submission_id=m.submission_id,
            publication_id=m.publication_id,
            title=m.title[:200],
            body=m.body,
            link=m.link,
            created_at=now,
            state="digest" if m.person.notify_digest and m.kind != "escalation" else "pending",
            attempts=0,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # another scheduler's scan wrote it first
            continue
        created.append(row)
    return created


def for_person(session: Session, person: Person, *, limit: int = 50) -> list[Notification]:
    """A person's own messages, newest first (the console shows them)."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.person_id == person.id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )
