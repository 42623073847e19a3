"""The REST API under /api/v1: everything the CLI does, for scripts and the console.

Every endpoint but POST /session needs a session (cookie + X-CSRF-Token on changes) or a bearer
token; the acting person is always the signed-in one, never a name in the body. Role checks
live in the services (orchestrator.permissions, services.review); this module translates.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.sql.elements import ColumnElement

from channels.base import ChannelKind
from channels.registry import load_channels
from gate import next_stage
from gate.model import STAGE_LABELS, ChannelRequest, Decision, RepostSource, ReviewStage, Role
from orchestrator import audit
from orchestrator.docx_import import read_manuscript
from orchestrator.errors import Forbidden, InvalidInput, NotFound
from orchestrator.models import (
    ApiToken,
    Attempt,
    Department,
    Person,
    Publication,
    ReviewAction,
    Submission,
    Verification,
    Version,
)
from orchestrator.permissions import WRITERS, holds, require
from orchestrator.services import (
    amendments,
    delegation,
    manual,
    org,
    prechecks,
    reposts,
    review,
    submissions,
    verification,
)
from orchestrator.services.publishing import get_publication
from orchestrator.states import State
from orchestrator.verify import Verdict
from orchestrator.web import auth
from orchestrator.web import schemas as s
from orchestrator.web.deps import MAX_ROW_ID, RowId, get_app, principal
from orchestrator.web.refusals import ApiRoute, answer_other_methods, refusals

SHANGHAI = ZoneInfo("Asia/Shanghai")

router = APIRouter(prefix="/api/v1", route_class=ApiRoute)
Who = Annotated[auth.Principal, Depends(principal)]
Page = Annotated[int, Query(ge=1, le=1_000_000, description="页码，从 1 开始")]
PerPage = Annotated[int, Query(ge=1, le=200, description="每页条数，最多 200")]


# --- shared helpers -------------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


def local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def local_or_none(value: datetime | None) -> str | None:
    return None if value is None else local(value)


@cache
def channel_table() -> dict[str, tuple[str, ChannelKind]]:
    return {name: (cls.display_name, cls.kind) for name, cls in load_channels().items()}


def channel_label(name: str) -> str:
    return channel_table().get(name, (name, ChannelKind.OWN))[0]


def check_channel(name: str) -> str:
    if name not in channel_table():
        known = "、".join(f"{label}（{n}）" for n, (label, _) in channel_table().items())
        raise InvalidInput(f"未知发布渠道“{name}”。可用渠道：{known}", code="unknown_channel")
    return name


def check_department(session: Session, code: str) -> Department:
    found = session.scalar(select(Department).where(Department.code == code))
    if found is None:
        raise InvalidInput(f"科室/窗口“{code}”不存在", code="unknown_department")
    return found


def person_out(person: Person, now: datetime) -> s.PersonOut:
    current = [
        a.role
        for a in person.assignments
        if a.valid_from <= now and (a.valid_until is None or now < a.valid_until)
    ]
    return s.PersonOut(
        username=person.username,
        name=person.name,
        department=s.DepartmentOut(code=person.department.code, name=person.department.name)
        if person.department
        else None,
        roles=[s.RoleOut(role=r, label=Role(r).label) for r in current],
    )


# --- sign-in, the signed-in person, API tokens ----------------------------------------------


@router.post("/session", response_model=s.SessionOut, responses=refusals(401), tags=["登录"])
def sign_in(body: s.SignIn, response: Response) -> s.SessionOut:
    """Sign in with a password: sets the session cookie; send csrf_token back as X-CSRF-Token."""
    app = get_app()
    token, csrf = auth.attempt_sign_in(app.db, body.username, body.password, app.settings)
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=app.settings.session_max_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=app.settings.cookie_secure,
    )
    with app.db.read() as session:
        person = org.person_by_username(session, body.username)
        return s.SessionOut(csrf_token=csrf, person=person_out(person, utc_now()))


@router.delete("/session", response_model=s.SignedOut, tags=["登录"])
def sign_out(request: Request, response: Response, who: Who) -> s.SignedOut:
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if who.via == "session" and cookie:
        with get_app().db.session() as session:
            auth.sign_out(session, cookie)
            audit.record(
                session, "session.end", actor=who.username, subject=f"person:{who.username}"
            )
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return s.SignedOut(signed_out=True)


@router.get("/me", response_model=s.PersonOut, tags=["登录"])
def me(who: Who) -> s.PersonOut:
    with get_app().db.read() as session:
        return person_out(org.person_by_username(session, who.username), utc_now())


def token_out(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
    }


@router.post("/tokens", response_model=s.NewTokenOut, status_code=201, tags=["登录"])
def create_token(body: s.TokenIn, who: Who) -> s.NewTokenOut:
    with get_app().db.session() as session:
        token, row = auth.create_token(session, who.username, body.name, days=body.days)
        return s.NewTokenOut(token=token, **token_out(row))


@router.get("/tokens", response_model=list[s.TokenOut], tags=["登录"])
def list_tokens(who: Who) -> list[s.TokenOut]:
    with get_app().db.read() as session:
        rows = session.scalars(
            select(ApiToken).where(ApiToken.person_id == who.person_id).order_by(ApiToken.id)
        )
        return [s.TokenOut(**token_out(r)) for r in rows]


@router.delete(
    "/tokens/{token_id}", response_model=s.Revoked, responses=refusals(404), tags=["登录"]
)
def revoke_token(token_id: RowId, who: Who) -> s.Revoked:
    with get_app().db.session() as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.person_id != who.person_id:  # others' tokens do not exist for you
            raise NotFound(f"没有编号为 {token_id} 的令牌", code="token_not_found")
        auth.revoke_token(session, token_id, actor=who.username)
    return s.Revoked(id=token_id, revoked=True)


# --- submissions ----------------------------------------------------------------------------


def _image(item: s.ImageIn) -> submissions.ImageFile:
    try:
        data = base64.b64decode(item.data_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            f"图片“{item.filename}”的内容不是有效的 Base64", code="bad_base64"
        ) from None
    return submissions.ImageFile(item.filename, data)


def draft_of(body: s.DraftIn) -> submissions.Draft:
    catalogue = submissions.channel_catalogue()
    repost = body.repost
    return submissions.Draft(
        title=body.title,
        body_html=body.body_html,
        channels=[
            ChannelRequest(
                submissions.resolve_channel(c.channel, catalogue), c.publish_date, c.remark
            )
            for c in body.channels
        ],
        images=[_image(i) for i in body.images],
        cover=_image(body.cover) if body.cover else None,
        digest=body.digest,
        byline=body.byline,
        major_event=body.major_event,
        special_content=body.special_content,
        repost=RepostSource(repost.platform, repost.url, repost.published_at) if repost else None,
        autofix=body.autofix,
    )


STATE_LABELS = {
    "in_review": "审核中",
    "returned": "已退回",
    "rejected": "已驳回",
    "signed_off": "已签发",
}
SubmissionStateName = Annotated[str, s.one_of(lambda: STATE_LABELS)]
PublicationStateName = Annotated[str, s.one_of(lambda: (st.value for st in State))]


def state_of(decision: str | None, stage: str | None) -> str:
    if decision == Decision.REJECT.value:
        return "rejected"
    if decision == Decision.RETURN.value:
        return "returned"
    if decision == Decision.APPROVE.value and stage == ReviewStage.SIGN_OFF.value:
        return "signed_off"
    return "in_review"


def version_summary(v: Version) -> s.VersionSummary:
    session = object_session(v)
    creator = session.get(Person, v.created_by_id) if session is not None else None
    return s.VersionSummary(
        number=v.number,
        fingerprint=v.fingerprint,
        title=v.title,
        created_by=creator.username if creator else str(v.created_by_id),
        created_at=v.created_at,
        created_at_local=local(v.created_at),
    )


def version_out(v: Version) -> s.VersionOut:
    return s.VersionOut(
        **version_summary(v).model_dump(),
        body_html=v.body_html,
        digest=v.digest,
        byline=v.byline,
        major_event=v.major_event,
        special_content=v.special_content,
        cover_sha256=v.cover_sha256,
        channels=[
            s.ChannelRowOut(
                channel=c.channel,
                channel_label=channel_label(c.channel),
                publish_date=c.publish_date,
                remark=c.remark,
            )
            for c in v.channels
        ],
        images=[s.ImageOut(filename=i.filename, sha256=i.sha256) for i in v.images],
        repost_source=s.RepostSourceOut(
            platform=v.repost_platform, url=v.repost_url, published_at=v.repost_published_at
        )
        if v.repost_platform and v.repost_url and v.repost_published_at
        else None,
    )


def submission_item(sub: Submission, state: str) -> s.SubmissionItem:
    return s.SubmissionItem(
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


def submission_out(sub: Submission) -> s.SubmissionOut:
    current = sub.current
    numbers = {v.id: v.number for v in sub.versions}
    on_current = [a for a in sub.actions if a.version_id == current.id]
    last = on_current[-1] if on_current else None
    state = state_of(last.decision if last else None, last.stage if last else None)
    waiting = next_stage(review.review_record(sub), get_app().policy, now=utc_now())
    return s.SubmissionOut(
        **submission_item(sub, state).model_dump(),
        waiting=waiting.value if waiting else None,
        waiting_label=waiting.label if waiting else None,
        repost_of=sub.repost_of_id,
        current=version_out(current),
        versions=[version_summary(v) for v in sub.versions],
        reviews=[
            s.ReviewOut(
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


@router.post(
    "/submissions",
    response_model=s.SubmissionOut,
    status_code=201,
    responses=refusals(403),
    tags=["稿件"],
)
def create_submission(body: s.SubmissionIn, who: Who) -> s.SubmissionOut:
    """New submission (version 1) by the signed-in person; images as Base64."""
    app = get_app()
    draft = draft_of(body)
    with app.db.session() as session:
        person = org.person_by_username(session, who.username)
        department = body.department or (person.department.code if person.department else None)
        if department is None:
            raise InvalidInput("请指定申请科室/窗口（department）", code="department_required")
        check_department(session, department)
        sub = submissions.create(
            session,
            app.blobs,
            author=who.username,
            department=department,
            draft=draft,
            urgent=body.urgent,
        )
        return submission_out(sub)


@router.post(
    "/submissions/{submission_id}/versions",
    response_model=s.SubmissionOut,
    responses=refusals(403, 404),
    status_code=201,
    tags=["稿件"],
)
def revise_submission(submission_id: RowId, body: s.DraftIn, who: Who) -> s.SubmissionOut:
    """A new version; earlier approvals no longer count, waiting publications are cancelled."""
    app = get_app()
    with app.db.session() as session:
        submissions.get(session, submission_id)
        draft = draft_of(body)
        submissions.revise(session, app.blobs, submission_id, editor=who.username, draft=draft)
        session.flush()  # expiring discards unflushed changes (the audit head among them)
        session.expire_all()
        return submission_out(submissions.get(session, submission_id))


def writer(who: Who) -> auth.Principal:
    """The signed-in person, who must be one who writes manuscripts. As a dependency it runs
    before the body is validated: without the role, 403 whatever was sent."""
    with get_app().db.read() as session:
        person = org.person_by_username(session, who.username)
        if not holds(person, WRITERS, utc_now()):
            allowed = "、".join(sorted(r.label for r in WRITERS))
            raise Forbidden(
                f"{person.name}无权提交或修改稿件（需要：{allowed}）", code="not_permitted"
            )
    return who


@router.post(
    "/manuscripts",
    response_model=s.ManuscriptOut,
    dependencies=[Depends(writer)],
    responses=refusals(403),
    tags=["稿件"],
)
def convert_manuscript(
    file: Annotated[
        UploadFile, File(description="Word 稿件（.docx；装有 LibreOffice 时也可为 .doc）")
    ],
) -> s.ManuscriptOut:
    """A Word manuscript as title, body and images, in the shape POST /submissions takes
    them; nothing is stored."""
    manuscript = read_manuscript(file.file.read(), file.filename or "稿件.docx")
    return s.ManuscriptOut(
        title=manuscript.title,
        body_html=manuscript.body_html,
        images=[
            s.ImageIn(filename=i.filename, data_base64=base64.b64encode(i.data).decode())
            for i in manuscript.images
        ],
        warnings=manuscript.warnings,
    )


def _current_version_id() -> Any:
    return (
        select(Version.id)
        .where(Version.submission_id == Submission.id)
        .order_by(Version.number.desc())
        .limit(1)
        .correlate(Submission)
        .scalar_subquery()
    )


def _last_action(column: Any, current: Any) -> Any:
    return (
        select(column)
        .where(ReviewAction.version_id == current)
        .order_by(ReviewAction.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def submission_state_column() -> ColumnElement[str]:
    current = _current_version_id()
    decision = _last_action(ReviewAction.decision, current)
    stage = _last_action(ReviewAction.stage, current)
    return case(
        (decision == Decision.REJECT.value, "rejected"),
        (decision == Decision.RETURN.value, "returned"),
        (
            and_(decision == Decision.APPROVE.value, stage == ReviewStage.SIGN_OFF.value),
            "signed_off",
        ),
        else_="in_review",
    )


@router.get("/submissions", response_model=s.SubmissionPage, tags=["稿件"])
def list_submissions(
    who: Who,
    page: Page = 1,
    per_page: PerPage = 50,
    department: Annotated[
        str | None, Query(max_length=64, pattern=s.NO_NUL, description="科室/窗口代码")
    ] = None,
    state: Annotated[
        SubmissionStateName | None,
        Query(
            max_length=32, pattern=s.NO_NUL, description="in_review/returned/rejected/signed_off"
        ),
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=s.NO_NUL, description="标题或正文包含的文字")
    ] = None,
) -> s.SubmissionPage:
    if state is not None and state not in STATE_LABELS:
        known = "、".join(f"{k}（{v}）" for k, v in STATE_LABELS.items())
        raise InvalidInput(f"未知稿件状态“{state}”。可用：{known}", code="unknown_state")
    state_col = submission_state_column().label("state")
    with get_app().db.read() as session:
        conditions: list[ColumnElement[bool]] = []
        if department:
            conditions.append(Submission.department_id == check_department(session, department).id)
        if state:
            conditions.append(submission_state_column() == state)
        if q:
            conditions.append(
                select(Version.id)
                .where(
                    Version.id == _current_version_id(),
                    or_(
                        Version.title.contains(q, autoescape=True),
                        Version.body_html.contains(q, autoescape=True),
                    ),
                )
                .exists()
            )
        total = session.scalar(select(func.count()).select_from(Submission).where(*conditions))
        rows = session.execute(
            select(Submission, state_col)
            .where(*conditions)
            .order_by(Submission.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        items = [submission_item(sub, st) for sub, st in rows]
    return s.SubmissionPage(page=page, per_page=per_page, total=total or 0, items=items)


@router.get(
    "/submissions/{submission_id}",
    response_model=s.SubmissionOut,
    responses=refusals(404),
    tags=["稿件"],
)
def get_submission(submission_id: RowId, who: Who) -> s.SubmissionOut:
    with get_app().db.read() as session:
        return submission_out(submissions.get(session, submission_id))


def find_version(sub: Submission, number: int) -> Version:
    for v in sub.versions:
        if v.number == number:
            return v
    raise NotFound(f"稿件 {sub.id} 没有第 {number} 版", code="unknown_version")


@router.get(
    "/submissions/{submission_id}/versions/{number}",
    response_model=s.VersionOut,
    responses=refusals(404),
    tags=["稿件"],
)
def get_version(submission_id: RowId, number: RowId, who: Who) -> s.VersionOut:
    with get_app().db.read() as session:
        return version_out(find_version(submissions.get(session, submission_id), number))


_BLOCK_END = re.compile(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr|blockquote)\s*>")
_TAG = re.compile(r"<[^>]*>")


def text_lines(body_html: str) -> list[str]:
    text = html.unescape(_TAG.sub("", _BLOCK_END.sub("\n", body_html)))
    return [line.strip() for line in text.splitlines() if line.strip()]


def other_changes(a: Version, b: Version) -> list[str]:
    found = []
    for attr, label in (
        ("digest", "摘要"),
        ("byline", "署名"),
        ("major_event", "重大事件标记"),
        ("special_content", "特殊内容标记"),
        ("cover_sha256", "封面"),
        ("repost_url", "转载来源"),
    ):
        if getattr(a, attr) != getattr(b, attr):
            found.append(f"{label}已修改")
    if [i.sha256 for i in a.images] != [i.sha256 for i in b.images]:
        found.append("图片已修改")
    rows = [[(c.channel, c.publish_date, c.remark) for c in v.channels] for v in (a, b)]
    if rows[0] != rows[1]:
        found.append("审批表（发布渠道、日期或备注）已修改")
    return found


@router.get(
    "/submissions/{submission_id}/diff",
    response_model=s.DiffOut,
    responses=refusals(404),
    tags=["稿件"],
)
def diff_versions(
    submission_id: RowId,
    who: Who,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> s.DiffOut:
    """What changed between two versions: unified diffs of the title and the body's text."""
    with get_app().db.read() as session:
        sub = submissions.get(session, submission_id)
        a, b = find_version(sub, from_version), find_version(sub, to_version)
        names = (f"第{a.number}版", f"第{b.number}版")
        return s.DiffOut(
            submission=sub.id,
            from_version=a.number,
            to_version=b.number,
            title_changed=a.title != b.title,
            title_diff=list(difflib.unified_diff([a.title], [b.title], *names, lineterm="")),
            body_diff=list(
                difflib.unified_diff(
                    text_lines(a.body_html), text_lines(b.body_html), *names, lineterm=""
                )
            ),
            other_changes=other_changes(a, b),
        )


