"""我的待办: the items whose next review stage waits for this person (with the review aids and
the channels' prechecks), the ones returned to their author, and the assisted channels' rows
waiting to be published or taken down by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels.registry import load_channels
from gate.model import ReviewStage
from gate.rules import ReviewContext
from orchestrator.app import App
from orchestrator.models import Person, Publication, Submission
from orchestrator.permissions import PERMISSIONS, holds
from orchestrator.services import deadlines, prechecks, review
from orchestrator.services.hub import ChannelHub
from orchestrator.states import State
from orchestrator.web.auth import Principal
from orchestrator.web.console.attention import OVERDUE_GRACE
from orchestrator.web.console.common import Who, person_of, utc_now
from orchestrator.web.deps import get_app
from orchestrator.web.templating import page

router = APIRouter(include_in_schema=False)


@dataclass
class Waiting:
    submission: Submission
    stage: ReviewStage
    aids: list[dict[str, str]]
    problems: list[dict[str, Any]]
    wait: deadlines.Wait | None = None


def waiting_stage(sub: Submission, person: Person, app: App, now: datetime) -> ReviewStage | None:
    """The stage of `sub` that waits for `person`, or None (services/deadlines.may_act)."""
    context = ReviewContext(review.review_record(sub), app.policy, now)
    return context.next_stage() if deadlines.may_act(sub, person, context, now) else None


def aids_for(session: Session, app: App, sub_id: int, hub: ChannelHub) -> dict[str, Any]:
    verdict, _waiting, aids = review.check(
        session,
        sub_id,
        policy=app.policy,
        store=app.blobs,
        sensitive_words=app.sensitive_words,
    )
    return {
        "verdict": verdict,
        "aids": aids,
        "problems": prechecks.channel_problems(session, app, sub_id, hub),
    }


def todo_lists(session: Session, app: App, who: Principal) -> dict[str, Any]:
    now = utc_now()
    person = person_of(session, who)
    hub = ChannelHub()
    waiting: list[Waiting] = []
    returned: list[deadlines.Returned] = []
    for sub in session.scalars(deadlines.open_submissions()):
        back = deadlines.returned_to(sub) if sub.author_id == person.id else None
        if back is not None:
            returned.append(back)
            continue
        context = ReviewContext(review.review_record(sub), app.policy, now)
        if not deadlines.may_act(sub, person, context, now):
            continue
        wait = deadlines.wait_of(sub, context, app.settings)
        found = aids_for(session, app, sub.id, hub)
        stage = context.next_stage()
        assert stage is not None
        waiting.append(Waiting(sub, stage, found["aids"], found["problems"], wait))
    return {
        "waiting": waiting,
        "returned": returned,
        "now": now,
        "by_hand": by_hand(session, person, now),
        "now_minus_grace": now - OVERDUE_GRACE,
    }


def by_hand(session: Session, person: Person, now: datetime) -> list[Publication]:
    """Rows of assisted channels waiting for this person: to publish by hand (待人工发布) or to
    take down (待人工撤下), on the channels their role publishes."""
    kinds = {name: cls.kind for name, cls in load_channels().items()}

    def may(action: str, channel: str) -> bool:
        kind = kinds.get(channel)
        return kind is not None and holds(person, PERMISSIONS.get((action, kind), frozenset()), now)

    rows = session.scalars(
        select(Publication)
        .where(Publication.state.in_([State.MANUAL.value, State.TAKEDOWN.value]))
        .order_by(Publication.scheduled_at, Publication.id)
        .limit(200)
    ).all()
    return [
        p
        for p in rows
        if may("publish_by_hand" if p.state == State.MANUAL.value else "retract", p.channel)
    ]


@router.get("/todo", response_class=HTMLResponse)
async def todo_page(request: Request, who: Who) -> Response:
    def work() -> Response:
        app = get_app()
        with app.db.read() as session:
            lists = todo_lists(session, app, who)
            return page(request, "work_todo.html", who, **lists)

    return await run_in_threadpool(work)
