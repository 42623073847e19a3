"""A submission as /api/v1 shows it: its state in the review (审核中, 已退回, 已驳回, 已签发),
its versions, the reviews of each, and the stage it waits for."""

from __future__ import annotations

from sqlalchemy.orm import object_session

from gate import next_stage
from gate.model import STAGE_LABELS, Decision, ReviewStage
from orchestrator.models import Person, Submission, Version
from orchestrator.services import review
from orchestrator.web.deps import get_app
from orchestrator.web.v1.shared import channel_label, local, utc_now
from orchestrator.web.v1.submission_schemas import (
    ChannelRowOut,
    ImageOut,
    RepostSourceOut,
    ReviewOut,
    SubmissionItem,
    SubmissionOut,
    VersionOut,
    VersionSummary,
)

STATE_LABELS = {
    "in_review": "审核中",
    "returned": "已退回",
    "rejected": "已驳回",
    "signed_off": "已签发",
}


def state_of(decision: str | None, stage: str | None) -> str:
    """The state the last review of the current version leaves the submission in."""
    if decision == Decision.REJECT.value:
        return "rejected"
    if decision == Decision.RETURN.value:
        return "returned"
    if decision == Decision.APPROVE.value and stage == ReviewStage.SIGN_OFF.value:
        return "signed_off"
    return "in_review"


def version_summary(v: Version) -> VersionSummary:
    session = object_session(v)
    creator = session.get(Person, v.created_by_id) if session is not None else None
    return VersionSummary(
        number=v.number,
        fingerprint=v.fingerprint,
        title=v.title,
        created_by=creator.username if creator else str(v.created_by_id),
        created_at=v.created_at,
        created_at_local=local(v.created_at),
    )


def version_out(v: Version) -> VersionOut:
    return VersionOut(
        **version_summary(v).model_dump(),
        body_html=v.body_html,
        digest=v.digest,
        byline=v.byline,
        major_event=v.major_event,
        special_content=v.special_content,
        cover_sha256=v.cover_sha256,
        channels=[
            ChannelRowOut(
                channel=c.channel,
                channel_label=channel_label(c.channel),
                publish_date=c.publish_date,
                remark=c.remark,
            )
            for c in v.channels
        ],
        images=[ImageOut(filename=i.filename, sha256=i.sha256) for i in v.images],
        repost_source=RepostSourceOut(
            platform=v.repost_platform, url=v.repost_url, published_at=v.repost_published_at
        )
        if v.repost_platform and v.repost_url and v.repost_published_at
        else None,
    )


def submission_item(sub: Submission, state: str) -> SubmissionItem:
    return SubmissionItem(
        id=sub.id,
        uid=sub.uid,
        title=sub.current.title,
        department=sub.department.code,
        department_name=sub.department.name,
        author=sub.author.username,
        version=sub.current.number,
        state=state,  # type: ignore[arg-type]
        state_label=STATE_LABELS[state],
        created_at=sub.created_at,
        created_at_local=local(sub.created_at),
    )


def submission_out(sub: Submission) -> SubmissionOut:
    current = sub.current
    numbers = {v.id: v.number for v in sub.versions}
    on_current = [a for a in sub.actions if a.version_id == current.id]
    last = on_current[-1] if on_current else None
    state = state_of(last.decision if last else None, last.stage if last else None)
    waiting = next_stage(review.review_record(sub), get_app().policy, now=utc_now())
    return SubmissionOut(
        **submission_item(sub, state).model_dump(),
        waiting=waiting.value if waiting else None,
        waiting_label=waiting.label if waiting else None,
        repost_of=sub.repost_of_id,
        current=version_out(current),
        versions=[version_summary(v) for v in sub.versions],
        reviews=[
            ReviewOut(
                id=a.id,
                stage=a.stage,
                stage_label=STAGE_LABELS[ReviewStage(a.stage)],
                decision=a.decision,
                decision_label=Decision(a.decision).label,
                actor=a.actor.username,
                actor_name=a.actor.name,
                acted_at=a.acted_at,
                acted_at_local=local(a.acted_at),
                comment=a.comment,
                version=numbers.get(a.version_id, 0),
                for_current_version=a.fingerprint == current.fingerprint,
            )
            for a in sub.actions
        ],
    )
