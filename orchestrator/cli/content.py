"""Submissions and their versions."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from gate.model import STAGE_LABELS, ChannelRequest, Decision, RepostSource, ReviewStage
from orchestrator.cli import files
from orchestrator.cli.base import (
    SHANGHAI,
    JsonOpt,
    SubmissionArg,
    ctx,
    local,
    run,
    submission_app,
)
from orchestrator.errors import InvalidInput
from orchestrator.services import submissions

# --- submissions ----------------------------------------------------------------------------


def parse_channel(text: str, catalogue: dict[str, str]) -> ChannelRequest:
    """渠道:日期[:备注], e.g. 政府网站:2026-12-01 or wechat:2026-12-01:头条."""
    parts = text.split(":", 2)
    if len(parts) < 2:
        raise InvalidInput(f"渠道“{text}”格式应为 渠道:YYYY-MM-DD[:备注]", code="bad_channel")
    try:
        when = date.fromisoformat(parts[1])
    except ValueError:
        raise InvalidInput(f"渠道“{text}”的发布日期“{parts[1]}”无效", code="bad_date") from None
    name = submissions.resolve_channel(parts[0], catalogue)
    return ChannelRequest(name, when, parts[2] if len(parts) == 3 else "")


def build_draft(
    title: str,
    body: Path,
    image: list[Path] | None,
    cover: Path | None,
    channel: list[str],
    digest: str,
    byline: str,
    major_event: bool,
    special_content: bool,
    repost_platform: str | None,
    repost_url: str | None,
    repost_time: str | None,
) -> submissions.Draft:
    catalogue = submissions.channel_catalogue()
    repost = None
    if repost_platform or repost_url or repost_time:
        if not (repost_platform and repost_url and repost_time):
            raise InvalidInput(
                "转载须同时给出 --repost-platform、--repost-url 和 --repost-time",
                code="repost_incomplete",
            )
        try:
            published = datetime.fromisoformat(repost_time)
        except ValueError:
            raise InvalidInput(f"转载首发时间“{repost_time}”无效", code="bad_date") from None
        if published.tzinfo is None:
            published = published.replace(tzinfo=SHANGHAI)
        repost = RepostSource(repost_platform, repost_url, published)
    return submissions.Draft(
        title=title,
        body_html=submissions.body_text(files.read_bytes(body, "正文文件"), str(body)),
        channels=[parse_channel(c, catalogue) for c in channel],
        images=[submissions.ImageFile(p.name, files.read_bytes(p, "图片")) for p in image or []],
        cover=submissions.ImageFile(cover.name, files.read_bytes(cover, "封面")) if cover else None,
        digest=digest,
        byline=byline,
        major_event=major_event,
        special_content=special_content,
        repost=repost,
    )


TitleOpt = Annotated[str, typer.Option(help="标题")]
BodyOpt = Annotated[
    Path,
    typer.Option(help='正文 HTML 文件（UTF-8，或 GBK/GB18030）；<img src="文件名"> 指向 --image'),
]
ImageOpt = Annotated[list[Path] | None, typer.Option("--image", help="图片文件，可多次给出")]
CoverOpt = Annotated[Path | None, typer.Option(help="封面图片（微信公众号需要）")]
ChannelOpt = Annotated[list[str], typer.Option("--channel", help="发布渠道:日期[:备注]，可多次")]
DigestOpt = Annotated[str, typer.Option(help="摘要")]
BylineOpt = Annotated[str, typer.Option(help="署名")]
MajorOpt = Annotated[bool, typer.Option("--major-event", help="涉及重大事件（需主要领导审定）")]
SpecialOpt = Annotated[
    bool, typer.Option("--special-content", help="涉及特殊内容（需主要领导审定）")
]
RepostPOpt = Annotated[str | None, typer.Option(help="转载来源平台，如 学习强国")]
RepostUOpt = Annotated[str | None, typer.Option(help="转载来源网址")]
RepostTOpt = Annotated[str | None, typer.Option(help="转载来源首发时间（ISO 格式）")]


@submission_app.command("create", help="新建稿件（第 1 版）")
def submission_create(
    author: Annotated[str, typer.Option(help="供稿人用户名")],
    department: Annotated[str, typer.Option(help="申请科室/窗口代码")],
    title: TitleOpt,
    body: BodyOpt,
    channel: ChannelOpt,
    image: ImageOpt = None,
    cover: CoverOpt = None,
    digest: DigestOpt = "",
    byline: BylineOpt = "",
    major_event: MajorOpt = False,
    special_content: SpecialOpt = False,
    repost_platform: RepostPOpt = None,
    repost_url: RepostUOpt = None,
    repost_time: RepostTOpt = None,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        draft = build_draft(
            title,
            body,
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
        )
        with ctx().session() as session:
            created = submissions.create(
                session, ctx().app.blobs, author=author, department=department, draft=draft
            )
            return describe_submission(created)

    run(as_json, work, show_submission)


@submission_app.command("revise", help="修改稿件：生成新版本，旧版本的审核意见不再有效")
def submission_revise(
    submission_id: SubmissionArg,
    editor: Annotated[str, typer.Option(help="修改人用户名")],
    title: TitleOpt,
    body: BodyOpt,
    channel: ChannelOpt,
    image: ImageOpt = None,
    cover: CoverOpt = None,
    digest: DigestOpt = "",
    byline: BylineOpt = "",
    major_event: MajorOpt = False,
    special_content: SpecialOpt = False,
    repost_platform: RepostPOpt = None,
    repost_url: RepostUOpt = None,
    repost_time: RepostTOpt = None,
    as_json: JsonOpt = False,
) -> None:
    def work() -> dict[str, Any]:
        draft = build_draft(
            title,
            body,
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
        )
        with ctx().session() as session:
            submissions.revise(session, ctx().app.blobs, submission_id, editor=editor, draft=draft)
            return describe_submission(submissions.get(session, submission_id))

    run(as_json, work, show_submission)


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
    for c in r["channels"]:
        typer.echo(f"  发布形式 {c['channel']}  发布日期 {c['publish_date']}  {c['remark']}")
    for a in r["reviews"]:
        stage = STAGE_LABELS[ReviewStage(a["stage"])]
        old = "" if a["for_current_version"] else "（旧版本）"
        typer.echo(
            f"  {local(a['acted_at'])} {stage} {Decision(a['decision']).label} "
            f"{a['actor']} {a['comment']}{old}"
        )