# --- review, sign-off, the gate -------------------------------------------------------------


@router.post(
    "/submissions/{submission_id}/reviews",
    response_model=s.ReviewResult,
    responses=refusals(403, 404, 409),
    status_code=201,
    tags=["审核"],
)
def post_review(submission_id: RowId, body: s.ReviewIn, who: Who) -> s.ReviewResult:
    """初审/复审/终审/主要领导审定, 稿件用途 (stage usage, 综合科: `channels` are the rows it
    decides; a new version when they differ, the earlier reviews kept) or 签发 (stage sign_off);
    the password unlocks the key."""
    app = get_app()
    rows = None
    if body.channels is not None:
        catalogue = submissions.channel_catalogue()
        rows = [
            ChannelRequest(
                submissions.resolve_channel(c.channel, catalogue), c.publish_date, c.remark
            )
            for c in body.channels
        ]
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
        return s.ReviewResult(
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
    response_model=s.GateOut,
    responses=refusals(404),
    tags=["审核"],
)
def gate_check(submission_id: RowId, who: Who) -> s.GateOut:
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
    return s.GateOut(
        submission=submission_id,
        passed=verdict.passed,
        waiting=waiting.value if waiting else None,
        waiting_label=waiting.label if waiting else None,
        violations=[
            s.ViolationOut(
                code=v.code,
                message=v.message,
                stage=v.stage.value if v.stage else None,
                action=v.action_id,
                publication=v.publication,
            )
            for v in verdict.violations
        ],
        aids=[s.AidOut(**a) for a in aids],
        channel_problems=[s.ChannelProblemOut(**p) for p in problems],
    )


