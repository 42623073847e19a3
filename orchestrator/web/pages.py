"""The operators' console: sign-in, the status board, one item's story, system health, alerts.

Server-rendered Chinese pages (Jinja2); console.js swaps in fragments such as /board/rows every
few seconds. Every page needs a session (deps.principal); forms carry the session's CSRF token.
"""

from __future__ import annotations

import difflib
import logging
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from channels.base import ChannelKind
from channels.registry import load_channels
from gate.model import STAGE_ORDER, ReviewStage, Role
from gate.rules import ReviewContext
from gate.signature import signature_valid
from orchestrator.errors import InvalidInput, NotFound, SanshenError, Unauthenticated
from orchestrator.models import (
    Alert,
    Department,
    Person,
    Publication,
    ReviewAction,
    Submission,
    Version,
)
from orchestrator.permissions import PERMISSIONS, WRITERS, holds
from orchestrator.services import (
    alerts,
    amendments,
    deadlines,
    pauses,
    review,
    submissions,
    verification,
)
from orchestrator.services.org import person_by_username
from orchestrator.services.review import carried, review_record
from orchestrator.services.verification import WATCHED
from orchestrator.states import State
from orchestrator.web import auth
from orchestrator.web.deps import RowId, get_app, principal
from orchestrator.web.templating import (
    SHANGHAI,
    STATIC_DIR,
    channel_label,
    channel_names,
    flash,
    fragment,
    load_me,
    local,
    page,
    templates,
)

log = logging.getLogger("sanshen.console")
router = APIRouter(include_in_schema=False)
Who = Annotated[auth.Principal, Depends(principal)]
STATIC_FILES = frozenset(p.name for p in STATIC_DIR.iterdir() if p.is_file())


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static(name: str) -> Response:
    """The console's own CSS and JS (a fixed list of files: no path ever reaches the disk)."""
    if name not in STATIC_FILES:
        raise NotFound(f"没有静态文件 {name}", code="static_not_found")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        (STATIC_DIR / name).read_bytes(),
        media_type=kind + ("; charset=utf-8" if kind.startswith("text/") else ""),
        headers={"Cache-Control": "public, max-age=300"},
    )


# --- signing in and out ---------------------------------------------------------------------


