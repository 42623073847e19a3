"""One item's page: its versions, the review timeline, each channel's publication with its
verdict and the person's buttons; the part that changes is polled like the board's rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gate.rules import ReviewContext
from orchestrator.errors import InvalidInput, NotFound, SanshenError
from orchestrator.models import Publication, Submission
from orchestrator.permissions import person_by_username
from orchestrator.services import amendments, submissions, verification
from orchestrator.services.review import carried, review_record
from orchestrator.states import State
from orchestrator.web import auth
from orchestrator.web.console.attention import overdue
from orchestrator.web.console.common import FormFlag, FormText, Who, ordered_channels
from orchestrator.web.console.item_actions import ActionForm, act, offered_actions
from orchestrator.web.console.item_history import review_views, version_views
from orchestrator.web.deps import RowId, get_app, publisher
from orchestrator.web.templating import channel_label, flash, page, templates

router = APIRouter(include_in_schema=False)


def _item_live(session: Session, submission: Submission, who: auth.Principal) -> dict[str, Any]:
    """What the item page shows that changes while it is open: the review state and timeline,
    each publication with its verdict and the person's buttons."""
    now = datetime.now(UTC)
    app = get_app()
    person = person_by_username(session, who.username)
    pubs = session.scalars(
        select(Publication)
        .where(Publication.submission_id == submission.id)
        .options(selectinload(Publication.attempt_rows), selectinload(Publication.version))
        .order_by(Publication.id.desc())
    ).all()
    order = {name: i for i, name in enumerate(ordered_channels())}
    pubs = sorted(pubs, key=lambda p: (-p.version.number, order.get(p.channel, 99)))
    offered = {p.id: offered_actions(person, p, now) for p in pubs}
    context = ReviewContext(review_record(submission), app.policy, now)
    return {
        "submission": submission,
        "current": submission.current,
        "reviews": review_views(submission),
        "waiting": context.next_stage(),
        "carried": carried(submission, context),
        "pubs": pubs,
        "offered": offered,
        "signed_days": {p.id: _signed_day(session, p) for p in pubs},
        "checks": {p.id: verification.history(session, p.id, limit=10) for p in pubs if p.url},
        "can_retract_all": any("retract" in a for a in offered.values()),
        "now": now,
        "overdue": overdue,
    }


@router.get("/items/{submission_id}", response_class=HTMLResponse)
def item(request: Request, submission_id: RowId, who: Who) -> HTMLResponse:
    with get_app().db.read() as session:
        try:
            submission = submissions.get(session, submission_id)
        except NotFound as missing:
            return page(request, "item_missing.html", who, 404, message=missing.message)
        # rendered inside the session: the template walks relationships
        return page(
            request,
            "item.html",
            who,
            versions=version_views(list(submission.versions)),
            **_item_live(session, submission, who),
        )


@router.get("/items/{submission_id}/live", response_class=HTMLResponse)
def item_fragment(request: Request, submission_id: RowId, who: Who) -> HTMLResponse:
    """The item page's block "live", polled by console.js as the board polls its rows."""
    with get_app().db.read() as session:
        submission = submissions.get(session, submission_id)
        context = {"request": request, "csrf_token": who.csrf_token or ""}
        template = templates.get_template("item.html")
        live = template.blocks["live"](
            template.new_context(context | _item_live(session, submission, who))
        )
        return HTMLResponse("".join(live))


def _back(submission_id: int, pub_id: int | None = None) -> RedirectResponse:
    anchor = f"#pub-{pub_id}" if pub_id else ""
    return RedirectResponse(f"/items/{submission_id}{anchor}", status_code=303)


def _signed_day(session: Session, pub: Publication) -> dict[str, Any] | None:
    """The day a row may go out, and who moved it there by a signed 改期 (None: unsigned)."""
    try:
        day, amendment = amendments.signed_day(session, pub)
    except SanshenError:
        return None
    if amendment is None:
        return {"day": day, "by": None}
    return {"day": day, "by": amendment.actor.name, "at": amendment.acted_at}


@router.post("/items/{submission_id}/publications/{pub_id}/{action}")
def publication_action(
    submission_id: RowId,
    pub_id: RowId,
    action: str,
    who: Who,
    reason: FormText = "",
    when: FormText = "",
    now: FormFlag = False,
    url: FormText = "",
    checked: FormFlag = False,
    new_date: FormText = "",
    at: FormText = "",
    password: FormText = "",
) -> Response:
    with get_app().db.read() as session:
        pub = session.get(Publication, pub_id)
        if pub is None or pub.submission_id != submission_id:
            raise NotFound(f"稿件 {submission_id} 没有发布 {pub_id}", code="unknown_publication")
        channel = pub.channel
    label = channel_label(channel)
    try:
        form = ActionForm(reason, when, now, url, checked, new_date, at, password)
        done = act(action, pub_id, channel, who, form)
    except SanshenError as refusal:
        return flash(_back(submission_id, pub_id), f"{label}：{refusal.message}", "error")
    return flash(_back(submission_id, pub_id), f"{label}：{done}")


@router.post("/items/{submission_id}/retract-all")
def retract_all(submission_id: RowId, who: Who, reason: FormText = "") -> Response:
    try:
        if not reason.strip():
            raise InvalidInput("撤稿必须填写原因", code="reason_required")
        results = publisher().retract_all(submission_id, reason=reason, actor=who.username)
    except SanshenError as refusal:
        return flash(_back(submission_id), refusal.message, "error")
    failed = any(r != State.RETRACTED.value for r in results.values())
    # each result is "retracted" or "<code>: <message>"
    outcome = {
        c: "已撤稿" if r == State.RETRACTED.value else r.partition(": ")[2] or r
        for c, r in results.items()
    }
    text = "；".join(f"{channel_label(c)}：{said}" for c, said in outcome.items())
    return flash(_back(submission_id), text, "error" if failed else "ok")
