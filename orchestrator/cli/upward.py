"""`sanshen upward`: 综合科's upward queue (学习强国, 绿色青浦…), reposts of adopted items, and
what becomes of the own-platform rows that wait for an adoption."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy import select

from channels.base import ChannelKind
from channels.registry import load_channels
from orchestrator.cli.base import (
    SHANGHAI,
    ActorOpt,
    JsonOpt,
    PublicationArg,
    ReasonOpt,
    app,
    ctx,
    local,
    run,
)
from orchestrator.cli.content import describe_submission, show_submission
from orchestrator.cli.publications import (
    act_on,
    describe_publication,
    publisher,
    show_publications,
)
from orchestrator.models import Publication
from orchestrator.permissions import require
from orchestrator.services import reposts, submissions
from orchestrator.services.publishing import get_publication

upward_app = typer.Typer(help="综合科：对上报送队列与转载", no_args_is_help=True)
app.add_typer(upward_app, name="upward")


@upward_app.command("queue", help="对上报送队列：学习强国、绿色青浦等的报送与采用情况")
def upward_queue(as_json: JsonOpt = False) -> None:

    def work() -> list[dict[str, Any]]:
        upward = [n for n, c in load_channels().items() if c.kind is ChannelKind.UPWARD]
        with ctx().session() as session:
            query = (
                select(Publication)
                .where(Publication.channel.in_(upward))
                .order_by(Publication.scheduled_at)
            )
            return [describe_publication(p) for p in session.scalars(query)]

    run(as_json, work, show_publications)


@upward_app.command(
    "repost", help="转载：为已被上级平台采用的报送生成转载稿（与原稿一致时只需签发）"
)
def upward_repost(
    pub_id: PublicationArg,
    actor: ActorOpt,
    channel: Annotated[
        list[str] | None, typer.Option("--channel", help="转载渠道，缺省为本单位全部平台")
    ] = None,
    as_json: JsonOpt = False,
) -> None:

    def work() -> dict[str, Any]:

        with ctx().session() as session:
            require(session, actor, "repost", ChannelKind.UPWARD, datetime.now(SHANGHAI))
            catalogue = submissions.channel_catalogue()
            names = [submissions.resolve_channel(c, catalogue) for c in channel or []]
            sub = reposts.draft_repost(
                session,
                ctx().app,
                get_publication(session, pub_id),
                actor=actor,
                channels=names or None,
            )
            return describe_submission(sub)

    run(as_json, work, show_submission)


@upward_app.command(
    "cite", help="改引来源：转载稿改为引用这一上级平台的采用（转载稿开始发布前；须重新签发）"
)
def upward_cite(pub_id: PublicationArg, actor: ActorOpt, as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        with ctx().session() as session:
            require(session, actor, "repost", ChannelKind.UPWARD, datetime.now(SHANGHAI))
            sub = reposts.cite(session, ctx().app, get_publication(session, pub_id), actor=actor)
            return describe_submission(sub)

    run(as_json, work, show_submission)


@upward_app.command(
    "release", help="放行：同时对上报送、等待上级采用的本单位平台发布，不再等待，作为本单位稿件发布"
)
def upward_release(pub_id: PublicationArg, actor: ActorOpt, as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        when = publisher().release(pub_id, actor=actor)
        return {"publication": pub_id, "state": "scheduled", "scheduled_at": when}

    run(
        as_json,
        work,
        lambda r: typer.echo(f"发布 {pub_id} 已放行，{local(r['scheduled_at'])} 发布"),
    )


@upward_app.command("drop", help="撤下：等待上级采用的本单位平台发布不再发布")
def upward_drop(
    pub_id: PublicationArg, actor: ActorOpt, reason: ReasonOpt, as_json: JsonOpt = False
) -> None:
    act_on(
        pub_id,
        as_json,
        lambda p: p.drop(pub_id, reason=reason, actor=actor),
        {"state": "cancelled"},
        "已撤下",
    )