# --- publications: the board ----------------------------------------------------------------

NEEDS_LOOK = (State.FAILED.value, State.UNCONFIRMED.value)
WAITING = (State.SCHEDULED.value, State.QUEUED.value)
OVERDUE_AFTER = timedelta(minutes=1)  # the scheduler claims due rows twice a second


def attention(now: datetime) -> ColumnElement[bool]:
    """Overdue (still waiting after its time), failed or unconfirmed: shown first."""
    return or_(
        Publication.state.in_(NEEDS_LOOK),
        and_(Publication.state.in_(WAITING), Publication.scheduled_at < now - OVERDUE_AFTER),
    )


FROM = "计划发布日期起（上海时间，YYYY-MM-DD）"
TO = "计划发布日期止（含当日）"


def parse_day(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"参数 {name} 的日期“{text}”无效", code="bad_date") from None


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def board_filters(
    session: Session,
    *,
    states: list[str],
    channels: list[str],
    department: str | None,
    submission: int | None,
    date_from: date | None,
    date_to: date | None,
) -> Filters:
    for name in states:
        if name not in State.__members__.values():
            known = "、".join(f"{st.value}（{st.label}）" for st in State)
            raise InvalidInput(f"未知发布状态“{name}”。可用：{known}", code="unknown_state")
    for name in channels:
        check_channel(name)
    if date_from and date_to and date_from > date_to:
        raise InvalidInput("起始日期晚于截止日期", code="bad_date_range")
    found: list[ColumnElement[bool]] = []
    if states:
        found.append(Publication.state.in_(states))
    if channels:
        found.append(Publication.channel.in_(channels))
    if submission is not None:
        found.append(Publication.submission_id == submission)
    if date_from:
        found.append(Publication.scheduled_at >= day_start(date_from))
    if date_to:
        found.append(Publication.scheduled_at < day_start(date_to + timedelta(days=1)))
    walk = list(found)
    if department:
        of_department = select(Submission.id).where(
            Submission.department_id == check_department(session, department).id
        )
        found.append(Publication.submission_id.in_(of_department))
        # "+ 0" keeps SQLite from listing the department's rows by submission and sorting
        # them all: it walks the rows in time order instead and stops after one page.
        walk.append((Publication.submission_id + 0).in_(of_department))
    return Filters(found, walk)