def local_path(target: str | None) -> str | None:
    """Only a path on this site: never another host (//evil, /\\evil, https://…). Browsers
    drop tabs and newlines from a URL and read a backslash as a slash, so neither may appear."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(c == "\\" or ord(c) < 0x20 for c in target):
        return None
    return target


def _login_form(
    request: Request, *, username: str = "", error: str = "", next_: str = "", status: int = 200
) -> HTMLResponse:
    token = auth.login_csrf_token(request.cookies.get(auth.LOGIN_CSRF_COOKIE))
    response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "me": None,
            "csrf_token": "",
            "login_csrf": token,
            "flash": None,
            "username": username,
            "error": error,
            "next": local_path(next_) or "",
        },
        status_code=status,
    )
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=get_app().settings.cookie_secure,
        max_age=24 * 3600,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> HTMLResponse:
    return _login_form(request, next_=next)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    app = get_app()
    if not auth.login_csrf_ok(request.cookies.get(auth.LOGIN_CSRF_COOKIE), csrf_token):
        return _login_form(
            request,
            username=username,
            error="登录页面已失效或来源不明（CSRF 校验失败），请刷新页面后重新登录",
            next_=next,
            status=403,
        )
    if not username.strip() or not password:
        return _login_form(
            request, username=username, error="请输入用户名和密码", next_=next, status=400
        )
    try:
        token, _csrf = auth.attempt_sign_in(app.db, username.strip(), password, app.settings)
    except Unauthenticated as refusal:
        return _login_form(
            request, username=username, error=refusal.message, next_=next, status=401
        )
    response = RedirectResponse(local_path(next) or "/", status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=app.settings.cookie_secure,
        max_age=app.settings.session_max_hours * 3600,
        path="/",
    )
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, who: Who) -> Response:
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if cookie and who.via == "session":
        with get_app().db.session() as session:
            auth.sign_out(session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(who: Who) -> Response:
    """Reviewers start at their to-do list, everyone else at the board."""
    policy = get_app().policy
    reviewer_roles = {r.value for stage in STAGE_ORDER for r in policy.roles_for(stage)}
    me = load_me(who)
    return RedirectResponse("/todo" if me.has(*reviewer_roles) else "/board", status_code=303)


# --- the status board -----------------------------------------------------------------------

PAGE_SIZE = 50
OVERDUE_GRACE = timedelta(minutes=2)
ATTENTION_STATES = (State.FAILED.value, State.UNCONFIRMED.value)
# 待人工发布 waits too: for a person to publish it by hand at its time
WAITING_STATES = (State.SCHEDULED.value, State.QUEUED.value, State.MANUAL.value)
# 发布核验 found the live page changed or gone while the row is published
BAD_VERDICTS = ("mismatch", "removed")


@dataclass(frozen=True)
class BoardFilter:
    """The board's GET parameters; unknown or malformed values are dropped with a problem."""

    state: str = ""
    channel: str = ""
    department: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    problems: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> BoardFilter:
        problems: list[str] = []
        state = params.get("state", "")
        if state and state not in {s.value for s in State}:
            problems.append(f"未知状态“{state}”")
            state = ""
        channel = params.get("channel", "")
        if channel and channel not in channel_names():
            problems.append(f"未知渠道“{channel}”")
            channel = ""

        def day(key: str, label: str) -> date | None:
            text = params.get(key, "").strip()
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                problems.append(f"{label}“{text}”不是有效日期（应为 YYYY-MM-DD）")
                return None

        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            state=state,
            channel=channel,
            department=params.get("department", "")[:64],
            date_from=day("from", "起始日期"),
            date_to=day("to", "截止日期"),
            page=page,
            problems=tuple(problems),
        )

    def query(self, **changes: Any) -> str:
        """The parameters as a query string (page and other fields overridable)."""
        values = {
            "state": self.state,
            "channel": self.channel,
            "department": self.department,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "page": str(self.page) if self.page > 1 else "",
        } | {k: str(v) for k, v in changes.items()}
        if values["page"] == "1":
            values["page"] = ""
        return urlencode({k: v for k, v in values.items() if v})

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.state:
            found.append(Publication.state == self.state)
        if self.channel:
            found.append(Publication.channel == self.channel)
        if self.department:
            found.append(Department.code == self.department)
        if self.date_from:
            found.append(Publication.scheduled_at >= shanghai_midnight(self.date_from))
        if self.date_to:
            found.append(
                Publication.scheduled_at < shanghai_midnight(self.date_to + timedelta(days=1))
            )
        return found


def shanghai_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def ordered_channels() -> list[str]:
    """Own platforms first, then the upward ones; by name within each."""
    classes = load_channels()
    return sorted(classes, key=lambda n: (classes[n].kind is not ChannelKind.OWN, n))


@dataclass
class BoardRow:
    submission_id: int
    title: str
    department: str
    attention: bool
    cells: dict[str, Publication]


def overdue(pub: Publication, now: datetime) -> bool:
    """Still waiting well after its time (the scheduler is behind or stopped)."""
    return pub.state in WAITING_STATES and pub.scheduled_at < now - OVERDUE_GRACE


def live_problem(pub: Publication) -> bool:
    return pub.state == State.PUBLISHED.value and pub.verdict in BAD_VERDICTS


def needs_attention(pub: Publication, now: datetime) -> bool:
    return pub.state in ATTENTION_STATES or overdue(pub, now) or live_problem(pub)


