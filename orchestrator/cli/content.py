"""Submissions and their versions."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from gate.model import STAGE_LABELS, Decision, ReviewStage
from orchestrator.cli.base import (
    JsonOpt,
    SubmissionArg,
    channel_label,
    ctx,
    local,
    run,
    submission_app,
)
from orchestrator.cli.drafting import (
    AutofixOpt,
    BodyOpt,
    BylineOpt,
    ChannelOpt,
    ContentOptions,
    CoverOpt,
    DigestOpt,
    DocxOpt,
    ImageOpt,
    MajorOpt,
    RepostPOpt,
    RepostTOpt,
    RepostUOpt,
    SpecialOpt,
    TitleOpt,
    hand_in,
)
from orchestrator.cli.table import table
from orchestrator.models import Submission
from orchestrator.services import submissions

UrgentOpt = Annotated[bool, typer.Option(help="紧急（如工作动态）：每个审核环节的时限按小时计")]


@submission_app.command("create", help="新建稿件（第 1 版）")
def submission_create(
    author: Annotated[str, typer.Option(help="供稿人用户名")],
    department: Annotated[str, typer.Option(help="申请科室/窗口代码")],
    channel: ChannelOpt,
    title: TitleOpt = None,
    body: BodyOpt = None,
    docx: DocxOpt = None,
    image: ImageOpt = None,
    cover: CoverOpt = None,
    digest: DigestOpt = "",
    byline: BylineOpt = "",
    major_event: MajorOpt = False,
    special_content: SpecialOpt = False,
    repost_platform: RepostPOpt = None,
    repost_url: RepostUOpt = None,
    repost_time: RepostTOpt = None,
    autofix: AutofixOpt = False,
    urgent: UrgentOpt = False,
    as_json: JsonOpt = False,
) -> None:
    content = ContentOptions(
        title,
        body,
        docx,
        image,
        cover,
        channel,
        digest,
        byline,
        major_event,
        special_content,
        repost_platform,
        repost_url,
        repost_time,
        autofix,
    )

    def save(session: Session, draft: submissions.Draft, fixed: list[str]) -> Submission:
        return submissions.create(
            session,
            ctx().app.blobs,
            author=author,
            department=department,
            draft=draft,
            fixes=fixed,
            urgent=urgent,
        )

    hand_in(content, as_json, save, describe_submission, show_submission)


@submission_app.command("revise", help="修改稿件：生成新版本，旧版本的审核意见不再有效")
def submission_revise(
    submission_id: SubmissionArg,
    editor: Annotated[str, typer.Option(help="修改人用户名")],
    channel: ChannelOpt,
    title: TitleOpt = None,
    body: BodyOpt = None,
    docx: DocxOpt = None,
    image: ImageOpt = None,
    cover: CoverOpt = None,
    digest: DigestOpt = "",
    byline: BylineOpt = "",
    major_event: MajorOpt = False,
    special_content: SpecialOpt = False,
    repost_platform: RepostPOpt = None,
    repost_url: RepostUOpt = None,
    repost_time: RepostTOpt = None,
    autofix: AutofixOpt = False,
    as_json: JsonOpt = False,
) -> None:
    content = ContentOptions(
        title,
        body,
        docx,
        image,
        cover,
        channel,
        digest,
        byline,
        major_event,
        special_content,
        repost_platform,
        repost_url,
        repost_time,
        autofix,
    )

    def save(session: Session, draft: submissions.Draft, fixed: list[str]) -> Submission:
        submissions.revise(
            session, ctx().app.blobs, submission_id, editor=editor, draft=draft, fixes=fixed
        )
        return submissions.get(session, submission_id)

    hand_in(content, as_json, save, describe_submission, show_submission)


@submission_app.command("show", help="查看稿件、版本和审核记录")
def submission_show(submission_id: SubmissionArg, as_json: JsonOpt = False) -> None:
    def work() -> dict[str, Any]:
        with ctx().session() as session:
            return describe_submission(submissions.get(session, submission_id))

    run(as_json, work, show_submission)


def describe_submission(sub: Any) -> dict[str, Any]:
    version = sub.current
    return {
        "id": sub.id,
        "uid": sub.uid,
        "department": sub.department.code,
        "author": sub.author.username,
        "version": version.number,
        "fingerprint": version.fingerprint,
        "title": version.title,
        "major_event": version.major_event,
        "special_content": version.special_content,
        "channels": [
            {"channel": c.channel, "publish_date": c.publish_date.isoformat(), "remark": c.remark}
            for c in version.channels
        ],
        "images": [{"filename": i.filename, "sha256": i.sha256} for i in version.images],
        "repost_source": None
        if not version.repost_platform
        else {
            "platform": version.repost_platform,
            "url": version.repost_url,
            "published_at": version.repost_published_at,
        },
        "reviews": [
            {
                "id": a.id,
                "stage": a.stage,
                "decision": a.decision,
                "actor": a.actor.username,
                "acted_at": a.acted_at,
                "comment": a.comment,
                "version_fingerprint": a.fingerprint,
                "for_current_version": a.fingerprint == version.fingerprint,
            }
            for a in sub.actions
        ],
    }


def show_submission(r: dict[str, Any]) -> None:
    typer.echo(
        f"稿件 {r['id']}：{r['title']}（第 {r['version']} 版，指纹 {r['fingerprint'][:16]}…）"
    )
    channels = [
        (channel_label(c["channel"]), c["publish_date"], c["remark"]) for c in r["channels"]
    ]
    if channels:
        typer.echo(table(channels, ("发布形式", "发布日期", "备注"), indent="  "))
    reviews = [
        (
            local(a["acted_at"]),
            STAGE_LABELS[ReviewStage(a["stage"])],
            Decision(a["decision"]).label,
            a["actor"],
            a["comment"] + ("" if a["for_current_version"] else "（旧版本）"),
        )
        for a in r["reviews"]
    ]
    if reviews:
        typer.echo("  审核记录：")
        typer.echo(table(reviews, ("时间", "环节", "意见", "审核人", "审核意见"), indent="    "))
    for fix in r.get("autofixed", []):
        typer.echo(f"已自动修正：{fix}")
    for warning in r.get("warnings", []):
        typer.secho(f"  注意：{warning}", fg=typer.colors.YELLOW)