@dataclass
class Filters:
    """The board's conditions: `where` for counting, `walk` for reading a page in order."""

    where: list[ColumnElement[bool]]
    walk: list[ColumnElement[bool]]


def publication_item(
    pub: Publication, number: int, title: str, department: str, now: datetime
) -> dict[str, Any]:
    waiting_late = pub.state in WAITING and pub.scheduled_at < now - OVERDUE_AFTER
    return {
        "id": pub.id,
        "submission": pub.submission_id,
        "version": number,
        "title": title,
        "department": department,
        "channel": pub.channel,
        "channel_label": channel_label(pub.channel),
        "state": pub.state,
        "state_label": State(pub.state).label,
        "attention": pub.state in NEEDS_LOOK or waiting_late,
        "scheduled_at": pub.scheduled_at,
        "scheduled_at_local": local(pub.scheduled_at),
        "late": pub.late,
        "attempts": pub.attempts,
        "external_id": pub.external_id,
        "url": pub.url,
        "last_error": pub.last_error,
        "note": pub.note,
        "published_at": pub.published_at,
        "published_at_local": local_or_none(pub.published_at),
    }


def board_ids(
    session: Session, filters: Filters, flagged: int, total: int, offset: int, limit: int
) -> list[int]:
    """Attention rows first, then the rest, each by time: two queries that an index on the
    time can serve in order, instead of sorting every matching row by a computed key."""
    first = attention(utc_now())
    ordered = (Publication.scheduled_at, Publication.id)
    ids: list[int] = []
    if offset < flagged:
        ids = list(
            session.scalars(
                select(Publication.id)
                .where(*filters.walk, first)
                .order_by(*ordered)
                .limit(limit)
                .offset(offset)
            )
        )
    if len(ids) < limit and offset + len(ids) < total:
        ids += session.scalars(
            select(Publication.id)
            .where(*filters.walk, ~first)
            .order_by(*ordered)
            .limit(limit - len(ids))
            .offset(max(0, offset - flagged))
        )
    return ids


