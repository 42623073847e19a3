"""Review and sign-off: each decision is signed with the reviewer's key, unlocked by password.

The gate's own rules decide what a new action may be: the candidate action is put into the
record and judged before anything is written, so the services never restate a review rule.
What a sign-off adds (the publication rows, the archived 审批表) is in `sign_off`; 稿件用途's
change of the 审批表 rows in `usage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

import gate.model as g
from gate import Policy, Verdict, evaluate, next_stage
from gate.canonical import fingerprint
from gate.rules import ReviewContext, role_problem
from gate.signature import payload_of
from orchestrator import attest, audit
from orchestrator.app import App
from orchestrator.documents.archive import app_for
from orchestrator.errors import Conflict, Forbidden, GateRefused, InvalidInput
from orchestrator.models import Person, ReviewAction, Submission, Version
from orchestrator.permissions import person_by_username
from orchestrator.services.record import gate_person, review_record
from orchestrator.services.review.sign_off import complete_sign_off, refuse_past_dates
from orchestrator.services.review.usage import change_rows, rows_differ
from orchestrator.services.signing import CANDIDATE, signed_by
from orchestrator.services.submissions import get


@dataclass
class Outcome:
    action: ReviewAction
    verdict: Verdict
    waiting: g.ReviewStage | None


def _refuse_out_of_turn(
    record: g.ReviewRecord, policy: Policy, stage: g.ReviewStage, now: datetime
) -> None:
    waiting = next_stage(record, policy, now=now)
    if waiting == stage:
        return
    if waiting is None:
        verdict = evaluate(record, policy, now=now)
        if "version_rejected" in verdict.codes:
            raise Conflict("本版本已被驳回，请修改稿件后提交新版本再审", code="version_rejected")
        raise Conflict("本版本已完成全部审核并签发，无需再审", code="review_complete")
    context = ReviewContext(record, policy, now)
    if stage not in context.required_stages:
        carried = "转载本单位已审稿件，沿用原稿的审核；" if record.original is not None else ""
        raise Conflict(
            f"本稿无需{stage.label}（{carried}当前等待{waiting.label}）", code="stage_not_required"
        )
    approved_before = stage.rank < waiting.rank
    raise Conflict(
        f"{stage.label}已通过，当前等待{waiting.label}"
        if approved_before
        else f"当前等待{waiting.label}，尚不能进行{stage.label}",
        code="duplicate_approval" if approved_before else "stage_out_of_order",
    )


def review(
    session: Session,
    submission_id: int,
    *,
    stage: g.ReviewStage,
    decision: g.Decision,
    actor: str,
    password: str,
    policy: Policy,
    comment: str = "",
    now: datetime | None = None,
    default_publish_time: str = "09:00",
    app: App | None = None,
    rows: list[g.ChannelRequest] | None = None,
) -> Outcome:
    """Record one signed decision, or refuse it whole (nothing written) with the reason.

    `rows`: 稿件用途's 审批表 (综合科 decides where the item goes); when they differ from the
    current version's, a new version with them is made first (same content, the earlier
    reviews carried over) and the decision signs that one."""
    now = now or datetime.now(UTC)
    submission = get(session, submission_id)
    person = person_by_username(session, actor)
    record = review_record(submission)
    _refuse_out_of_turn(record, policy, stage, now)
    refuse_out_of_scope(person, stage, submission, policy, now)
    if stage is g.ReviewStage.USAGE and decision is g.Decision.REJECT:
        raise InvalidInput(
            "稿件用途只能确定用途或退回科室；内容问题由前面的审核驳回", code="decision_not_allowed"
        )
    if rows is not None:
        if stage is not g.ReviewStage.USAGE or decision is not g.Decision.APPROVE:
            raise InvalidInput(
                "只有稿件用途的“通过”可以调整审批表的发布形式", code="rows_only_for_usage"
            )
        if rows_differ(rows, record.content.channels):
            app = app or app_for(session)
            change_rows(session, app, submission, person, rows, ReviewContext(record, policy, now))
            record = review_record(submission)
    signing_off = stage is g.ReviewStage.SIGN_OFF and decision is g.Decision.APPROVE
    if signing_off:
        refuse_past_dates(submission.current, now, policy)
        app = app or app_for(session)
    version = submission.current
    candidate = g.ReviewAction(
        submission_id=submission.uid,
        fingerprint=fingerprint(record.content),
        stage=stage,
        decision=decision,
        actor_id=person.username,
        acted_at=now,
        signature=b"",
        comment=comment,
        id=CANDIDATE,
    )
    signed = signed_by(person, password, candidate, payload_of)
    store = app.blobs if signing_off and app is not None else None
    after = evaluate(
        review_record(submission, extra=(signed,), extra_people=(person,), store=store),
        policy,
        now=now,
    )
    _refuse_personal(after)
    if signing_off and not after.passed:
        raise GateRefused(
            "审核闸门未通过，不能签发：" + "；".join(v.message for v in after.violations),
            details=[v.code for v in after.violations],
        )
    row = _write_action(session, submission, version, signed, person, actor)
    if signing_off and after.passed:
        assert app is not None
        complete_sign_off(
            session, app, version, actor=actor, now=now, default_time=default_publish_time
        )
    waiting = next_stage(review_record(submission), policy, now=now)
    return Outcome(row, after, waiting)


def _write_action(
    session: Session,
    submission: Submission,
    version: Version,
    signed: g.ReviewAction,
    person: Person,
    actor: str,
) -> ReviewAction:
    """The signed action's row and its audit entry (with the row's attested claim)."""
    row = ReviewAction(
        submission=submission,
        version_id=version.id,
        fingerprint=signed.fingerprint,
        stage=signed.stage.value,
        decision=signed.decision.value,
        actor=person,
        acted_at=signed.acted_at,
        comment=signed.comment,
        signature=signed.signature,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        f"review.{signed.decision.value}",
        actor=actor,
        subject=f"submission:{submission.id}",
        payload={
            "stage": signed.stage.value,
            "version": version.number,
            "fingerprint": signed.fingerprint,
            "action": row.id,
            "signature": signed.signature.hex(),
            "row": attest.claim(row),
        },
        at=signed.acted_at,
    )
    session.refresh(submission, ["actions"])
    return row


def who_may(stage: g.ReviewStage, department_name: str, policy: Policy) -> str:
    """Who may act at `stage` on an item of the named department, for people to read."""
    roles = "、".join(sorted(r.label for r in policy.roles_for(stage)))
    if not policy.scoped(stage):
        return roles
    if policy.roles_for(stage) == frozenset({g.Role.LEADER_IN_CHARGE}):
        return f"分管{department_name}的分管领导"
    return f"{department_name}的{roles}"


def refuse_out_of_scope(
    person: Person, stage: g.ReviewStage, submission: Submission, policy: Policy, now: datetime
) -> None:
    """Refuse, before anything is signed, a person whose roles do not allow `stage` on this
    item now: the gate's own rule (`role_problem`), with the reason in words."""
    department = submission.department
    code = role_problem(gate_person(person), stage, department.code, policy, now)
    if code is None:
        return
    who = who_may(stage, department.name, policy)
    if code == "role_out_of_scope":
        message = f"{person.name}不负责{department.name}的稿件：{stage.label}须由{who}办理"
    else:
        message = f"{person.name}不具有{stage.label}所需的角色：{stage.label}须由{who}办理"
    raise Forbidden(message, code=code)


# Violations about the new action itself: who may not sign this stage.
_PERSONAL = {
    "same_person_multiple_stages",
    "author_reviewed_later_stage",
    "role_not_held",
    "role_out_of_scope",
}


def _refuse_personal(verdict: Verdict) -> None:
    for v in verdict.violations:
        if v.action_id == CANDIDATE and v.code in _PERSONAL:
            raise Forbidden(v.message, code=v.code)
