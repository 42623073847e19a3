"""Review and sign-off: each decision is signed with the reviewer's key, unlocked by password.

The gate's own rules decide what a new action may be: the candidate action is put into the
record and judged before anything is written, so the services never restate a review rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

import gate.model as g
from gate import Policy, Verdict, evaluate, next_stage
from gate.aids import review_aids
from gate.canonical import fingerprint, signing_payload
from gate.rules import ReviewContext, role_problem
from orchestrator import attest, audit, keys
from orchestrator.app import App
from orchestrator.blobs import BlobStore, sniff_mime
from orchestrator.errors import Conflict, Forbidden, GateRefused, InvalidInput
from orchestrator.models import (
    DateAmendment,
    Person,
    Publication,
    ReviewAction,
    RoleAssignment,
    Submission,
    Version,
)
from orchestrator.services import dispatch, submissions
from orchestrator.services.org import person_by_username
from orchestrator.services.submissions import content_of, get

CANDIDATE = "candidate"


def gate_person(person: Person) -> g.Person:
    """The gate's view of a person: key, dated roles and the departments each role covers."""
    return g.Person(
        id=person.username,
        name=person.name,
        public_key=person.public_key,
        assignments=tuple(_assignment(a) for a in person.assignments),
        department=person.department.code if person.department else None,
    )


def _assignment(row: RoleAssignment) -> g.RoleAssignment:
    return g.RoleAssignment(
        g.Role(row.role),
        row.valid_from,
        row.valid_until,
        departments=None if row.department is None else frozenset({row.department.code}),
        acting_for=row.acting_for.username if row.acting_for else "",
    )


def _amendment(submission: Submission, row: DateAmendment) -> g.DateAmendment:
    return g.DateAmendment(
        submission_id=submission.uid,
        fingerprint=row.fingerprint,
        channel=row.channel,
        old_date=row.old_date,
        new_date=row.new_date,
        actor_id=row.actor.username,
        acted_at=row.acted_at,
        signature=row.signature,
        comment=row.comment,
        id=str(row.id),
    )


def stored_images(version: Version, store: BlobStore) -> dict[str, str | None]:
    """What the store holds under each image hash of the version: the SHA-256 of the bytes
    actually there, or None when the file is missing."""
    named = [i.sha256 for i in version.images] + [c for c in [version.cover_sha256] if c]
    return {sha: store.actual_sha256(sha) for sha in dict.fromkeys(named)}


def publication_row(pub: Publication, origin_problem: str = "") -> g.PublicationRow:
    return g.PublicationRow(f"P{pub.id}", pub.channel, pub.scheduled_at, origin_problem)


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
    *,
    store: BlobStore | None = None,
    publications: Iterable[Publication] = (),
    origin: Callable[[Publication], str] | None = None,
    extra_amendments: tuple[g.DateAmendment, ...] = (),
) -> g.ReviewRecord:
    """The gate's view of a submission's version, every action and 改期 recorded on the
    submission, the stored images' real hashes (when `store` is given: without it the gate
    refuses content with images) and the publication rows to check against the signed rows
    (`origin` says what is wrong with where a row came from, "" when nothing)."""
    version = version or submission.current
    amendments = submission.amendments
    original = _original_record(submission, store)
    actors = [*(a.actor for a in submission.actions), *(a.actor for a in amendments)]
    people = {p.username: gate_person(p) for p in [submission.author, *actors, *extra_people]}
    return g.ReviewRecord(
        submission_id=submission.uid,
        department=submission.department.code,
        author_id=submission.author.username,
        content=content_of(version),
        actions=tuple(_action(submission, a) for a in submission.actions) + extra,
        people=people,
        stored_images=None if store is None else stored_images(version, store),
        publications=tuple(publication_row(p, origin(p) if origin else "") for p in publications),
        amendments=tuple(_amendment(submission, a) for a in amendments) + extra_amendments,
        original=original,
        reviewed_as=content_of(version.reviewed_version) if version.reviewed_version else None,
        usage_exempt=version.usage_exempt,
    )