def board_page(session: Session, filters: Filters, page: int, per_page: int) -> s.PublicationPage:
    """One count of all and of the attention rows, one page of ids, then their details."""
    now = utc_now()
    total, flagged = session.execute(
        select(func.count(Publication.id), func.count(Publication.id).filter(attention(now))).where(
            *filters.where
        )
    ).one()
    ids = board_ids(session, filters, flagged or 0, total or 0, (page - 1) * per_page, per_page)
    rows = session.execute(
        select(Publication, Version.number, Version.title, Department.code)
        .join(Version, Version.id == Publication.version_id)
        .join(Submission, Submission.id == Publication.submission_id)
        .join(Department, Department.id == Submission.department_id)
        .where(Publication.id.in_(ids))
    ).all()
    by_id = {row[0].id: row for row in rows}
    items = [s.PublicationItem(**publication_item(*by_id[i], now)) for i in ids if i in by_id]
    return s.PublicationPage(page=page, per_page=per_page, total=total, items=items)


@router.get("/publications", response_model=s.PublicationPage, tags=["发布"])
def list_publications(
    who: Who,
    page: Page = 1,
    per_page: PerPage = 50,
    state: Annotated[
        list[PublicationStateName] | None, Query(description="状态，可多次给出")
    ] = None,
    channel: Annotated[list[s.ChannelName] | None, Query(description="渠道名，可多次给出")] = None,
    department: Annotated[
        str | None, Query(max_length=64, pattern=s.NO_NUL, description="科室/窗口代码")
    ] = None,
    submission: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="稿件编号")] = None,
    date_from: Annotated[s.Day | None, Query(alias="from", description=FROM)] = None,
    date_to: Annotated[s.Day | None, Query(alias="to", description=TO)] = None,
) -> s.PublicationPage:
    """Every channel's publications: overdue, failed and unconfirmed first, then by time."""
    with get_app().db.read() as session:
        filters = board_filters(
            session,
            states=state or [],
            channels=channel or [],
            department=department,
            submission=submission,
            date_from=parse_day(date_from, "from"),
            date_to=parse_day(date_to, "to"),
        )
        return board_page(session, filters, page, per_page)


