"""Review and sign-off: each decision is signed with the reviewer's key, unlocked by password.

The gate's own rules decide what a new action may be: the candidate action is put into the
record and judged before anything is written, so the services never restate a review rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

import gate.model as g
from gate import Policy, Verdict, evaluate, next_stage
from gate.aids import review_aids
from gate.canonical import fingerprint, signing_payload
from orchestrator import attest, audit, keys
from orchestrator.app import App
from orchestrator.blobs import BlobStore, sniff_mime
from orchestrator.errors import Conflict, Forbidden, GateRefused
from orchestrator.models import Person, ReviewAction, Submission, Version
from orchestrator.permissions import holds
from orchestrator.services import dispatch
from orchestrator.services.org import person_by_username
from orchestrator.services.submissions import content_of, get

CANDIDATE = "candidate"


def _person(person: Person) -> g.Person:
    return g.Person(
        id=person.username,
        name=person.name,
        public_key=person.public_key,
        assignments=tuple(
            g.RoleAssignment(g.Role(a.role), a.valid_from, a.valid_until)
            for a in person.assignments
        ),
        department=person.department.code if person.department else None,
    )


def _action(submission: Submission, row: ReviewAction) -> g.ReviewAction:
    return g.ReviewAction(
        submission_id=submission.uid,
        fingerprint=row.fingerprint,
        stage=g.ReviewStage(row.stage),
        decision=g.Decision(row.decision),
        actor_id=row.actor.username,
        acted_at=row.acted_at,
        signature=row.signature,
        comment=row.comment,
        id=str(row.id),
    )


def review_record(
    submission: Submission,
    version: Version | None = None,
    extra: tuple[g.ReviewAction, ...] = (),
    extra_people: tuple[Person, ...] = (),
) -> g.ReviewRecord:
    """The gate's view of a submission's version and every action recorded on the submission."""
    version = version or submission.current
    people = {
        p.username: _person(p)
        for p in [submission.author, *(a.actor for a in submission.actions), *extra_people]
    }
    return g.ReviewRecord(
        submission_id=submission.uid,
        department=submission.department.code,
        author_id=submission.author.username,
        content=content_of(version),
        actions=tuple(_action(submission, a) for a in submission.actions) + extra,
        people=people,
    )


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
) -> Outcome:
    """Record one signed decision, or refuse it whole (nothing written) with the reason."""
    now = now or datetime.now(UTC)
    submission = get(session, submission_id)
    person = person_by_username(session, actor)
    record = review_record(submission)
    _refuse_out_of_turn(record, policy, stage, now)
    if not holds(person, policy.roles_for(stage), now):
        roles = "、".join(sorted(r.label for r in policy.roles_for(stage)))
        raise Forbidden(
            f"{person.name}不具有{stage.label}所需的角色（{roles}）", code="role_not_held"
        )
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
    signature = keys.sign(_sealed(person), password, _payload(candidate))
    signed = replace(candidate, signature=signature)
    after = evaluate(
        review_record(submission, extra=(signed,), extra_people=(person,)), policy, now=now
    )
    _refuse_personal(after)
    if stage is g.ReviewStage.SIGN_OFF and decision is g.Decision.APPROVE and not after.passed:
        raise GateRefused(
            "审核闸门未通过，不能签发：" + "；".join(v.message for v in after.violations),
            details=[v.code for v in after.violations],
        )
    row = ReviewAction(
        submission=submission,
        version_id=version.id,
        fingerprint=candidate.fingerprint,
        stage=stage.value,
        decision=decision.value,
        actor=person,
        acted_at=now,
        comment=comment,
        signature=signature,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        f"review.{decision.value}",
        actor=actor,
        subject=f"submission:{submission.id}",
        payload={
            "stage": stage.value,
            "version": version.number,
            "fingerprint": candidate.fingerprint,
            "action": row.id,
            "signature": signature.hex(),
            "row": attest.claim(row),
        },
        at=now,
    )
    session.refresh(submission, ["actions"])
    if stage is g.ReviewStage.SIGN_OFF and after.passed:
        dispatch.create_publications(
            session, version, default_time=default_publish_time, now=now, actor=actor
        )
        from orchestrator.reports import archive  # the 审批表 and content, kept with the sign-off

        archive.archive_sign_off(
            session, app or archive.app_for(session), submission.id, actor=actor, now=now
        )
    waiting = next_stage(review_record(submission), policy, now=now)
    return Outcome(row, after, waiting)


def _payload(action: g.ReviewAction) -> bytes:
    return signing_payload(
        submission_id=action.submission_id,
        fingerprint=action.fingerprint,
        stage=action.stage,
        decision=action.decision,
        acted_at=action.acted_at,
        comment=action.comment,
    )


def _sealed(person: Person) -> keys.SealedKey:
    return keys.SealedKey(
        person.public_key,
        person.sealed_private_key,
        person.kdf_salt,
        person.kdf_opslimit,
        person.kdf_memlimit,
    )


# Violations about the new action itself: who may not sign this stage.
_PERSONAL = {"same_person_multiple_stages", "author_reviewed_later_stage", "role_not_held"}


def _refuse_personal(verdict: Verdict) -> None:
    for v in verdict.violations:
        if v.action_id == CANDIDATE and v.code in _PERSONAL:
            raise Forbidden(v.message, code=v.code)


def check(
    session: Session,
    submission_id: int,
    *,
    policy: Policy,
    store: BlobStore,
    sensitive_words: tuple[str, ...],
    now: datetime | None = None,
) -> tuple[Verdict, g.ReviewStage | None, list[dict[str, str]]]:
    """The gate's verdict on the current version, what waits, and the reviewer aids."""
    now = now or datetime.now(UTC)
    submission = get(session, submission_id)
    record = review_record(submission)
    verdict = evaluate(record, policy, now=now)
    aids = [
        {"code": a.code, "message": a.message, "excerpt": a.excerpt}
        for a in review_aids(
            record.content,
            sensitive_words=sensitive_words,
            today=now.astimezone(ZoneInfo("Asia/Shanghai")).date(),
        )
    ]
    aids.extend(image_aids(submission.current, store))
    return verdict, next_stage(record, policy, now=now), aids


def image_aids(version: Version, store: BlobStore) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    named = [(i.filename, i.sha256) for i in version.images]
    if version.cover_sha256:
        named.append(("封面", version.cover_sha256))
    for name, sha in named:
        data = store.get(sha)
        if data is None:
            found.append(
                {
                    "code": "image_missing",
                    "message": f"图片“{name}”缺失或已损坏",
                    "excerpt": sha[:12],
                }
            )
        elif sniff_mime(data) == "application/octet-stream":
            found.append(
                {
                    "code": "image_unreadable",
                    "message": f"图片“{name}”无法识别（不是 JPG/PNG/GIF）",
                    "excerpt": sha[:12],
                }
            )
    return found