def original_version(submission: Submission) -> Version | None:
    """For a repost drafted from an adoption of our own item: the original's version that
    went upward (and was adopted). None for any other submission."""
    if submission.repost_of_id is None or submission.repost_origin_id is None:
        return None
    session = object_session(submission)
    upward = session.get(Publication, submission.repost_of_id) if session else None
    if upward is None or upward.submission_id != submission.repost_origin_id:
        return None
    return upward.version


@dataclass(frozen=True)
class Carried:
    """What a repost of our own item takes from its original, for the pages: the original's
    submission and version, and why its reviews cannot stand ("" when they carry the repost)."""

    submission_id: int
    version_number: int
    problem: str


def carried(submission: Submission, context: ReviewContext) -> Carried | None:
    version = original_version(submission)
    if version is None:
        return None
    return Carried(version.submission_id, version.number, context.original_problem)


def _original_record(submission: Submission, store: BlobStore | None) -> g.ReviewRecord | None:
    """The original's record, for the gate to judge whether its reviews carry the repost."""
    version = original_version(submission)
    return None if version is None else review_record(version.submission, version, store=store)


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
        if _rows(rows) != _rows(record.content.channels):
            app = app or _app_for(session)
            reviewed = _reviewed_version(submission, ReviewContext(record, policy, now))
            _usage_version(session, app, submission, person, rows, reviewed, now)
            record = review_record(submission)
    signing_off = stage is g.ReviewStage.SIGN_OFF and decision is g.Decision.APPROVE
    if signing_off:
        _refuse_past_dates(submission.current, now, policy)
        app = app or _app_for(session)
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
    signature = keys.sign(sealed_key(person), password, _payload(candidate))
    signed = replace(candidate, signature=signature)
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
    if signing_off and after.passed:
        assert app is not None
        dispatch.create_publications(
            session,
            version,
            default_time=default_publish_time,
            now=now,
            actor=actor,
            hold_days=app.settings.upward_hold_days,
        )
        from orchestrator.reports import archive  # the 审批表 and content, kept with the sign-off

        archive.archive_sign_off(session, app, submission.id, actor=actor, now=now)
    waiting = next_stage(review_record(submission), policy, now=now)
    return Outcome(row, after, waiting)


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
            "reviewed_version": version.reviewed_version.number,
            "rows_before": [
                [c.channel, c.publish_date.isoformat(), c.remark] for c in current.channels
            ],
            "rows": [[r.channel, r.publish_date.isoformat(), r.remark] for r in rows],
        },
        at=now,
    )
    return version


def _app_for(session: Session) -> App:
    from orchestrator.reports import archive  # reports import this module: a late import

    return archive.app_for(session)


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


def _refuse_past_dates(version: Version, now: datetime, policy: Policy) -> None:
    today = now.astimezone(policy.zone).date()
    past = [row for row in version.channels if row.publish_date < today]
    if past:
        rows = "、".join(f"{r.channel}（{r.publish_date.isoformat()}）" for r in past)
        raise Conflict(
            f"审批表中的发布日期已过：{rows}。请修改稿件的发布日期后再送审签发",
            code="publish_date_past",
        )


def _payload(action: g.ReviewAction) -> bytes:
    return signing_payload(
        submission_id=action.submission_id,
        fingerprint=action.fingerprint,
        stage=action.stage,
        decision=action.decision,
        acted_at=action.acted_at,
        comment=action.comment,
    )


def sealed_key(person: Person) -> keys.SealedKey:
    return keys.SealedKey(
        person.public_key,
        person.sealed_private_key,
        person.kdf_salt,
        person.kdf_opslimit,
        person.kdf_memlimit,
    )


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
    record = review_record(
        submission,
        store=store,
        publications=live_rows(session, submission.current),
        origin=lambda pub: origin_problem(session, pub),
    )
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


def live_rows(session: Session, version: Version) -> list[Publication]:
    """The version's publication rows that went or may still go out (not cancelled)."""
    return list(
        session.scalars(
            select(Publication)
            .where(Publication.version_id == version.id, Publication.state != "cancelled")
            .order_by(Publication.id)
        )
    )


def origin_problem(session: Session, pub: Publication) -> str:
    """What is wrong with where a publication row came from: "" when the sign-off created it
    and every later change to it is in the audit chain."""
    return dispatch.publication_origin_problem(session, pub) or ""


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