def publication_out(session: Session, pub: Publication) -> s.PublicationOut:
    version = pub.version
    item = publication_item(
        pub, version.number, version.title, version.submission.department.code, utc_now()
    )
    attempts = session.scalars(
        select(Attempt).where(Attempt.publication_id == pub.id).order_by(Attempt.id)
    )
    return s.PublicationOut(
        **item,
        source_platform=pub.source_platform,
        source_url=pub.source_url,
        revision=pub.revision,
        attempt_log=[
            s.AttemptOut(
                operation=a.operation,
                started_at=a.started_at,
                started_at_local=local(a.started_at),
                duration_ms=a.duration_ms,
                outcome=a.outcome,
                error_class=a.error_class,
                message=a.message,
            )
            for a in attempts
        ],
    )


@router.get(
    "/publications/{pub_id}",
    response_model=s.PublicationOut,
    responses=refusals(404),
    tags=["发布"],
)
def get_publication_detail(pub_id: RowId, who: Who) -> s.PublicationOut:
    with get_app().db.read() as session:
        return publication_out(session, get_publication(session, pub_id))


def publication_state(pub_id: int) -> s.PublicationState:
    with get_app().db.read() as session:
        pub = get_publication(session, pub_id)
        return s.PublicationState(
            publication=pub.id,
            state=pub.state,
            state_label=State(pub.state).label,
            scheduled_at=pub.scheduled_at,
            scheduled_at_local=local(pub.scheduled_at),
        )


def publisher() -> Any:
    from orchestrator.web.deps import publisher as shared

    return shared()


@router.post(
    "/publications/{pub_id}/reschedule",
    response_model=s.PublicationState,
    responses=refusals(403, 404, 409),
    tags=["发布"],
)
def reschedule(pub_id: RowId, body: s.RescheduleIn, who: Who) -> s.PublicationState:
    """Set the publish time, or publish now: only before the send has started."""
    if body.now == (body.at is not None):
        raise InvalidInput(
            "请给出新的发布时间（at），或选择立即发布（now），二者选一", code="bad_time"
        )
    when = utc_now() if body.now else body.at
    assert when is not None
    publisher().reschedule(pub_id, when=when, actor=who.username)
    return publication_state(pub_id)


@router.post(
    "/publications/{pub_id}/amend-date",
    response_model=s.AmendedOut,
    responses=refusals(403, 404, 409),
    tags=["发布"],
)
def amend_date(pub_id: RowId, body: s.AmendDateIn, who: Who) -> s.AmendedOut:
    """改期 to another day: the 宣传分管领导 signs it with their key (password re-asked)."""
    app = get_app()
    clock = day_time.fromisoformat(body.at) if body.at else None
    with app.db.session() as session:
        done = amendments.amend_date(
            session,
            pub_id,
            new_date=body.new_date,
            at_time=clock,
            actor=who.username,
            password=body.password,
            policy=app.policy,
            comment=body.comment,
        )
        return s.AmendedOut(
            publication=pub_id,
            amendment=done.amendment.id,
            old_date=done.amendment.old_date,
            new_date=done.amendment.new_date,
            scheduled_at=done.scheduled_at,
            scheduled_at_local=local(done.scheduled_at),
        )


@router.post(
    "/publications/{pub_id}/cancel",
    response_model=s.PublicationState,
    responses=refusals(403, 404, 409),
    tags=["发布"],
)
def cancel(pub_id: RowId, body: s.CancelIn, who: Who) -> s.PublicationState:
    publisher().cancel(pub_id, reason=body.reason, actor=who.username)
    return publication_state(pub_id)


@router.post(
    "/publications/{pub_id}/retract",
    response_model=s.PublicationState,
    responses=refusals(403, 404, 409, 503),
    tags=["发布"],
)
def retract(pub_id: RowId, body: s.ReasonIn, who: Who) -> s.PublicationState:
    publisher().retract(pub_id, reason=body.reason, actor=who.username)
    return publication_state(pub_id)


def verification_out(v: Any) -> s.VerificationOut:
    return s.VerificationOut(
        id=v.id,
        publication=v.publication_id,
        checked_at=v.checked_at,
        checked_at_local=local(v.checked_at),
        trigger=v.trigger,
        actor=v.actor,
        url=v.url,
        verdict=v.verdict,
        verdict_label=Verdict(v.verdict).label,
        code=v.code,
        reason=v.reason,
        http_status=v.http_status,
        page_sha256=v.page_sha256,
        snapshot_sha256=v.snapshot_sha256,
        similarity=v.similarity,
        diff=[list(seg) for seg in v.diff.get("segments", [])],
        images=v.images,
    )


def _verified(pub_id: int, checked: verification.Checked) -> s.VerifiedOut:
    with get_app().db.read() as session:
        pub = get_publication(session, pub_id)
        row = session.get(Verification, checked.verification_id)
        assert row is not None
        return s.VerifiedOut(
            publication=pub_id,
            state=pub.state,
            state_label=State(pub.state).label,
            verification=verification_out(row),
        )


