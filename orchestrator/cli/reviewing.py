"""Review, sign-off, the gate and the audit log."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.orm import Session

from gate import Verdict
from gate.model import STAGE_LABELS, ChannelRequest, Decision, ReviewStage
from orchestrator import audit
from orchestrator.cli.base import (
    STAGE_BY_NAME,
    ActorOpt,
    CommentOpt,
    JsonOpt,
    PwOpt,
    SubmissionArg,
    app,
    audit_app,
    channel_label,
    ctx,
    fail,
    gate_app,
    read_password,
    run,
)
from orchestrator.cli.table import table
from orchestrator.errors import GateRefused, InvalidInput
from orchestrator.services import prechecks, review, submissions
from orchestrator.services.hub import hub_for
from orchestrator.states import State

SHANGHAI = ZoneInfo("Asia/Shanghai")

# --- review ---------------------------------------------------------------------------------


def parse_stage(text: str) -> ReviewStage:
    stage = STAGE_BY_NAME.get(text.strip())
    if stage is None:
        names = "、".join(STAGE_LABELS.values())
        raise InvalidInput(f"未知审核环节“{text}”。可用：{names}", code="unknown_stage")
    return stage


def do_review(
    submission_id: int,
    stage_name: str,
    decision: Decision,
    actor: str,
    comment: str,
    password_stdin: bool,
    as_json: bool,
    rows: list[str] | None = None,
) -> None:
    def work() -> dict[str, Any]:
        stage = parse_stage(stage_name)
        password = read_password(password_stdin)
        with ctx().session() as session:
            decided = usage_rows(session, submission_id, rows) if rows else None
            outcome = review.review(
                session,
                submission_id,
                stage=stage,
                decision=decision,
                actor=actor,
                password=password,
                policy=ctx().app.policy,
                app=ctx().app,
                default_publish_time=ctx().app.settings.default_publish_time,
                comment=comment,
                rows=decided,
            )
            return {
                "action": outcome.action.id,
                "stage": stage.value,
                "decision": decision.value,
                "signature": outcome.action.signature.hex(),
                "waiting": outcome.waiting.value if outcome.waiting else None,
                "gate_passed": outcome.verdict.passed,
                "version": submissions.get(session, submission_id).current.number,
            }

    def show(r: dict[str, Any]) -> None:
        stage = STAGE_LABELS[ReviewStage(r["stage"])]
        typer.echo(f"已记录 {stage}{Decision(r['decision']).label}，签名 {r['signature'][:16]}…")
        if r["gate_passed"]:
            typer.secho("审核闸门：通过，可以发布", fg=typer.colors.GREEN)
        elif r["waiting"]:
            typer.echo(f"下一步：{STAGE_LABELS[ReviewStage(r['waiting'])]}")

    run(as_json, work, show)


@app.command(
    "review", help="审核：初审、复审、终审、主要领导审定、稿件用途（需再次输入密码以签名）"
)
def review_cmd(
    submission_id: SubmissionArg,
    stage: Annotated[str, typer.Option(help="审核环节：初审/复审/终审/主要领导审定/稿件用途")],
    actor: ActorOpt,
    approve: Annotated[bool, typer.Option("--approve", help="通过")] = False,
    return_: Annotated[bool, typer.Option("--return", help="退回")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="驳回")] = False,
    comment: CommentOpt = "",
    password_stdin: PwOpt = False,
    as_json: JsonOpt = False,
) -> None:
    chosen = [
        d
        for d, on in (
            (Decision.APPROVE, approve),
            (Decision.RETURN, return_),
            (Decision.REJECT, reject),
        )
        if on
    ]
    if len(chosen) != 1:
        fail(
            InvalidInput(
                "请在 --approve、--return、--reject 中选择且只选择一个", code="decision_required"
            ),
            as_json,
        )
    do_review(submission_id, stage, chosen[0], actor, comment, password_stdin, as_json)


def usage_rows(session: Session, submission_id: int, given: list[str]) -> list[ChannelRequest]:
    """`--channel 渠道[:YYYY-MM-DD[:备注]]`: a row the department asked for keeps its date and
    remark unless given; a new one defaults to the earliest date of the 审批表."""
    current = {c.channel: c for c in submissions.get(session, submission_id).current.channels}
    earliest = min((c.publish_date for c in current.values()), default=None)
    catalogue = submissions.channel_catalogue()
    rows = []
    for text in given:
        name, _, rest = text.partition(":")
        day_text, _, remark = rest.partition(":")
        channel = submissions.resolve_channel(name.strip(), catalogue)
        asked = current.get(channel)
        try:
            day = date.fromisoformat(day_text) if day_text else None
        except ValueError:
            raise InvalidInput(
                f"“{text}”中的发布日期无效，应为 YYYY-MM-DD", code="bad_date"
            ) from None
        day = day or (asked.publish_date if asked else earliest)
        if day is None:
            raise InvalidInput(f"请为渠道“{name}”给出发布日期", code="bad_date")
        rows.append(ChannelRequest(channel, day, remark or (asked.remark if asked else "")))
    return rows


@app.command(
    "usage",
    help="稿件用途（综合科）：终审后决定对上报送、本单位平台发布或两者，签名后交宣传分管领导签发",
)
def usage_cmd(
    submission_id: SubmissionArg,
    actor: ActorOpt,
    channel: Annotated[
        list[str] | None,
        typer.Option(
            "--channel",
            help="决定的发布形式：渠道[:YYYY-MM-DD[:备注]]，可多次给出；缺省保持科室申请的审批表",
        ),
    ] = None,
    return_: Annotated[bool, typer.Option("--return", help="退回科室重新审核")] = False,
    comment: CommentOpt = "",
    password_stdin: PwOpt = False,
    as_json: JsonOpt = False,
) -> None:
    if return_ and channel:
        fail(InvalidInput("退回时不能同时调整发布形式", code="rows_only_for_usage"), as_json)
    decision = Decision.RETURN if return_ else Decision.APPROVE
    do_review(
        submission_id,
        ReviewStage.USAGE.value,
        decision,
        actor,
        comment,
        password_stdin,
        as_json,
        rows=channel,
    )


@app.command("signoff", help="签发（宣传分管领导）：审核闸门通过才会记录")
def signoff_cmd(
    submission_id: SubmissionArg,
    actor: ActorOpt,
    comment: CommentOpt = "",
    password_stdin: PwOpt = False,
    as_json: JsonOpt = False,
) -> None:
    do_review(
        submission_id,
        ReviewStage.SIGN_OFF.value,
        Decision.APPROVE,
        actor,
        comment,
        password_stdin,
        as_json,
    )


# --- gate -----------------------------------------------------------------------------------


@gate_app.command("check", help="审核闸门：列出全部违规原因和审核辅助提示")
def gate_check(submission_id: SubmissionArg, as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        a = ctx().app
        with ctx().session() as session:
            verdict, waiting, aids = review.check(
                session,
                submission_id,
                policy=a.policy,
                store=a.blobs,
                sensitive_words=a.sensitive_words,
            )
            return {
                "submission": submission_id,
                "passed": verdict.passed,
                "waiting": waiting.value if waiting else None,
                "violations": [
                    {
                        "code": v.code,
                        "message": v.message,
                        "stage": v.stage.value if v.stage else None,
                        "action": v.action_id,
                        "publication": v.publication,
                    }
                    for v in verdict.violations
                ],
                "publications": _rows(session, submission_id, verdict),
                "aids": aids,
                "channel_problems": prechecks.channel_problems(
                    session, a, submission_id, hub_for(a.settings.data_dir)
                ),
            }

    def show(r: dict[str, Any]) -> None:
        if r["passed"]:
            typer.secho(f"稿件 {r['submission']}：审核闸门通过，可以发布", fg=typer.colors.GREEN)
        else:
            typer.secho(f"稿件 {r['submission']}：审核闸门未通过", fg=typer.colors.RED)
            for v in r["violations"]:
                typer.echo(f"  ✗ [{v['code']}] {v['message']}")
        rows = [
            (
                f"发布记录 P{row['id']}",
                channel_label(row["channel"]),
                row["scheduled_at"],
                row["state_label"],
                "✓ 与签发的审批表一致" if row["ok"] else "✗ 与签发的审批表不符",
            )
            for row in r["publications"]
        ]
        if rows:
            typer.echo(table(rows, indent="  "))
        for a in r["aids"]:
            typer.echo(f"  ! 审核提示 [{a['code']}] {a['message']}")
        for p in r["channel_problems"]:
            typer.echo(f"  ! 渠道预检 [{p['code']}] {p['message']}")

    run(as_json, work, show, status=lambda r: 0 if r["passed"] else GateRefused.exit_code)


def _rows(session: Session, submission_id: int, verdict: Verdict) -> list[dict[str, Any]]:
    """Each publication row of the current version, with the gate's findings about it."""
    rows = []
    for pub in review.live_rows(session, submissions.get(session, submission_id).current):
        problems = [v.code for v in verdict.violations if v.publication == f"P{pub.id}"]
        rows.append(
            {
                "id": pub.id,
                "channel": pub.channel,
                "scheduled_at": f"{pub.scheduled_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
                "state": pub.state,
                "state_label": State(pub.state).label,
                "ok": not problems,
                "problems": problems,
            }
        )
    return rows