def board_rows(session: Session, flt: BoardFilter, now: datetime) -> tuple[list[BoardRow], bool]:
    """One page of submissions that have publications: failed, unconfirmed and overdue first,
    then newest first. Only the page's own publications are loaded."""
    attention = func.max(
        case(
            (Publication.state.in_(ATTENTION_STATES), 1),
            (
                and_(
                    Publication.state.in_(WAITING_STATES),
                    Publication.scheduled_at < now - OVERDUE_GRACE,
                ),
                1,
            ),
            (
                and_(
                    Publication.state == State.PUBLISHED.value,
                    Publication.verdict.in_(BAD_VERDICTS),
                ),
                1,
            ),
            else_=0,
        )
    )
    picked = select(Publication.submission_id, attention.label("attention"))
    if flt.department:
        picked = picked.join(Submission, Submission.id == Publication.submission_id).join(
            Department, Department.id == Submission.department_id
        )
    picked = (
        picked.where(*flt.conditions())
        .group_by(Publication.submission_id)
        .order_by(attention.desc(), Publication.submission_id.desc())
        .offset((flt.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    ids = [row.submission_id for row in session.execute(picked)]
    more, ids = len(ids) > PAGE_SIZE, ids[:PAGE_SIZE]
    if not ids:
        return [], False
    pubs = session.scalars(
        select(Publication)
        .where(Publication.submission_id.in_(ids))
        .options(
            selectinload(Publication.version),
            selectinload(Publication.submission).selectinload(Submission.department),
        )
        .order_by(Publication.id)
    ).all()
    rows: dict[int, BoardRow] = {}
    for pub in pubs:  # by id: a later version's row replaces an earlier one in its cell
        row = rows.get(pub.submission_id)
        if row is None:
            row = rows[pub.submission_id] = BoardRow(
                pub.submission_id, "", pub.submission.department.name, False, {}
            )
        row.cells[pub.channel] = pub
        row.title = pub.version.title
    for row in rows.values():
        row.attention = any(needs_attention(p, now) for p in row.cells.values())
    return [rows[i] for i in ids if i in rows], more


REVIEW_WAITS_SHOWN = 100


def review_waits(session: Session, department: str | None, now: datetime) -> list[Any]:
    """Items in review with the stage they wait at, overdue first, then longest waiting
    (services/deadlines: the limits the reminders follow)."""
    app = get_app()
    query = deadlines.open_submissions().limit(REVIEW_WAITS_SHOWN)
    if department:
        query = query.join(Department, Department.id == Submission.department_id).where(
            Department.code == department
        )
    waits = []
    for sub in session.scalars(query):
        context = ReviewContext(review.review_record(sub), app.policy, now)
        wait = deadlines.wait_of(sub, context, app.settings)
        if wait is not None:
            waits.append(wait)
    return sorted(waits, key=lambda w: (not w.overdue(now), w.since))


def _board_context(request: Request) -> dict[str, Any]:
    flt = BoardFilter.parse(request.query_params)
    now = datetime.now(UTC)
    with get_app().db.read() as session:
        rows, more = board_rows(session, flt, now)
        waits = review_waits(session, flt.department, now)
        departments = session.execute(
            select(Department.code, Department.name).order_by(Department.name)
        ).all()
    return {
        "filter": flt,
        "rows": rows,
        "more": more,
        "now": now,
        "channels": [flt.channel] if flt.channel else ordered_channels(),
        "all_channels": ordered_channels(),
        "states": list(State),
        "departments": departments,
        "overdue": overdue,
        "waits": waits,
    }


@router.get("/board", response_class=HTMLResponse)
def board(request: Request, who: Who) -> HTMLResponse:
    return page(request, "board.html", who, **_board_context(request))


@router.get("/board/rows", response_class=HTMLResponse)
def board_fragment(request: Request, who: Who) -> HTMLResponse:
    return fragment(request, "board_rows.html", **_board_context(request))


# --- one item: versions, review timeline, each channel with its buttons --------------------


class _Text(HTMLParser):
    """The readable text of a body, one line per block (a table row's cells joined by " | "),
    images as [图片 name]. An editor writes a body on one line: its blocks still diff apart."""

    BLOCKS = frozenset(
        {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = [""]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS and self.lines[-1]:
            self.lines.append("")
        if tag in ("td", "th") and self.lines[-1]:
            self.lines[-1] += " | "
        if tag == "img":
            self.lines[-1] += f"[图片 {dict(attrs).get('src') or ''}]"

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS and self.lines[-1]:
            self.lines.append("")

    def handle_data(self, data: str) -> None:
        self.lines[-1] += data.strip()


def text_lines(version: Version) -> list[str]:
    parser = _Text()
    parser.feed(version.body_html)
    parser.close()
    return [f"标题：{version.title}", *(line for line in parser.lines if line)]


def _facts(version: Version) -> dict[str, str]:
    """What people compare between versions, field by field."""
    return {
        "标题": version.title,
        "正文": version.body_html,
        "摘要": version.digest,
        "署名": version.byline,
        "封面": version.cover_sha256 or "",
        "图片": " ".join(i.sha256 for i in version.images),
        "重大事件": "是" if version.major_event else "否",
        "特殊内容": "是" if version.special_content else "否",
        "发布渠道与日期": "；".join(
            f"{channel_label(c.channel)} {c.publish_date} {c.remark}" for c in version.channels
        ),
        "转载来源": f"{version.repost_platform or ''} {version.repost_url or ''}".strip(),
    }


@dataclass
class VersionView:
    version: Version
    changed: list[str]  # the fields that differ from the previous version
    diff_html: str  # difflib's side-by-side table of title and body text ('' for the first)


def version_views(versions: list[Version]) -> list[VersionView]:
    views = []
    for before, after in zip([None, *versions], versions, strict=False):
        if before is None:
            views.append(VersionView(after, [], ""))
            continue
        old, new = _facts(before), _facts(after)
        table = difflib.HtmlDiff(wrapcolumn=48).make_table(
            text_lines(before),
            text_lines(after),
            fromdesc=f"第 {before.number} 版",
            todesc=f"第 {after.number} 版",
            context=True,
            numlines=1,
        )
        views.append(VersionView(after, [k for k in new if new[k] != old[k]], table))
    return views


@dataclass
class ReviewView:
    row: ReviewAction
    version_number: int
    signature_ok: bool


def review_views(submission: Submission) -> list[ReviewView]:
    """Each decision with its signature checked against the signer's public key."""
    record = review_record(submission)
    numbers = {v.id: v.number for v in submission.versions}
    views = []
    for row, action in zip(submission.actions, record.actions, strict=True):
        try:
            ok = signature_valid(action, row.actor.public_key)
        except ValueError:
            ok = False
        views.append(ReviewView(row, numbers.get(row.version_id, 0), ok))
    return views


RETRACTABLE = (State.PUBLISHED.value, State.SUBMITTED.value, State.UNCONFIRMED.value)


CONTENT_REFUSALS = frozenset({"content_rejected"})


def content_refused(pub: Publication) -> bool:
    return pub.state == State.FAILED.value and pub.last_error_class in CONTENT_REFUSALS


def offered_actions(person: Person, pub: Publication, now: datetime) -> list[str]:
    """The buttons this person gets for this publication: their role for the channel's kind
    (orchestrator.permissions) and the publication's state must both allow the action."""
    cls = load_channels().get(pub.channel)
    if cls is None:
        return []
    kind = cls.kind

    def may(action: str) -> bool:
        return holds(person, PERMISSIONS.get((action, kind), frozenset()), now)

    state = pub.state
    offered = []
    # The platform refused the content: the fix is a new version (reviewed again), not a resend.
    if content_refused(pub) and holds(person, WRITERS, now):
        offered.append("revise")
    if state in (State.FAILED.value, State.UNCONFIRMED.value) and may("retry"):
        offered.append("retry")
    if state == State.SCHEDULED.value and may("schedule"):
        offered.append("reschedule")
    signs_off = get_app().policy.roles_for(ReviewStage.SIGN_OFF)
    if state in (State.SCHEDULED.value, State.HELD.value) and holds(person, signs_off, now):
        offered.append("amend")
    if state == State.HELD.value and may("release"):
        offered += ["release", "drop"]
    if state in WAITING_STATES and may("schedule"):
        offered.append("cancel")
    by_hand = pub.mode == "assisted"
    if state == State.MANUAL.value and may("publish_by_hand"):
        offered.append("package")
    if state == State.TAKEDOWN.value and may("retract"):
        offered.append("takedown")
    retractable = (by_hand and state == State.PUBLISHED.value) or (
        state in RETRACTABLE and pub.receipt and cls.capabilities.retract
    )
    if retractable and may("retract"):
        offered.append("retract")
    if pub.url and state in WATCHED and may("verify"):
        offered.append("verify")
    confirmable = state == State.UNCONFIRMED.value or (
        state == State.SUBMITTED.value and kind is ChannelKind.UPWARD
    )
    if confirmable and may("confirm"):
        offered.append("confirm")
    return offered


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


def _when(text: str) -> datetime:
    """A datetime-local value ("2026-11-25T14:30") read as Shanghai time, or "now"."""
    if text in ("", "now"):
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"时间“{text}”无效，应为 YYYY-MM-DD HH:MM", code="bad_time") from None
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


def _act(action: str, pub_id: int, channel: str, who: auth.Principal, form: ActionForm) -> str:
    from orchestrator.web.deps import publisher

    p = publisher()
    if action == "retry":
        p.retry(pub_id, actor=who.username, checked=form.checked)  # enqueued after the commit
        return "已重新排队发送"
    if action == "cancel":
        p.cancel(pub_id, reason=form.reason.strip() or "在控制台取消", actor=who.username)
        return "已取消发布"
    if action == "reschedule":
        when = _when("now" if form.now else form.when)
        p.reschedule(pub_id, when=when, actor=who.username)
        return "已改期至 " + local(when)
    if action == "amend":
        return _amend(pub_id, who, form)
    if action == "release":
        return "已放行，" + local(p.release(pub_id, actor=who.username)) + " 作为本单位稿件发布"
    if action == "drop":
        p.drop(pub_id, reason=form.reason, actor=who.username)
        return "已撤下，不再发布"
    if action == "retract":
        p.retract(pub_id, reason=form.reason, actor=who.username)
        return "已撤稿"
    if action == "confirm":
        p.confirm_by_hand(pub_id, url=form.url.strip(), actor=who.username)
        return "已人工确认发布"
    if action == "verify":
        return _verify(pub_id, who)
    raise NotFound(f"没有操作“{action}”", code="unknown_action")


def _verify(pub_id: int, who: auth.Principal) -> str:
    from orchestrator.web.deps import publisher

    (checked,) = verification.verify_as(get_app(), publisher().hub, [pub_id], actor=who.username)
    if checked.verdict.value == "consistent":
        return "核验一致：线上页面与签发版本相同"
    return f"核验结果：{checked.verdict.label}。{checked.reason}"


def _amend(pub_id: int, who: auth.Principal, form: ActionForm) -> str:
    try:
        day = date.fromisoformat(form.new_date)
        clock = time.fromisoformat(form.at) if form.at else None
    except ValueError:
        raise InvalidInput("请填写有效的新日期和时间", code="bad_date") from None
    app = get_app()
    with app.db.session() as session:
        done = amendments.amend_date(
            session,
            pub_id,
            new_date=day,
            at_time=clock,
            actor=who.username,
            password=form.password,
            policy=app.policy,
            comment=form.reason.strip(),
        )
        return f"已签署改期，改至 {local(done.scheduled_at)}"


@dataclass
class ActionForm:
    reason: str = ""
    when: str = ""
    now: bool = False
    url: str = ""
    checked: bool = False
    new_date: str = ""
    at: str = ""
    password: str = ""


@router.post("/items/{submission_id}/publications/{pub_id}/{action}")
def publication_action(
    submission_id: RowId,
    pub_id: RowId,
    action: str,
    who: Who,
    reason: Annotated[str, Form()] = "",
    when: Annotated[str, Form()] = "",
    now: Annotated[bool, Form()] = False,
    url: Annotated[str, Form()] = "",
    checked: Annotated[bool, Form()] = False,
    new_date: Annotated[str, Form()] = "",
    at: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    with get_app().db.read() as session:
        pub = session.get(Publication, pub_id)
        if pub is None or pub.submission_id != submission_id:
            raise NotFound(f"稿件 {submission_id} 没有发布 {pub_id}", code="unknown_publication")
        channel = pub.channel
    label = channel_label(channel)
    try:
        form = ActionForm(reason, when, now, url, checked, new_date, at, password)
        done = _act(action, pub_id, channel, who, form)
    except SanshenError as refusal:
        return flash(_back(submission_id, pub_id), f"{label}：{refusal.message}", "error")
    return flash(_back(submission_id, pub_id), f"{label}：{done}")


@router.post("/items/{submission_id}/retract-all")
def retract_all(submission_id: RowId, who: Who, reason: Annotated[str, Form()] = "") -> Response:
    from orchestrator.web.deps import publisher

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


# --- system health and alerts ---------------------------------------------------------------

PART_LABELS = {
    "broker": "消息队列（Redis）",
    "workers": "发送进程（Celery worker）",
    "scheduler": "调度循环",
    "queues": "队列长度",
    "database": "数据库",
    "publications": "发布状态统计",
}
LOOP_LABELS = {
    "dispatch": "到期发布扫描",
    "reconcile": "核对（对账）",
    "alerts": "告警发送",
    "notify": "通知发送",
    "verify": "发布核验（巡检）",
}


def _health() -> dict[str, Any]:
    from orchestrator.services import health

    return health.snapshot(get_app())


def _pause_gate() -> Any:
    from orchestrator.web.deps import publisher

    return publisher().gate  # the Redis every worker reads


def _channel_pauses(username: str) -> tuple[list[dict[str, Any]], dict[str, bool], str]:
    """Each channel's pause, whether this person may pause or resume it, and a problem."""
    classes = load_channels()
    now = datetime.now(UTC)
    with get_app().db.read() as session:
        person = person_by_username(session, username)
        may = {
            name: holds(person, PERMISSIONS[("pause", cls.kind)], now)
            for name, cls in classes.items()
        }
    try:
        rows = pauses.states(_pause_gate(), classes)
    except Exception as error:  # the page still shows the rest
        log.warning("channel pauses unreadable: %s", error)
        return [], may, f"消息队列不可用，无法读取渠道暂停状态：{error}"
    with get_app().db.read() as session:
        names = dict(
            session.execute(
                select(Person.username, Person.name).where(
                    Person.username.in_({row["by"] for row in rows})
                )
            ).all()
        )
    for row in rows:
        who_ = names.get(row["by"])
        row["by_label"] = "平台要求" if row["by"] == "platform" else (who_ or row["by"])
    return rows, may, ""


@router.get("/health", response_class=HTMLResponse)
def health_page(request: Request, who: Who) -> HTMLResponse:
    snap = _health()
    channel_rows, may_pause, pause_problem = _channel_pauses(who.username)
    return page(
        request,
        "health.html",
        who,
        snap=snap,
        parts=[
            (name, PART_LABELS.get(name, name), snap[name]) for name in PART_LABELS if name in snap
        ],
        loop_labels=LOOP_LABELS,
        parse_time=datetime.fromisoformat,
        channel_rows=channel_rows,
        may_pause=may_pause,
        pause_problem=pause_problem,
        pause_choices=PAUSE_CHOICES,
    )


PAUSE_CHOICES = ((30, "30 分钟"), (60, "1 小时"), (240, "4 小时"), (1440, "1 天"), (4320, "3 天"))


@router.post("/health/channels/{name}/{action}")
def channel_pause_action(
    name: str,
    action: str,
    who: Who,
    reason: Annotated[str, Form(max_length=500)] = "",
    minutes: Annotated[int, Form()] = 60,
) -> Response:
    back = RedirectResponse("/health#channels", status_code=303)
    classes = load_channels()
    label = classes[name].display_name if name in classes else name
    try:
        if action == "pause":
            pauses.pause(
                get_app(), _pause_gate(), classes, name,
                minutes=minutes, reason=reason, actor=who.username,
            )  # fmt: skip
            return flash(back, f"{label}：已暂停发送 {minutes} 分钟")
        if action == "resume":
            done = pauses.resume(get_app(), _pause_gate(), classes, name, actor=who.username)
            return flash(
                back, f"{label}：已恢复发送，{done['rows_due_now']} 条等待中的发布现在到期"
            )
        raise NotFound(f"没有操作“{action}”", code="unknown_action")
    except SanshenError as refusal:
        return flash(back, f"{label}：{refusal.message}", "error")


ALERT_KINDS = {k: v for k, v in alerts.KIND_LABELS.items() if k != "integrity"}
DELIVERY_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}
ALERTS_PAGE = 100


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, who: Who, page_number: int = Query(1, alias="page")
) -> HTMLResponse:
    page_number = max(1, page_number)
    with get_app().db.read() as session:
        rows = session.execute(
            select(Alert, Publication.submission_id, Publication.channel)
            .outerjoin(Publication, Publication.id == Alert.publication_id)
            .order_by(Alert.created_at.desc(), Alert.id.desc())
            .offset((page_number - 1) * ALERTS_PAGE)
            .limit(ALERTS_PAGE + 1)
        ).all()
    return page(
        request,
        "alerts.html",
        who,
        alerts=rows[:ALERTS_PAGE],
        more=len(rows) > ALERTS_PAGE,
        page_number=page_number,
        kinds=ALERT_KINDS,
        deliveries=DELIVERY_LABELS,
        can_acknowledge=holds_now(who, alerts.ACKNOWLEDGERS),
    )


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge_alert(alert_id: RowId, who: Who) -> Response:
    """已知悉: a person takes the alert on; the first acknowledgement is kept and audited."""
    response = RedirectResponse(f"/alerts#alert-{alert_id}", status_code=303)
    try:
        with get_app().db.session() as session:
            alerts.acknowledge(session, alert_id, actor=who.username)
    except SanshenError as error:
        return flash(response, error.message, "error")
    return flash(response, f"告警 {alert_id} 已确认")


def holds_now(who: auth.Principal, roles: frozenset[Role]) -> bool:
    with get_app().db.read() as session:
        person = session.get(Person, who.person_id)
        return person is not None and holds(person, roles, datetime.now(UTC))
