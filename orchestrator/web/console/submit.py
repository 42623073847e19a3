"""New submissions and revisions: the form, its post (refused: the same form with what was
typed and the services' reasons), and the images of a submission's versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gate.model import Role
from orchestrator.blobs import sniff_mime
from orchestrator.errors import Forbidden, NotFound, SanshenError
from orchestrator.models import Department, Submission
from orchestrator.permissions import holds
from orchestrator.services import submissions
from orchestrator.web.auth import Principal
from orchestrator.web.console.common import Who, office_today, person_of, status_of, utc_now
from orchestrator.web.console.submit_form import (
    FormValues,
    Row,
    build_draft,
    uploads_of,
    values_from_form,
    values_from_version,
)
from orchestrator.web.deps import RowId, get_app
from orchestrator.web.downloads import attachment
from orchestrator.web.templating import flash, page

router = APIRouter(include_in_schema=False)


def form_context(session: Session, who: Principal, values: FormValues) -> dict[str, Any]:
    catalogue = submissions.channel_catalogue()
    rows = list(values.rows)
    rows += [Row() for _ in range(max(0, len(catalogue) - len(rows)))]
    if not any(r.channel or r.publish_date for r in rows):
        rows[0].publish_date = office_today().isoformat()
    for row in rows:
        row.publish_date = row.publish_date or ""
    if not values.department:
        person = person_of(session, who)
        values.department = person.department.code if person.department else ""
    return {
        "values": values,
        "rows": rows,
        "catalogue": catalogue,
        "departments": list(session.scalars(select(Department).order_by(Department.id))),
        "today": office_today().isoformat(),
        "urgent_hours": f"{get_app().settings.stage_urgent_hours:g}",
    }


def may_revise(session: Session, sub: Submission, who: Principal) -> None:
    person = person_of(session, who)
    if sub.author_id == person.id or holds(person, frozenset({Role.CONTRIBUTOR}), utc_now()):
        return
    raise Forbidden(f"{person.name}不是该稿件的作者，也不是编辑，不能修改", code="not_author")


def _form_page(
    request: Request,
    who: Principal,
    values: FormValues,
    *,
    sub_id: int | None,
    error: SanshenError | None = None,
) -> Response:
    app = get_app()
    with app.db.read() as session:
        current = submissions.get(session, sub_id) if sub_id is not None else None
        context = form_context(session, who, values)
        return page(
            request,
            "work_submission_form.html",
            who,
            status_code=status_of(error) if error else 200,
            submission=current,
            version=current.current if current else None,
            error=error,
            details=error_details(error),
            **context,
        )


def error_details(error: SanshenError | None) -> list[str]:
    if error is None or error.code not in ("invalid_draft", "invalid_form"):
        return []
    _, _, rest = error.message.partition("：")
    return [p for p in rest.split("；") if p]


@router.get("/submissions/new", response_class=HTMLResponse)
async def new_form(request: Request, who: Who) -> Response:
    return await run_in_threadpool(_form_page, request, who, FormValues(), sub_id=None)


@router.post("/submissions/new", response_class=HTMLResponse)
async def new_submit(request: Request, who: Who) -> Response:
    form = await request.form()
    values, uploads = values_from_form(form), await uploads_of(form)

    def work() -> int:
        app = get_app()
        draft = build_draft(values, uploads, None, app)
        with app.db.session() as session:
            created = submissions.create(
                session,
                app.blobs,
                author=who.username,
                department=values.department,
                draft=draft,
                urgent=values.urgent,
            )
            return created.id

    try:
        sub_id = await run_in_threadpool(work)
    except SanshenError as error:
        return await run_in_threadpool(_form_page, request, who, values, sub_id=None, error=error)
    return flash(RedirectResponse("/todo", status_code=303), f"稿件 {sub_id} 已提交，等待初审")


@router.get("/submissions/{sub_id}/revise", response_class=HTMLResponse)
async def revise_form(request: Request, sub_id: RowId, who: Who) -> Response:
    def work() -> Response:
        with get_app().db.read() as session:
            sub = submissions.get(session, sub_id)
            may_revise(session, sub, who)
            values = values_from_version(sub.current)
        return _form_page(request, who, values, sub_id=sub_id)

    return await run_in_threadpool(work)


@router.post("/submissions/{sub_id}/revise", response_class=HTMLResponse)
async def revise_submit(request: Request, sub_id: RowId, who: Who) -> Response:
    form = await request.form()
    values, uploads = values_from_form(form), await uploads_of(form)

    def work() -> int:
        app = get_app()
        with app.db.session() as session:
            sub = submissions.get(session, sub_id)
            may_revise(session, sub, who)
            draft = build_draft(values, uploads, sub.current, app)
            version = submissions.revise(
                session, app.blobs, sub_id, editor=who.username, draft=draft
            )
            return version.number

    try:
        number = await run_in_threadpool(work)
    except SanshenError as error:
        if isinstance(error, NotFound):
            raise
        return await run_in_threadpool(_form_page, request, who, values, sub_id=sub_id, error=error)
    return flash(
        RedirectResponse("/todo", status_code=303),
        f"稿件 {sub_id} 已生成第 {number} 版，此前的审核意见不再有效，须重新审核",
    )


@router.get("/submissions/{sub_id}/images/{sha}")
def submission_image(sub_id: RowId, sha: str, who: Who) -> Response:
    """An image of one of the submission's versions, for the review preview."""
    app = get_app()
    with app.db.read() as session:
        sub = submissions.get(session, sub_id)
        names = {v.cover_sha256: "封面" for v in sub.versions if v.cover_sha256}
        names |= {i.sha256: i.filename for v in sub.versions for i in v.images}
    data = app.blobs.get(sha) if sha in names else None
    if data is None:
        raise NotFound(f"稿件 {sub_id} 没有这张图片", code="image_not_found")
    # An <img> shows it; opened on its own it is a download, never a page of this site.
    return attachment(data, names[sha], sniff_mime(data), private=True)