# --- audit ----------------------------------------------------------------------------------


@audit_app.command(
    "verify", help="重新计算审计哈希链并核对审核记录与发布记录，指出第一条被改动、插入或删除的记录"
)
def audit_verify(
    checkpoint: Annotated[str | None, typer.Option(help="此前保存的检查点（序号:哈希）")] = None,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        with ctx().session() as session:
            return audit.verify(session, checkpoint).as_dict()

    def show(r: dict[str, Any]) -> None:
        if r["ok"]:
            typer.secho(f"审计链完整：共 {r['rows']} 条，链头 {r['head']}", fg=typer.colors.GREEN)
        else:
            typer.secho(f"审计链被破坏：{r['problem']}", fg=typer.colors.RED)
            for more in r["row_problems"][1:]:
                typer.secho(f"  另有：{more}", fg=typer.colors.RED)

    run(as_json, work, show, status=lambda r: 0 if r["ok"] else 7)


@audit_app.command("checkpoint", help="输出当前链头（序号:哈希），请保存在数据库之外")
def audit_checkpoint(as_json: JsonOpt = False) -> None:
    def work() -> dict[str, str]:
        with ctx().session() as session:
            return {"checkpoint": audit.checkpoint(session)}

    run(as_json, work, lambda r: typer.echo(r["checkpoint"]))
