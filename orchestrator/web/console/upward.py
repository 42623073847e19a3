"""综合科's page: the items waiting at 稿件用途, the upward queue (报送 and 采用), rows held
for an upward platform, and reposts; confirming an adoption, drafting or re-citing a repost,
releasing or dropping a held row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels.base import ChannelKind
from channels.registry import load_channels
from gate.model import ReviewStage
from gate.rules import ReviewContext
from orchestrator.app import App
from orchestrator.models import Publication, Submission
from orchestrator.permissions import PERMISSIONS, holds, require
from orchestrator.services import deadlines, reposts, review
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.publishing import Publisher, get_publication
from orchestrator.states import State
from orchestrator.web.auth import Principal
from orchestrator.web.console.common import (
    Who,
    flash_outcome,
    form_text,
    person_of,
    utc_now,
)
from orchestrator.web.deps import RowId, get_app
from orchestrator.web.templating import local, page

router = APIRouter(include_in_schema=False)
UPWARD_PAGE = "/upward"


def upward_channels() -> list[str]:
    return [n for n, c in load_channels().items() if c.kind is ChannelKind.UPWARD]


def upward_status(pub: Publication) -> str:
    return {
        "submitted": "已报送，待上级平台采用",
        "published": "已采用",
        "failed": "未采用" if pub.sent_at else "报送失败",
    }.get(pub.state, "")


def upward_context(session: Session, who: Principal) -> dict[str, Any]:
    now = utc_now()
    person = person_of(session, who)
    pubs = list(
        session.scalars(
            select(Publication)
            .where(Publication.channel.in_(upward_channels()))
            .order_by(Publication.scheduled_at.desc(), Publication.id.desc())
            .limit(500)
        )
    )
    # one repost per original (whichever platform adopted first): keyed by the original
    by_origin = {
        s.repost_origin_id: s
        for s in session.scalars(select(Submission).where(Submission.repost_origin_id.is_not(None)))
    }
    held = list(
        session.scalars(
            select(Publication)
            .where(Publication.state == State.HELD.value)
            .order_by(Publication.hold_until, Publication.id)
            .limit(500)
        )
    )
    repost_ids = [s.id for s in by_origin.values()]
    deciding = [
        sub
        for sub in session.scalars(deadlines.open_submissions().limit(500))
        if ReviewContext(review.review_record(sub), get_app().policy, now).next_stage()
        is ReviewStage.USAGE
    ]
    return {
        "deciding": deciding,
        "rows": [
            {"pub": p, "status": upward_status(p), "repost": by_origin.get(p.submission_id)}
            for p in pubs
        ],
        "held": held,
        "now": now,
        "reposts": sorted(by_origin.values(), key=lambda s: s.id, reverse=True),
        # reposts nothing of which has begun to go out: their source may still change
        "citable": set(repost_ids) - reposts.started(session, repost_ids),
        "may_confirm": holds(person, PERMISSIONS[("confirm", ChannelKind.UPWARD)], now),
        "may_repost": holds(person, PERMISSIONS[("repost", ChannelKind.UPWARD)], now),
        "may_release": holds(person, PERMISSIONS[("release", ChannelKind.OWN)], now),
    }


@router.get("/upward", response_class=HTMLResponse)
async def upward_page(request: Request, who: Who) -> Response:
    def work() -> Response:
        with get_app().db.read() as session:
            return page(request, "work_upward.html", who, **upward_context(session, who))

    return await run_in_threadpool(work)


def _publisher() -> Publisher:
    return Publisher(get_app(), ChannelHub(), MemoryRateGate())


def _reposting(
    who: Principal, pub_id: int, make: Callable[[Session, App, Publication], str]
) -> str:
    """`make` a repost from the upward row in one transaction, once the person's permission to
    repost is checked (drafting one and re-citing one need the same)."""
    app = get_app()
    with app.db.session() as session:
        require(session, who.username, "repost", ChannelKind.UPWARD, utc_now())
        return make(session, app, get_publication(session, pub_id))


@router.post("/upward/{pub_id}/confirm")
async def upward_confirm(request: Request, pub_id: RowId, who: Who) -> Response:
    url = form_text(await request.form(), "url").strip()

    def work() -> str:
        _publisher().confirm_by_hand(pub_id, url=url, actor=who.username)
        return f"发布 {pub_id} 已登记为上级平台采用：{url}"

    return await flash_outcome(work, UPWARD_PAGE)


@router.post("/upward/{pub_id}/repost")
async def upward_repost(pub_id: RowId, who: Who) -> Response:
    def draft(session: Session, app: App, upward: Publication) -> str:
        sub = reposts.draft_repost(session, app, upward, actor=who.username)
        return f"已生成转载稿 稿件 {sub.id}（与原稿一致、仅加注来源，只需签发）"

    return await flash_outcome(lambda: _reposting(who, pub_id, draft), UPWARD_PAGE)


@router.post("/upward/{pub_id}/cite")
async def upward_cite(pub_id: RowId, who: Who) -> Response:
    def cite(session: Session, app: App, upward: Publication) -> str:
        sub = reposts.cite(session, app, upward, actor=who.username)
        source = sub.current.repost_platform
        return f"转载稿 稿件 {sub.id} 已改为引用{source}的采用，须重新签发"

    return await flash_outcome(lambda: _reposting(who, pub_id, cite), UPWARD_PAGE)


@router.post("/upward/{pub_id}/release")
async def upward_release(pub_id: RowId, who: Who) -> Response:
    def work() -> str:
        when = _publisher().release(pub_id, actor=who.username)
        return f"发布 {pub_id} 已放行，{local(when)} 作为本单位稿件发布"

    return await flash_outcome(work, UPWARD_PAGE)


@router.post("/upward/{pub_id}/drop")
async def upward_drop(request: Request, pub_id: RowId, who: Who) -> Response:
    reason = form_text(await request.form(), "reason")

    def work() -> str:
        _publisher().drop(pub_id, reason=reason, actor=who.username)
        return f"发布 {pub_id} 已撤下，本单位平台不再发布"

    return await flash_outcome(work, UPWARD_PAGE)
