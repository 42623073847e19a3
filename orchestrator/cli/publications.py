"""Each channel's publications; the 综合科 upward queue and reposts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated, Any

import typer
from sqlalchemy import select

from orchestrator.cli.base import (
    SHANGHAI,
    STATE_LABEL_BY_CODE,
    ActorOpt,
    JsonOpt,
    PublicationArg,
    PwOpt,
    ReasonOpt,
    SubmissionArg,
    app,
    channel_code,
    channel_label,
    ctx,
    local,
    read_password,
    run,
    state_code,
)
from orchestrator.cli.table import table
from orchestrator.errors import InvalidInput
from orchestrator.models import Publication
from orchestrator.services import amendments
from orchestrator.services.hub import MemoryRateGate, hub_for, running_broker
from orchestrator.services.publishing import Publisher, get_publication
from orchestrator.states import State

# --- publications ---------------------------------------------------------------------------

pub_app = typer.Typer(help="各渠道发布：查看、改期、取消、撤稿、重发、确认", no_args_is_help=True)
app.add_typer(pub_app, name="publication")


def publisher() -> Publisher:
    """A row a person re-queues goes to the workers at once when a broker runs (configured, or
    the embedded one of a running `sanshen up`); otherwise the scheduler's sweep sends it. The
    command never starts a broker of its own."""
    app = ctx().app
    enqueue: Callable[[list[tuple[int, str]]], None] | None = None
    settings = app.settings
    if running_broker(settings) is not None:
        from tasks.jobs import enqueue
    return Publisher(app, hub_for(settings.data_dir), MemoryRateGate(), enqueue=enqueue)


def act_on(
    pub_id: int,
    as_json: bool,
    act: Callable[[Publisher], object],
    result: dict[str, Any],
    done: str,
) -> None:
    """A command that moves one publication: `act` on it, then `result` for scripts or
    "发布 <id> <done>" for people."""

    def work() -> dict[str, Any]:
        act(publisher())
        return {"publication": pub_id, **result}

    run(as_json, work, lambda r: typer.echo(f"发布 {pub_id} {done}"))


def describe_publication(pub: Any, with_attempts: bool = False) -> dict[str, Any]:

    out = {
        "id": pub.id,
        "submission": pub.submission_id,
        "version": pub.version.number,
        "title": pub.version.title,
        "channel": pub.channel,
        "state": pub.state,
        "state_label": State(pub.state).label,
        "scheduled_at": pub.scheduled_at,
        "late": pub.late,
        "attempts": pub.attempts,
        "external_id": pub.external_id,
        "url": pub.url,
        "source": {"platform": pub.source_platform, "url": pub.source_url}
        if pub.source_platform
        else None,
        "last_error": pub.last_error,
        "note": pub.note,
    }
    if with_attempts:
        out["attempt_log"] = [
            {
                "operation": a.operation,
                "started_at": a.started_at,
                "duration_ms": a.duration_ms,
                "outcome": a.outcome,
                "error_class": a.error_class,
                "message": a.message,
            }
            for a in pub.attempt_rows
        ]
    return out


def show_publications(rows: list[dict[str, Any]]) -> None:
    if not rows:
        typer.echo("（没有发布记录）")
        return
    lines = [
        (
            r["id"],
            r["submission"],
            channel_label(r["channel"]),
            r["state_label"] + ("（逾期）" if r["late"] else ""),
            local(r["scheduled_at"]),
            r["url"] or r["last_error"] or "",
        )
        for r in rows
    ]
    header = ("发布编号", "稿件", "渠道", "状态", "计划发布时间", "链接或错误")
    typer.echo(table(lines, header, right={0, 1}))


@app.command("publications", help="列出各渠道发布状态（可按稿件、状态、渠道筛选）")
def publications_cmd(
    submission: Annotated[int | None, typer.Option(help="稿件编号")] = None,
    state: Annotated[str | None, typer.Option(help="状态，如 失败（或 failed）")] = None,
    channel: Annotated[str | None, typer.Option(help="渠道，如 政府网站（或 gov_website）")] = None,
    as_json: JsonOpt = False,
) -> None:

    def work() -> list[dict[str, Any]]:
        with ctx().session() as session:
            query = select(Publication).order_by(Publication.scheduled_at, Publication.id)
            if submission is not None:
                query = query.where(Publication.submission_id == submission)
            if state:
                query = query.where(Publication.state == state_code(state))
            if channel:
                query = query.where(Publication.channel == channel_code(channel))
            return [describe_publication(p) for p in session.scalars(query)]

    run(as_json, work, show_publications)


@pub_app.command("show", help="查看一个发布及其每次尝试")
def publication_show(pub_id: PublicationArg, as_json: JsonOpt = False) -> None:

    def work() -> dict[str, Any]:
        with ctx().session() as session:
            return describe_publication(get_publication(session, pub_id), with_attempts=True)

    def show(r: dict[str, Any]) -> None:
        # the console's labels (one table for both; importing it loads the web templates)
        from orchestrator.web.templating import OPERATION_LABELS, OUTCOME_LABELS

        show_publications([r])
        attempts = [
            (
                local(a["started_at"]),
                OPERATION_LABELS.get(a["operation"], a["operation"]),
                OUTCOME_LABELS.get(a["outcome"], a["outcome"]),
                f"{a['duration_ms']} 毫秒",
                a["message"] or "",
            )
            for a in r["attempt_log"]
        ]
        if attempts:
            typer.echo("\n尝试记录：")
            header = ("开始时间", "操作", "结果", "用时", "说明")
            typer.echo(table(attempts, header, right={3}, indent="  "))

    run(as_json, work, show)


def parse_when(text: str) -> datetime:
    if text in ("now", "现在"):
        return datetime.now(SHANGHAI)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"时间“{text}”无效，应为 YYYY-MM-DD HH:MM", code="bad_time") from None
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


@pub_app.command(
    "reschedule",
    help="在签发的发布日期当天内调整时间（或 --at 现在 立即发布）；改到其他日期用 amend-date",
)
def publication_reschedule(
    pub_id: PublicationArg,
    at: Annotated[str, typer.Option(help="新的发布时间 YYYY-MM-DD HH:MM，或 现在")],
    actor: ActorOpt,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        publisher().reschedule(pub_id, when=parse_when(at), actor=actor)
        return {"publication": pub_id, "scheduled_at": parse_when(at)}

    run(as_json, work, lambda r: typer.echo(f"发布 {pub_id} 已改期至 {local(r['scheduled_at'])}"))


@pub_app.command(
    "amend-date", help="宣传分管领导签署改期：把已签发的发布改到另一天（须输入密码以签名）"
)
def publication_amend_date(
    pub_id: PublicationArg,
    new_date: Annotated[str, typer.Option("--date", help="新的发布日期 YYYY-MM-DD")],
    actor: ActorOpt,
    at: Annotated[str | None, typer.Option(help="当天的发布时间 HH:MM（默认保持原时间）")] = None,
    comment: Annotated[str, typer.Option(help="改期原因（签入签名）")] = "",
    password_stdin: PwOpt = False,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        day, clock = parse_day(new_date), parse_clock(at) if at else None
        password = read_password(password_stdin)
        with ctx().session() as session:
            done = amendments.amend_date(
                session,
                pub_id,
                new_date=day,
                at_time=clock,
                actor=actor,
                password=password,
                policy=ctx().app.policy,
                comment=comment,
            )
            return {
                "publication": pub_id,
                "amendment": done.amendment.id,
                "old_date": done.amendment.old_date.isoformat(),
                "new_date": done.amendment.new_date.isoformat(),
                "scheduled_at": done.scheduled_at,
            }

    run(
        as_json,
        work,
        lambda r: typer.echo(
            f"发布 {pub_id} 已改期：{r['old_date']} → {r['new_date']}，"
            f"将于 {local(r['scheduled_at'])} 发布（改期已签名并记入审计链）"
        ),
    )


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"日期“{text}”无效，应为 YYYY-MM-DD", code="bad_date") from None


def parse_clock(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"时间“{text}”无效，应为 HH:MM", code="bad_time") from None


@pub_app.command("cancel", help="取消尚未开始发送的发布")
def publication_cancel(
    pub_id: PublicationArg, actor: ActorOpt, reason: ReasonOpt = "", as_json: JsonOpt = False
) -> None:
    act_on(
        pub_id,
        as_json,
        lambda p: p.cancel(pub_id, reason=reason, actor=actor),
        {"state": "cancelled"},
        "已取消",
    )


@pub_app.command("retract", help="撤稿（单个渠道）")
def publication_retract(
    pub_id: PublicationArg, actor: ActorOpt, reason: ReasonOpt, as_json: JsonOpt = False
) -> None:
    def work() -> dict[str, Any]:
        return {
            "publication": pub_id,
            "state": publisher().retract(pub_id, reason=reason, actor=actor),
        }

    run(as_json, work, lambda r: typer.echo(f"发布 {pub_id} 已撤稿"))


@app.command("retract", help="撤稿：撤回一篇稿件在所有渠道的发布")
def retract_all_cmd(
    submission_id: SubmissionArg, actor: ActorOpt, reason: ReasonOpt, as_json: JsonOpt = False
) -> None:
    def work() -> dict[str, str]:
        return publisher().retract_all(submission_id, reason=reason, actor=actor)

    def show(results: dict[str, str]) -> None:
        rows = [(channel_label(channel), _outcome(text)) for channel, text in results.items()]
        typer.echo(table(rows, indent="  "))

    run(as_json, work, show, status=lambda r: 0 if all(v == "retracted" for v in r.values()) else 5)


def _outcome(text: str) -> str:
    """What `retract_all` reports for a channel: the state it reached (已撤稿, 待人工撤下), or
    why it could not, without the refusal's code ("code: message")."""
    if text in STATE_LABEL_BY_CODE:
        return STATE_LABEL_BY_CODE[text]
    return text.partition(": ")[2] or text


@pub_app.command("retry", help="重发失败的发布；“结果未确认”的须先在平台核对并加 --checked")
def publication_retry(
    pub_id: PublicationArg,
    actor: ActorOpt,
    checked: Annotated[bool, typer.Option(help="已在平台核对确认未发布")] = False,
    as_json: JsonOpt = False,
) -> None:
    act_on(
        pub_id,
        as_json,
        lambda p: p.retry(pub_id, actor=actor, checked=checked),
        {"state": "queued"},
        "已重新排队",
    )


@pub_app.command("confirm", help="人工确认已在平台发布（或综合科登记上级平台已采用）")
def publication_confirm(
    pub_id: PublicationArg,
    url: Annotated[str, typer.Option(help="发布链接")],
    actor: ActorOpt,
    as_json: JsonOpt = False,
) -> None:
    act_on(
        pub_id,
        as_json,
        lambda p: p.confirm_by_hand(pub_id, url=url, actor=actor),
        {"state": "published", "url": url},
        f"已确认发布：{url}",
    )
