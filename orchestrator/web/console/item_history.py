"""One item's history as the item page shows it: each version with what changed from the one
before (a side-by-side diff of title and body text), each review decision with its signature
checked."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from html.parser import HTMLParser

from gate.signature import signature_valid
from orchestrator.models import ReviewAction, Submission, Version
from orchestrator.services.review import review_record
from orchestrator.web.templating import channel_label


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
