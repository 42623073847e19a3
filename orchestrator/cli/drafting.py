"""What `sanshen submission create/revise` read a draft from: the content options, the body
(HTML file or Word manuscript), the images, the 审批表 rows (渠道:日期[:备注]), the repost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from gate.model import ChannelRequest, RepostSource
from orchestrator.cli import files
from orchestrator.cli.base import SHANGHAI, ctx, fail, run
from orchestrator.docx_import import Manuscript, read_manuscript
from orchestrator.errors import InvalidInput
from orchestrator.models import Submission
from orchestrator.services import submissions


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


def body_source(title: str | None, body: Path | None, docx: Path | None, as_json: bool) -> None:
    """The body comes from exactly one of --body and --docx; without --docx, --title is needed."""
    if body is not None and docx is not None:
        fail(
            InvalidInput(
                "--docx 与 --body 只能给出其一：Word 稿件本身就是正文", code="docx_with_body"
            ),
            as_json,
        )
    if body is None and docx is None:
        fail(InvalidInput("缺少正文：请给出 --body 或 --docx", code="body_required"), as_json)
    if docx is None and title is None:
        fail(
            InvalidInput(
                "缺少选项 --title（给出 --docx 时可取 Word 稿件的标题）", code="title_required"
            ),
            as_json,
        )


def read_docx(docx: Path | None) -> Manuscript | None:
    return None if docx is None else read_manuscript(files.read_bytes(docx, "Word 稿件"), docx.name)


def build_draft(
    title: str | None,
    body: Path | None,
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
    manuscript: Manuscript | None = None,
) -> submissions.Draft:
    """The draft the options describe; with a Word `manuscript`, its body, images and (unless
    --title is given) title."""
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
    if manuscript is not None:
        body_html, own_images = manuscript.body_html, manuscript.images
    else:
        assert body is not None
        body_html = submissions.body_text(files.read_bytes(body, "正文文件"), str(body))
        own_images = []
    return submissions.Draft(
        title=title or (manuscript.title if manuscript else ""),
        body_html=body_html,
        channels=[parse_channel(c, catalogue) for c in channel],
        images=[
            *own_images,
            *(submissions.ImageFile(p.name, files.read_bytes(p, "图片")) for p in image or []),
        ],
        cover=submissions.ImageFile(cover.name, files.read_bytes(cover, "封面")) if cover else None,
        digest=digest,
        byline=byline,
        major_event=major_event,
        special_content=special_content,
        repost=repost,
    )


def with_warnings(result: dict[str, Any], manuscript: Manuscript | None) -> dict[str, Any]:
    return result if manuscript is None else {**result, "warnings": manuscript.warnings}


def with_fixes(result: dict[str, Any], fixed: list[str]) -> dict[str, Any]:
    return {**result, "autofixed": fixed} if fixed else result


TitleOpt = Annotated[str | None, typer.Option(help="标题（给出 --docx 时缺省取 Word 稿件的标题）")]
BodyOpt = Annotated[
    Path | None,
    typer.Option(help='正文 HTML 文件（UTF-8，或 GBK/GB18030）；`<img src="文件名">` 指向 --image'),
]
DocxOpt = Annotated[
    Path | None,
    typer.Option(
        "--docx",
        help="Word 稿件（.docx；装有 LibreOffice 时也可为 .doc）：正文、图片和标题都取自文档，"
        "代替 --body",
    ),
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
AutofixOpt = Annotated[
    bool,
    typer.Option(help="自动修正平台会拒收的图片：PNG 封面转为 JPEG、超出大小的图片按比例缩小"),
]


@dataclass(frozen=True)
class ContentOptions:
    """The content options `create` and `revise` share: what the person hands in."""

    title: str | None
    body: Path | None
    docx: Path | None
    image: list[Path] | None
    cover: Path | None
    channel: list[str]
    digest: str
    byline: str
    major_event: bool
    special_content: bool
    repost_platform: str | None
    repost_url: str | None
    repost_time: str | None
    autofix: bool

    def draft(self) -> tuple[submissions.Draft, Manuscript | None]:
        """The draft, and the Word manuscript it was read from (if any)."""
        manuscript = read_docx(self.docx)
        draft = build_draft(
            self.title,
            self.body,
            self.image,
            self.cover,
            self.channel,
            self.digest,
            self.byline,
            self.major_event,
            self.special_content,
            self.repost_platform,
            self.repost_url,
            self.repost_time,
            manuscript,
        )
        draft.autofix = self.autofix
        return draft, manuscript


Save = Callable[[Session, submissions.Draft, list[str]], Submission]


def hand_in(
    content: ContentOptions,
    as_json: bool,
    save: Save,
    describe: Callable[[Submission], dict[str, Any]],
    show: Callable[[dict[str, Any]], None],
) -> None:
    """Read the draft, `save` it (a new submission or version; 自动修正's fixes are collected)
    and report the submission with the manuscript's warnings and the fixes."""
    body_source(content.title, content.body, content.docx, as_json)

    def work() -> dict[str, Any]:
        draft, manuscript = content.draft()
        fixed: list[str] = []
        with ctx().session() as session:
            saved = save(session, draft, fixed)
            return with_fixes(with_warnings(describe(saved), manuscript), fixed)

    run(as_json, work, show)