@router.post(
    "/publications/{pub_id}/verify",
    response_model=s.VerifiedOut,
    responses=refusals(403, 404, 409),
    tags=["发布核验"],
)
def verify_publication(pub_id: RowId, who: Who) -> s.VerifiedOut:
    """发布核验 now: fetch the live page and compare it with the signed version. The verdict is
    the answer (一致, 不一致 with its diff, 无法访问, 已删除), never an error."""
    (checked,) = verification.verify_as(get_app(), publisher().hub, [pub_id], actor=who.username)
    return _verified(pub_id, checked)


@router.get(
    "/publications/{pub_id}/verifications",
    response_model=list[s.VerificationOut],
    responses=refusals(404),
    tags=["发布核验"],
)
def publication_verifications(pub_id: RowId, _who: Who) -> list[s.VerificationOut]:
    """The row's checks, newest first (at most 50)."""
    with get_app().db.read() as session:
        get_publication(session, pub_id)
        return [verification_out(v) for v in verification.history(session, pub_id)]


@router.post(
    "/publications/{pub_id}/published-by-hand",
    response_model=s.VerifiedOut,
    responses=refusals(403, 404, 409),
    tags=["发布核验"],
)
def published_by_hand(pub_id: RowId, body: s.PublishedByHandIn, who: Who) -> s.VerifiedOut:
    """An assisted row (待人工发布) was published on the platform by hand: its URL and id are
    recorded, signed with the person's key, and the page is verified at once."""
    done = manual.record_published(
        get_app(),
        publisher().hub,
        pub_id,
        url=body.url,
        external_id=body.external_id,
        actor=who.username,
        password=body.password,
        comment=body.comment,
    )
    assert done.checked is not None
    return _verified(pub_id, done.checked)


@router.post(
    "/publications/{pub_id}/taken-down",
    response_model=s.VerifiedOut,
    responses=refusals(403, 404, 409),
    tags=["发布核验"],
)
def taken_down(pub_id: RowId, who: Who) -> s.VerifiedOut:
    """An assisted row waiting to be taken down (待人工撤下): verify the page is gone; only a
    page found gone (404/410) makes the row 已撤稿 (see `state` in the answer)."""
    checked = manual.confirm_taken_down(get_app(), publisher().hub, pub_id, actor=who.username)
    return _verified(pub_id, checked)


@router.post(
    "/publications/{pub_id}/retry",
    response_model=s.PublicationState,
    responses=refusals(403, 404, 409),
    tags=["发布"],
)
def retry(pub_id: RowId, body: s.RetryIn, who: Who) -> s.PublicationState:
    """Send a failed row again; an unconfirmed one only with checked=true (platform checked)."""
    publisher().retry(pub_id, actor=who.username, checked=body.checked)
    return publication_state(pub_id)


@router.post(
    "/publications/{pub_id}/release",
    response_model=s.PublicationState,
    responses=refusals(403, 404, 409),
    tags=["发布"],
)
def release(pub_id: RowId, who: Who) -> s.PublicationState:
    """综合科: a row held for an upward adoption (待上级采用) goes out as the office's own
    article, within its signed day (another day needs the 宣传分管领导's 改期 first)."""
    publisher().release(pub_id, actor=who.username)
    return publication_state(pub_id)


@router.post(
    "/publications/{pub_id}/drop",
    response_model=s.PublicationState,
    responses=refusals(403, 404, 409),
    tags=["发布"],
)
def drop(pub_id: RowId, body: s.ReasonIn, who: Who) -> s.PublicationState:
    """综合科: a row held for an upward adoption is not published on its platform."""
    publisher().drop(pub_id, reason=body.reason, actor=who.username)
    return publication_state(pub_id)


@router.post(
    "/publications/{pub_id}/confirm",
    response_model=s.PublicationState,
    responses=refusals(403, 404, 409),
    tags=["发布"],
)
def confirm(pub_id: RowId, body: s.ConfirmIn, who: Who) -> s.PublicationState:
    """Seen on the platform (or adopted upward): published, with its URL."""
    publisher().confirm_by_hand(pub_id, url=body.url, actor=who.username)
    return publication_state(pub_id)


@router.post(
    "/submissions/{submission_id}/retract",
    response_model=s.RetractAllOut,
    responses=refusals(403, 404, 409),
    tags=["发布"],
)
def retract_submission(submission_id: RowId, body: s.ReasonIn, who: Who) -> s.RetractAllOut:
    """撤稿 on every channel the submission went out on; each channel answers for itself."""
    with get_app().db.read() as session:
        submissions.get(session, submission_id)
    results = publisher().retract_all(submission_id, reason=body.reason, actor=who.username)
    refused = [r for r in results.values() if r.startswith("not_permitted")]
    if refused and len(refused) == len(results):
        raise Forbidden(refused[0].partition(": ")[2], code="not_permitted", details=results)
    return s.RetractAllOut(
        submission=submission_id,
        results=results,
        all_retracted=all(r == State.RETRACTED.value for r in results.values()),
    )


