"""/api/v1/submissions/{id}/reviews and /gate: a review, 稿件用途 or 签发 signed with the
reviewer's key, and the gate's verdict with its violations, the reviewer aids and each
channel's problems."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from gate.model import Decision, ReviewStage
from orchestrator.models import Publication
from orchestrator.services import prechecks, review, submissions
from orchestrator.web import auth
from orchestrator.web.deps import RowId, Who, get_app
from orchestrator.web.refusals import ApiRoute, answer_other_methods, refusals
from orchestrator.web.schemas import StrictBody, Text
from orchestrator.web.v1.drafts import channel_requests
from orchestrator.web.v1.submission_schemas import ChannelIn

router = APIRouter(prefix="/api/v1", tags=["审核"], route_class=ApiRoute)


class ReviewIn(StrictBody):
    stage: Literal["first", "second", "final", "principal", "usage", "sign_off"]
    decision: Literal["approve", "return", "reject"]
    comment: Text = Field(default="", max_length=5000)
    password: Text = Field(min_length=1, max_length=1024, description="再次输入密码以解锁签名私钥")
    channels: list[ChannelIn] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="稿件用途（usage 且 approve）：综合科决定的审批表行；缺省保持科室申请的行",
    )


class ReviewResult(BaseModel):
    action: int
    version: int
    stage: str
    decision: str
    signature: str
    waiting: str | None
    waiting_label: str | None
    gate_passed: bool
    publications: list[int]


class ViolationOut(BaseModel):
    code: str
    message: str
    stage: str | None
    action: str
    publication: str = Field(default="", description="所涉发布记录（如 P12），无则为空")


class AidOut(BaseModel):
    code: str
    message: str
    excerpt: str


class ChannelProblemOut(BaseModel):
    channel: str
    code: str
    message: str
    field: str


class GateOut(BaseModel):
    submission: int
    passed: bool
    waiting: str | None
    waiting_label: str | None
    violations: list[ViolationOut]
    aids: list[AidOut]
    channel_problems: list[ChannelProblemOut]


@router.post(
    "/submissions/{submission_id}/reviews",
    response_model=ReviewResult,
    responses=refusals(403, 404, 409),
    status_code=201,
)
def post_review(submission_id: RowId, body: ReviewIn, who: Who) -> ReviewResult:
    """初审/复审/终审/主要领导审定, 稿件用途 (stage usage, 综合科: `channels` are the rows it
    decides; a new version when they differ, the earlier reviews kept) or 签发 (stage sign_off);
    the password unlocks the key."""
    app = get_app()
    rows = None if body.channels is None else channel_requests(body.channels)
    with auth.signing_guard(app.db, who.username, app.settings), app.db.session() as session:
        outcome = review.review(
            session,
            submission_id,
            stage=ReviewStage(body.stage),
            decision=Decision(body.decision),
            actor=who.username,
            password=body.password,
            policy=app.policy,
            comment=body.comment,
            default_publish_time=app.settings.default_publish_time,
            app=app,  # archives the signed form at sign-off
            rows=rows,
        )
        created = session.scalars(
            select(Publication.id)
            .where(Publication.version_id == outcome.action.version_id)
            .order_by(Publication.id)
        ).all()
        return ReviewResult(
            action=outcome.action.id,
            version=submissions.get(session, submission_id).current.number,
            stage=body.stage,
            decision=body.decision,
            signature=outcome.action.signature.hex(),
            waiting=outcome.waiting.value if outcome.waiting else None,
            waiting_label=outcome.waiting.label if outcome.waiting else None,
            gate_passed=outcome.verdict.passed,
            publications=list(created),
        )


@router.get(
    "/submissions/{submission_id}/gate",
    response_model=GateOut,
    responses=refusals(404),
)
def gate_check(submission_id: RowId, who: Who) -> GateOut:
    """The gate's verdict with every violation, the reviewer aids and each channel's problems."""
    app = get_app()
    with app.db.read() as session:
        verdict, waiting, aids = review.check(
            session,
            submission_id,
            policy=app.policy,
            store=app.blobs,
            sensitive_words=app.sensitive_words,
        )
        problems = prechecks.channel_problems(session, app, submission_id)
    return GateOut(
        submission=submission_id,
        passed=verdict.passed,
        waiting=waiting.value if waiting else None,
        waiting_label=waiting.label if waiting else None,
        violations=[
            ViolationOut(
                code=v.code,
                message=v.message,
                stage=v.stage.value if v.stage else None,
                action=v.action_id,
                publication=v.publication,
            )
            for v in verdict.violations
        ],
        aids=[AidOut(**a) for a in aids],
        channel_problems=[ChannelProblemOut(**p) for p in problems],
    )


answer_other_methods(router)
