"""/api/v1/submissions and /api/v1/manuscripts: new submissions and new versions by the
signed-in writer, a Word manuscript converted for them, and the list and the detail of
submissions with their state in the review."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from gate.model import Decision, ReviewStage
from orchestrator.docx_import import read_manuscript
from orchestrator.errors import Forbidden, InvalidInput
from orchestrator.models import ReviewAction, Submission, Version
from orchestrator.permissions import WRITERS, holds, person_by_username
from orchestrator.services import submissions
from orchestrator.web import auth
from orchestrator.web.deps import RowId, Who, get_app
from orchestrator.web.refusals import ApiRoute, answer_other_methods, refusals
from orchestrator.web.schemas import NO_NUL, one_of
from orchestrator.web.v1.drafts import draft_of
from orchestrator.web.v1.shared import Page, PerPage, check_department, utc_now
from orchestrator.web.v1.submission_schemas import (
    DraftIn,
    ImageIn,
    ManuscriptOut,
    SubmissionIn,
    SubmissionOut,
    SubmissionPage,
)
from orchestrator.web.v1.submission_views import STATE_LABELS, submission_item, submission_out

router = APIRouter(prefix="/api/v1", tags=["稿件"], route_class=ApiRoute)
SubmissionStateName = Annotated[str, one_of(lambda: STATE_LABELS)]


@router.post(
    "/submissions",
    response_model=SubmissionOut,
    status_code=201,
    responses=refusals(403),
)
def create_submission(body: SubmissionIn, who: Who) -> SubmissionOut:
    """New submission (version 1) by the signed-in person; images as Base64."""
    app = get_app()
    draft = draft_of(body)
    with app.db.session() as session:
        person = person_by_username(session, who.username)
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
    response_model=SubmissionOut,
    responses=refusals(403, 404),
    status_code=201,
)
def revise_submission(submission_id: RowId, body: DraftIn, who: Who) -> SubmissionOut:
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
        person = person_by_username(session, who.username)
        if not holds(person, WRITERS, utc_now()):
            allowed = "、".join(sorted(r.label for r in WRITERS))
            raise Forbidden(
                f"{person.name}无权提交或修改稿件（需要：{allowed}）", code="not_permitted"
            )
    return who


@router.post(
    "/manuscripts",
    response_model=ManuscriptOut,
    dependencies=[Depends(writer)],
    responses=refusals(403),
)
def convert_manuscript(
    file: Annotated[
        UploadFile, File(description="Word 稿件（.docx；装有 LibreOffice 时也可为 .doc）")
    ],
) -> ManuscriptOut:
    """A Word manuscript as title, body and images, in the shape POST /submissions takes
    them; nothing is stored."""
    manuscript = read_manuscript(file.file.read(), file.filename or "稿件.docx")
    return ManuscriptOut(
        title=manuscript.title,
        body_html=manuscript.body_html,
        images=[
            ImageIn(filename=i.filename, data_base64=base64.b64encode(i.data).decode())
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
    """`submission_views.state_of` in SQL: the state from the current version's last review."""
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


def _containing(text: str) -> ColumnElement[bool]:
    """The current version's title or body contains the text."""
    return (
        select(Version.id)
        .where(
            Version.id == _current_version_id(),
            or_(
                Version.title.contains(text, autoescape=True),
                Version.body_html.contains(text, autoescape=True),
            ),
        )
        .exists()
    )


@router.get("/submissions", response_model=SubmissionPage)
def list_submissions(
    who: Who,
    page: Page = 1,
    per_page: PerPage = 50,
    department: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="科室/窗口代码")
    ] = None,
    state: Annotated[
        SubmissionStateName | None,
        Query(max_length=32, pattern=NO_NUL, description="in_review/returned/rejected/signed_off"),
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="标题或正文包含的文字")
    ] = None,
) -> SubmissionPage:
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
            conditions.append(_containing(q))
        total = session.scalar(select(func.count()).select_from(Submission).where(*conditions))
        rows = session.execute(
            select(Submission, state_col)
            .where(*conditions)
            .order_by(Submission.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        items = [submission_item(sub, st) for sub, st in rows]
    return SubmissionPage(page=page, per_page=per_page, total=total or 0, items=items)


@router.get(
    "/submissions/{submission_id}",
    response_model=SubmissionOut,
    responses=refusals(404),
)
def get_submission(submission_id: RowId, who: Who) -> SubmissionOut:
    with get_app().db.read() as session:
        return submission_out(submissions.get(session, submission_id))


answer_other_methods(router)