# --- 综合科: upward reports and reposts ----------------------------------------------------


def upward_channels() -> list[str]:
    return [n for n, (_, kind) in channel_table().items() if kind is ChannelKind.UPWARD]


@router.get("/upward/queue", response_model=s.PublicationPage, tags=["对上报送"])
def upward_queue(
    who: Who,
    page: Page = 1,
    per_page: PerPage = 50,
    state: Annotated[
        list[PublicationStateName] | None, Query(description="状态，可多次给出")
    ] = None,
) -> s.PublicationPage:
    """学习强国、绿色青浦… reports and whether they were adopted."""
    with get_app().db.read() as session:
        filters = board_filters(
            session,
            states=state or [],
            channels=upward_channels(),
            department=None,
            submission=None,
            date_from=None,
            date_to=None,
        )
        return board_page(session, filters, page, per_page)


@router.post(
    "/upward/{pub_id}/repost",
    response_model=s.SubmissionOut,
    status_code=201,
    responses=refusals(403, 404, 409),
    tags=["对上报送"],
)
def repost(pub_id: RowId, body: s.RepostRequest, who: Who) -> s.SubmissionOut:
    """A repost submission (转载稿) of an adopted upward report: the original's content with the
    source, it waits for 签发 alone (edited beyond the source, for every stage)."""
    app = get_app()
    with app.db.session() as session:
        upward = get_publication(session, pub_id)
        require(session, who.username, "repost", ChannelKind.UPWARD, utc_now())
        catalogue = submissions.channel_catalogue()
        names = [submissions.resolve_channel(c, catalogue) for c in body.channels]
        sub = reposts.draft_repost(session, app, upward, actor=who.username, channels=names or None)
        return submission_out(sub)


@router.post(
    "/upward/{pub_id}/cite",
    response_model=s.SubmissionOut,
    responses=refusals(403, 404, 409),
    tags=["对上报送"],
)
def cite(pub_id: RowId, who: Who) -> s.SubmissionOut:
    """The original's repost cites this adoption instead (a new version, signed off again);
    only before the repost has begun to go out."""
    app = get_app()
    with app.db.session() as session:
        upward = get_publication(session, pub_id)
        require(session, who.username, "repost", ChannelKind.UPWARD, utc_now())
        return submission_out(reposts.cite(session, app, upward, actor=who.username))


# --- people, channels, audit ----------------------------------------------------------------


@router.get("/people", response_model=list[s.PersonOut], tags=["组织"])
def people(who: Who) -> list[s.PersonOut]:
    now = utc_now()
    with get_app().db.read() as session:
        return [person_out(p, now) for p in org.all_people(session)]


@router.get("/delegations", response_model=list[s.DelegationOut], tags=["组织"])
def delegations(
    who: Who, include_ended: Annotated[bool, Query(alias="all")] = False
) -> list[s.DelegationOut]:
    """Delegations (代理) not yet ended, or all of them (`?all=true`)."""
    with get_app().db.read() as session:
        rows = delegation.delegations(session, current_at=None if include_ended else utc_now())
        return [s.DelegationOut(**delegation.describe(r)) for r in rows]  # type: ignore[arg-type]


@router.post(
    "/delegations",
    response_model=s.DelegationOut,
    status_code=201,
    responses=refusals(403, 404, 409),
    tags=["组织"],
)
def delegate(body: s.DelegationIn, who: Who) -> s.DelegationOut:
    """Let a deputy hold an absent person's role between two dates (by the person themselves,
    a 主要领导 or 综合科)."""
    with get_app().db.session() as session:
        row = delegation.delegate(
            session,
            deputy=body.deputy,
            acting_for=body.acting_for,
            role=org.parse_role(body.role),
            department=body.department,
            start=body.start,
            end=body.end,
            actor=who.username,
            note=body.note,
        )
        return s.DelegationOut(**delegation.describe(row))  # type: ignore[arg-type]


@router.post(
    "/delegations/{delegation_id}/end",
    response_model=s.DelegationOut,
    responses=refusals(403, 404, 409),
    tags=["组织"],
)
def end_delegation(delegation_id: RowId, who: Who) -> s.DelegationOut:
    with get_app().db.session() as session:
        row = delegation.end_delegation(session, delegation_id, actor=who.username)
        return s.DelegationOut(**delegation.describe(row))  # type: ignore[arg-type]


@router.get("/channels", response_model=list[s.ChannelOut], tags=["组织"])
def channels(who: Who) -> list[s.ChannelOut]:
    return [
        s.ChannelOut(name=n, label=label, kind=kind.value)
        for n, (label, kind) in channel_table().items()
    ]


@router.get("/audit/verify", response_model=s.AuditOut, tags=["审计"])
def audit_verify(
    who: Who,
    checkpoint: Annotated[
        str | None, Query(pattern=audit.CHECKPOINT, description="检查点 序号:哈希")
    ] = None,
) -> s.AuditOut:
    """Recompute the audit hash chain; name the first changed, inserted or deleted row, of the
    chain or of the review actions and publications it vouches for."""
    with get_app().db.read() as session:
        return s.AuditOut(**audit.verify(session, checkpoint).as_dict())


answer_other_methods(router)
