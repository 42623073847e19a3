"""Review and sign-off: the item with its preview, review aids and history, the stage that
waits and whether it waits for this person; the signed decision, refused on the same page with
what was typed."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from gate.model import ChannelRequest, Decision, ReviewStage
from gate.rules import ReviewContext
from orchestrator.app import App
from orchestrator.errors import NotFound, SanshenError
from orchestrator.models import Publication, Submission
from orchestrator.services import review, submissions
from orchestrator.services.hub import ChannelHub
from orchestrator.web import auth
from orchestrator.web.auth import Principal
from orchestrator.web.console.common import Who, form_text, person_of, status_of, utc_now
from orchestrator.web.console.review_form import (
    parse_review,
    usage_decided,
    usage_rows,
    usage_typed,
)
from orchestrator.web.console.todo import aids_for, waiting_stage
from orchestrator.web.deps import RowId, get_app
from orchestrator.web.templating import flash, page

router = APIRouter(include_in_schema=False)


def preview_html(sub: Submission) -> str:
    """The body with stored-image srcs pointing at this submission's image route. It is shown
    in a sandboxed frame without scripts: the body is the author's HTML."""
    return re.sub(
        re.escape(submissions.IMAGE_SRC_PREFIX) + r"([0-9a-f]{64})",
        lambda m: f"/submissions/{sub.id}/images/{m.group(1)}",
        sub.current.body_html,
    )


def review_context(session: Session, app: App, sub_id: int, who: Principal) -> dict[str, Any]:
    now = utc_now()
    sub = submissions.get(session, sub_id)
    person = person_of(session, who)
    context = ReviewContext(review.review_record(sub), app.policy, now)
    stage = context.next_stage()
    mine = waiting_stage(sub, person, app, now)
    roles = review.who_may(stage, sub.department.name, app.policy) if stage else ""
    current = sub.current
    return {
        "submission": sub,
        "version": current,
        "stage": stage,
        "may_act": mine is not None,
        "stage_roles": roles,
        "carried": review.carried(sub, context),
        "usage_rows": usage_rows(current) if stage is ReviewStage.USAGE else [],
        "preview": preview_html(sub),
        "actions": [
            {
                "row": a,
                "stage": ReviewStage(a.stage).label,
                "decision": Decision(a.decision).label,
                "current": a.fingerprint == current.fingerprint,
            }
            for a in sub.actions
        ],
        "publications": list(
            session.scalars(
                select(Publication)
                .where(Publication.version_id == current.id)
                .order_by(Publication.id)
            )
        ),
        "decisions": list(Decision),
        **aids_for(session, app, sub_id, ChannelHub()),
    }


def _review_page(
    request: Request,
    who: Principal,
    sub_id: int,
    *,
    error: SanshenError | None = None,
    typed: dict[str, str] | None = None,
    form: FormData | None = None,
) -> Response:
    app = get_app()
    with app.db.read() as session:
        context = review_context(session, app, sub_id, who)
        if form is not None and context["usage_rows"] and form_text(form, "stage") == "usage":
            context["usage_rows"] = usage_typed(form, context["usage_rows"])
        return page(
            request,
            "work_review.html",
            who,
            status_code=status_of(error) if error else 200,
            error=error,
            typed=typed or {},
            **context,
        )


@router.get("/submissions/{sub_id}/review", response_class=HTMLResponse)
async def review_form(request: Request, sub_id: RowId, who: Who) -> Response:
    return await run_in_threadpool(_review_page, request, who, sub_id)


def record_decision(
    sub_id: int,
    who: Principal,
    stage: ReviewStage,
    decision: Decision,
    comment: str,
    pw: str,
    rows: list[ChannelRequest] | None = None,
) -> review.Outcome:
    app = get_app()
    with auth.signing_guard(app.db, who.username, app.settings), app.db.session() as session:
        return review.review(
            session,
            sub_id,
            stage=stage,
            decision=decision,
            actor=who.username,
            password=pw,
            policy=app.policy,
            default_publish_time=app.settings.default_publish_time,
            comment=comment,
            app=app,  # archives the signed form at sign-off
            rows=rows,
        )


def _done_message(sub_id: int, stage: ReviewStage, decision: Decision, out: Any) -> str:
    said = f"稿件 {sub_id}：已记录{stage.label}{decision.label}"
    if out.verdict.passed:
        return said + "。审核闸门通过，已生成各渠道发布计划"
    if out.waiting is not None:
        return said + f"，下一步：{out.waiting.label}"
    return said


@router.post("/submissions/{sub_id}/review", response_class=HTMLResponse)
async def review_submit(request: Request, sub_id: RowId, who: Who) -> Response:
    form = await request.form()
    comment = form_text(form, "comment")
    typed = {"decision": form_text(form, "decision"), "comment": comment}
    try:
        stage, decision = parse_review(form)
        usage = stage is ReviewStage.USAGE and decision is Decision.APPROVE
        rows = usage_decided(form) if usage else None
        outcome = await run_in_threadpool(
            record_decision,
            sub_id,
            who,
            stage,
            decision,
            comment,
            form_text(form, "password"),
            rows,
        )
    except SanshenError as error:
        if isinstance(error, NotFound):
            raise
        return await run_in_threadpool(
            _review_page, request, who, sub_id, error=error, typed=typed, form=form
        )
    target = f"/items/{sub_id}" if outcome.verdict.passed else "/todo"
    message = _done_message(sub_id, stage, decision, outcome)
    return flash(RedirectResponse(target, status_code=303), message)
