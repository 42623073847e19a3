"""The 信息发布审批表 (approval form) of signed-off submissions, as the seed's paper form lays
it out: 申请科室/窗口, 申请日期, rows of 序号/信息名称/发布形式/发布日期/备注, the signature lines,
then the content each row covers (附后). Built only from a review record the gate passes.

Who signs which line (seed, 二、三): 经办人 is the contributor, whose 初审 stands there;
科室、窗口负责人 signs the 复审; 业务分管领导 the 终审; 主要领导 the 审定 where the item is a
major event or special content; 宣传分管领导 the 签发.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

import gate.model as g
from gate import evaluate
from gate.rules import ReviewContext
from orchestrator.app import App
from orchestrator.errors import GateRefused, InvalidInput, NotFound
from orchestrator.models import AuditEvent, ChannelRequestRow, Submission, Version
from orchestrator.reports.fonts import CJK
from orchestrator.services.review import original_version, review_record
from orchestrator.services.submissions import IMAGE_SRC_PREFIX, channel_catalogue

SHANGHAI = ZoneInfo("Asia/Shanghai")
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DEFAULT_ORGANISATION = "青浦区政务服务办公室"
NOTES = (
    "本表由各科室、窗口填写，当各科室、窗口计划在信息发布渠道上发布相关信息时，填写此表；",
    "所有计划发布信息须报送科室、窗口负责人、分管领导及主管领导审核；",
    "各科室、窗口计划发布信息经审核通过后，请将此表及相关发布信息的具体内容（附于表后）"
    "反馈至综合科留存；",
    "本表中“发布形式”一栏填写“政府网站”、“微信公众号”等信息发布渠道名称。",
)


@dataclass(frozen=True)
class Line:
    """One signature line of the paper form and the review stage signed on it."""

    label: str
    stage: g.ReviewStage


LINES: tuple[Line, ...] = (
    Line("科室、窗口经办人（签字）", g.ReviewStage.FIRST),
    Line("科室、窗口负责人审核（签字）", g.ReviewStage.SECOND),
    Line("业务分管领导审核（签字）", g.ReviewStage.FINAL),
    Line("主要领导审定（签字）", g.ReviewStage.PRINCIPAL),
    Line("综合科确定稿件用途（签字）", g.ReviewStage.USAGE),
    Line("宣传分管领导审核（签字）", g.ReviewStage.SIGN_OFF),
)


@dataclass(frozen=True)
class Signed:
    stage: g.ReviewStage
    name: str
    username: str
    acted_at: datetime
    signature_fingerprint: str  # grouped, e.g. "3f2a 9c01 77be 0d42"
    comment: str

    @property
    def local_time(self) -> str:
        return local(self.acted_at)


@dataclass(frozen=True)
class ChannelLine:
    """A row of the form; `publish_date` is the date in force, `amended` who moved it from the
    signed date by a signed 改期 (empty when nobody did)."""

    channel: str
    label: str
    publish_date: date
    remark: str
    amended: str = ""

    @property
    def date_text(self) -> str:
        day = self.publish_date.isoformat()
        return f"{day}（{self.amended}）" if self.amended else day


@dataclass(frozen=True)
class FormItem:
    number: int
    submission_id: int
    title: str
    author: str
    author_username: str
    version_number: int
    version_fingerprint: str
    channels: tuple[ChannelLine, ...]
    signatures: dict[g.ReviewStage, Signed]
    required: tuple[g.ReviewStage, ...]
    body_text: str
    images: tuple[tuple[str, str], ...]  # (file name, SHA-256)
    cover: str | None
    digest: str
    byline: str
    major_event: bool
    special_content: bool
    repost_source: str
    # A repost of our own item signed off alone: the original submission whose reviews it
    # carries (its signatures fill the lines before 签发).
    carried_from: int | None = None


@dataclass(frozen=True)
class Form:
    organisation: str
    department: str
    applied_on: date
    items: tuple[FormItem, ...]
    generated_at: datetime

    @property
    def lines(self) -> tuple[Line, ...]:
        """The paper form's four lines, 综合科's 稿件用途 when the items needed it (all since
        0008), and 主要领导 when any item needed the 审定."""
        needed = {s for item in self.items for s in item.required}
        optional = (g.ReviewStage.PRINCIPAL, g.ReviewStage.USAGE)
        return tuple(line for line in LINES if line.stage not in optional or line.stage in needed)


def local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def short_fingerprint(signature: bytes) -> str:
    """The first 16 hex digits of the signature's SHA-256, in groups of four."""
    head = hashlib.sha256(signature).hexdigest()[:16]
    return " ".join(head[i : i + 4] for i in range(0, 16, 4))


# --- building --------------------------------------------------------------------------------


def build(
    session: Session, app: App, submission_ids: list[int], *, now: datetime | None = None
) -> Form:
    """The form of one department's signed-off submissions (rows numbered in the given order).

    Refuses, naming for each submission what is missing, unless the gate passes every one.
    """
    now = now or datetime.now(UTC)
    ids = list(dict.fromkeys(submission_ids))
    if not ids:
        raise InvalidInput("请至少指定一份稿件", code="no_submission")
    subs = [_submission(session, i) for i in ids]
    departments = {s.department.code for s in subs}
    if len(departments) > 1:
        names = "、".join(sorted({s.department.name for s in subs}))
        raise InvalidInput(
            f"一张审批表只能填写同一科室、窗口的信息，这些稿件分属：{names}",
            code="mixed_departments",
        )
    _refuse_unsigned(subs, app, now)
    catalogue = channel_catalogue()
    items = tuple(
        _item(number, sub, app, now, catalogue) for number, sub in enumerate(subs, start=1)
    )
    return Form(
        organisation=organisation_name(session),
        department=subs[0].department.name,
        applied_on=min(s.created_at for s in subs).astimezone(SHANGHAI).date(),
        items=items,
        generated_at=now,
    )


def _submission(session: Session, submission_id: int) -> Submission:
    found = session.get(Submission, submission_id)
    if found is None:
        raise NotFound(f"稿件 {submission_id} 不存在", code="submission_not_found")
    return found


def _refuse_unsigned(subs: list[Submission], app: App, now: datetime) -> None:
    missing: list[dict[str, Any]] = []
    texts: list[str] = []
    for sub in subs:
        verdict = evaluate(review_record(sub, store=app.blobs), app.policy, now=now)
        if not verdict.passed:
            messages = [v.message for v in verdict.violations]
            missing.append(
                {
                    "submission": sub.id,
                    "title": sub.current.title,
                    "codes": list(verdict.codes),
                    "messages": messages,
                }
            )
            texts.append(f"稿件 {sub.id}《{sub.current.title}》：" + "，".join(messages))
    if missing:
        text = "；".join(texts)
        raise GateRefused(
            f"稿件尚未完成三审签发，不能生成审批表。{text}",
            code="not_signed_off",
            details=missing,
        )


def organisation_name(session: Session) -> str:
    """The name given when the organisation was set up (kept in the audit log)."""
    event = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "organisation.init")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    name = event.payload.get("name") if event is not None else None
    return str(name) if name else DEFAULT_ORGANISATION


def _line(
    row: ChannelRequestRow, catalogue: dict[str, str], context: ReviewContext, sub: Submission
) -> ChannelLine:
    day, amendment = context.signed_dates.get(row.channel, (row.publish_date, None))
    amended = ""
    if amendment is not None:
        names = {a.actor.username: a.actor.name for a in sub.amendments}
        who = names.get(amendment.actor_id, amendment.actor_id)
        signed_on = amendment.acted_at.astimezone(SHANGHAI)
        amended = f"原定 {row.publish_date:%m-%d}，{who} {signed_on:%m-%d} 签署改期"
    label = catalogue.get(row.channel, row.channel)
    return ChannelLine(row.channel, label, day, row.remark, amended)


def _item(
    number: int, sub: Submission, app: App, now: datetime, catalogue: dict[str, str]
) -> FormItem:
    version = sub.current
    context = ReviewContext(review_record(sub), app.policy, now)
    signatures = _signatures(context)
    required = context.required_stages
    carried_from = None
    original = context.record.original
    origin = original_version(sub)
    if original is not None and origin is not None and not context.original_problem:
        # The original's chain, then this repost's own 签发.
        carried = ReviewContext(original, app.policy, now)
        signatures = {**_signatures(carried), **signatures}
        required = carried.required_stages
        carried_from = origin.submission_id
    source = ""
    if version.repost_platform:
        assert version.repost_published_at is not None
        source = (
            f"{version.repost_platform}（{version.repost_url}，"
            f"首发于 {local(version.repost_published_at)}）"
        )
    return FormItem(
        number=number,
        submission_id=sub.id,
        title=version.title,
        author=sub.author.name,
        author_username=sub.author.username,
        version_number=version.number,
        version_fingerprint=version.fingerprint,
        channels=tuple(_line(c, catalogue, context, sub) for c in version.channels),
        signatures=signatures,
        required=required,
        body_text=body_text(version),
        images=tuple((i.filename, i.sha256) for i in version.images),
        cover=version.cover_sha256,
        digest=version.digest,
        byline=version.byline,
        major_event=version.major_event,
        special_content=version.special_content,
        repost_source=source,
        carried_from=carried_from,
    )


def _signatures(context: ReviewContext) -> dict[g.ReviewStage, Signed]:
    people = context.record.people
    return {
        stage: Signed(
            stage=stage,
            name=people[action.actor_id].name if action.actor_id in people else action.actor_id,
            username=action.actor_id,
            acted_at=action.acted_at,
            signature_fingerprint=short_fingerprint(action.signature),
            comment=action.comment,
        )
        for stage, action in context.approval_of.items()
    }


class _TextOf(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self, image_names: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.image_names = image_names
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "img":
            found = dict(attrs)
            src = found.get("src") or ""
            name = self.image_names.get(src.removeprefix(IMAGE_SRC_PREFIX), src)
            self.parts.append(f"［图片：{name}］")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def body_text(version: Version) -> str:
    """The body as paragraphs of plain text; images named by their file names."""
    parser = _TextOf({i.sha256: i.filename for i in version.images})
    parser.feed(version.body_html)
    parser.close()
    lines = (re.sub(r"\s+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


# --- what both renderings show -----------------------------------------------------------------


def applied_on_text(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def signer_text(item: FormItem, line: Line) -> str:
    signed = item.signatures.get(line.stage)
    if signed is None:
        return "—"
    if item.carried_from is not None and line.stage is not g.ReviewStage.SIGN_OFF:
        return f"{signed.name}\n（原稿 {item.carried_from}）"
    if line.stage is g.ReviewStage.FIRST and signed.username != item.author_username:
        return f"{item.author}（经办）\n{signed.name}（初审）"
    return signed.name


def signature_rows(form: Form, line: Line) -> list[tuple[str, str, str, str, str]]:
    """(序号, 签名人, 时间, 签名指纹, 意见) for each item on one signature line."""
    rows = []
    for item in form.items:
        signed = item.signatures.get(line.stage)
        if signed is None:
            why = f"按审核策略免于{line.stage.label}" if line.stage not in item.required else "未签"
            rows.append((str(item.number), "—", why, "", ""))
            continue
        rows.append(
            (
                str(item.number),
                signer_text(item, line),
                signed.local_time,
                signed.signature_fingerprint,
                signed.comment,
            )
        )
    return rows


def content_facts(item: FormItem) -> list[tuple[str, str]]:
    facts = [
        ("稿件编号", f"{item.submission_id}（第 {item.version_number} 版）"),
        ("版本指纹", item.version_fingerprint),
        ("经办人（作者）", f"{item.author}（{item.author_username}）"),
    ]
    if item.byline:
        facts.append(("署名", item.byline))
    if item.digest:
        facts.append(("摘要", item.digest))
    flags = [
        n for n, on in (("重大事件", item.major_event), ("特殊内容", item.special_content)) if on
    ]
    if flags:
        facts.append(("涉及", "、".join(flags) + "（经主要领导审定）"))
    if item.repost_source:
        facts.append(("转载来源", item.repost_source))
    if item.carried_from is not None:
        facts.append(
            (
                "审核依据",
                f"转载本单位稿件 {item.carried_from}：内容与原稿一致、仅加注来源，"
                "沿用原稿的审核，经宣传分管领导签发",
            )
        )
    facts.append(
        (
            "发布渠道",
            "；".join(
                f"{c.label} {c.date_text}" + (f"（{c.remark}）" if c.remark else "")
                for c in item.channels
            ),
        )
    )
    if item.cover:
        facts.append(("封面图片", item.cover))
    return facts


def footer_text(form: Form) -> str:
    return (
        f"本表由三审发布系统依据已签名的审核记录生成（{local(form.generated_at)}）。"
        "签名指纹为审核人 Ed25519 签名的 SHA-256 前 16 位；每项内容的版本指纹为其规范化内容的 "
        "SHA-256，与存档中的内容文件一致。"
    )


# --- PDF ---------------------------------------------------------------------------------------


def render_pdf(form: Form) -> bytes:
    """The form as A4 PDF with the CJK font embedded (a subset), content pages after it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    styles = _pdf_styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=50,
        rightMargin=50,
        topMargin=50,
        bottomMargin=50,
        title=f"{form.organisation}信息发布审批表",
        author=form.organisation,
        subject="信息发布审批表",
        creator="三审发布",
        # The canvas starts in the CJK font too, so no unembedded base font is referenced.
        initialFontName=styles["body"].fontName,
    )
    story: list[Any] = [
        Paragraph(_esc(f"{form.organisation}信息发布审批表"), styles["title"]),
        Spacer(1, 8),
        _pdf_heading_line(form, styles),
        Spacer(1, 6),
        _pdf_rows(form, styles),
        Spacer(1, 10),
        _pdf_signatures(form, styles),
        Spacer(1, 10),
        Paragraph("备注：", styles["small"]),
        *(Paragraph(_esc(f"{n}. {t}"), styles["small"]) for n, t in enumerate(NOTES, 1)),
        Spacer(1, 6),
        Paragraph(_esc(footer_text(form)), styles["small"]),
    ]
    for item in form.items:
        story += [PageBreak(), *_pdf_content(item, styles)]
    doc.build(story)
    return buffer.getvalue()


def _pdf_heading_line(form: Form, styles: dict[str, Any]) -> Any:
    from reportlab.platypus import Paragraph, Table, TableStyle

    line = Table(
        [
            [
                Paragraph(_esc(f"申请科室、窗口：{form.department}"), styles["body"]),
                Paragraph(_esc(f"申请日期：{applied_on_text(form.applied_on)}"), styles["body"]),
            ]
        ],
        colWidths=[300, 195],
    )
    line.setStyle(
        TableStyle([("FONTNAME", (0, 0), (-1, -1), CJK), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    )
    return line


def _esc(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text).replace("\n", "<br/>")


def _pdf_styles() -> dict[str, Any]:
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle

    from orchestrator.reports.fonts import register_cjk

    font = register_cjk()
    base = ParagraphStyle(
        "base", fontName=font, bulletFontName=font, fontSize=10.5, leading=15, wordWrap="CJK"
    )
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=24, alignment=TA_CENTER),
        "heading": ParagraphStyle("heading", parent=base, fontSize=13, leading=19),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=13),
        "head": ParagraphStyle("head", parent=base, fontSize=9.5, leading=13, alignment=TA_CENTER),
        "sign": ParagraphStyle("sign", parent=base, fontSize=9, leading=12.5),
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=12),
    }


def _grid(data: list[list[Any]], widths: list[float], spans: list[Any], header: bool = True) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
    shade = [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))] if header else []
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), CJK),
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                *shade,
                *spans,
            ]
        )
    )
    return table


def _pdf_rows(form: Form, styles: dict[str, Any]) -> Any:
    from reportlab.platypus import Paragraph

    def cell(text: str) -> Any:
        return Paragraph(_esc(text), styles["cell"])

    data: list[list[Any]] = [
        [Paragraph(h, styles["head"]) for h in ("序号", "信息名称", "发布形式", "发布日期", "备注")]
    ]
    spans = []
    for item in form.items:
        first = len(data)
        for c in item.channels:
            data.append(
                [
                    cell(str(item.number)),
                    cell(item.title),
                    cell(c.label),
                    cell(c.date_text),
                    cell(c.remark),
                ]
            )
        if len(item.channels) > 1:
            last = len(data) - 1
            spans += [("SPAN", (0, first), (0, last)), ("SPAN", (1, first), (1, last))]
    return _grid(data, [36, 175, 90, 80, 114], spans)


def _pdf_signatures(form: Form, styles: dict[str, Any]) -> Any:
    from reportlab.platypus import Paragraph

    def cell(text: str) -> Any:
        return Paragraph(_esc(text), styles["sign"])

    heads = ("签字栏", "序号", "签名人", "签署时间", "签名指纹", "意见")
    data: list[list[Any]] = [[Paragraph(h, styles["head"]) for h in heads]]
    spans = []
    for line in form.lines:
        first = len(data)
        for number, who, when, sig, comment in signature_rows(form, line):
            data.append(
                [cell(line.label), cell(number), cell(who), cell(when), cell(sig), cell(comment)]
            )
        if len(data) - 1 > first:
            spans.append(("SPAN", (0, first), (0, len(data) - 1)))
    return _grid(data, [138, 34, 58, 106, 112, 47], spans)


def _pdf_content(item: FormItem, styles: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import Paragraph, Spacer

    def cell(text: str) -> Any:
        return Paragraph(_esc(text), styles["cell"])

    out: list[Any] = [
        Paragraph(_esc(f"附：第 {item.number} 项信息内容"), styles["heading"]),
        Paragraph(_esc(item.title), styles["title"]),
        Spacer(1, 6),
        _grid(
            [[cell(k), cell(v)] for k, v in content_facts(item)],
            [90, 405],
            [],
            header=False,
        ),
        Spacer(1, 8),
        Paragraph("正文：", styles["heading"]),
    ]
    out += [Paragraph(_esc(p), styles["body"]) for p in item.body_text.split("\n")]
    if item.images:
        out += [Spacer(1, 8), Paragraph("图片（文件名与 SHA-256）：", styles["heading"])]
        out.append(
            _grid(
                [[cell("文件名"), cell("SHA-256")]]
                + [[cell(name), cell(sha)] for name, sha in item.images],
                [120, 375],
                [],
            )
        )
    return out


# --- Word ----------------------------------------------------------------------------------------


def render_docx(form: Form) -> bytes:
    """The form as .docx, for offices that edit in Word."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = Document()
    _docx_font(doc)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(f"{form.organisation}信息发布审批表")
    run.bold = True
    run.font.size = _pt(16)
    doc.add_paragraph(
        f"申请科室、窗口：{form.department}　　　　申请日期：{applied_on_text(form.applied_on)}"
    )
    _docx_rows(doc, form)
    doc.add_paragraph()
    _docx_signatures(doc, form)
    doc.add_paragraph("备注：")
    for n, text in enumerate(NOTES, 1):
        doc.add_paragraph(f"{n}. {text}")
    doc.add_paragraph(footer_text(form))
    for item in form.items:
        doc.add_page_break()  # type: ignore[no-untyped-call]
        _docx_content(doc, item)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _pt(size: float) -> Any:
    from docx.shared import Pt

    return Pt(size)


def _docx_font(doc: Any) -> None:
    from docx.oxml.ns import qn

    normal = doc.styles["Normal"]
    normal.font.name = "宋体"
    normal.font.size = _pt(10.5)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")


def _docx_table(doc: Any, heads: tuple[str, ...]) -> Any:
    table = doc.add_table(rows=1, cols=len(heads))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, heads, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    return table


def _docx_merge(table: Any, column: int, first: int, last: int) -> None:
    if last > first:
        text = table.cell(first, column).text
        merged = table.cell(first, column).merge(table.cell(last, column))
        merged.text = text


def _docx_rows(doc: Any, form: Form) -> None:
    table = _docx_table(doc, ("序号", "信息名称", "发布形式", "发布日期", "备注"))
    for item in form.items:
        first = len(table.rows)
        for c in item.channels:
            cells = table.add_row().cells
            values = (str(item.number), item.title, c.label, c.date_text, c.remark)
            for cell, text in zip(cells, values, strict=True):
                cell.text = text
        last = len(table.rows) - 1
        _docx_merge(table, 0, first, last)
        _docx_merge(table, 1, first, last)


def _docx_signatures(doc: Any, form: Form) -> None:
    table = _docx_table(doc, ("签字栏", "序号", "签名人", "签署时间", "签名指纹", "意见"))
    for line in form.lines:
        first = len(table.rows)
        for values in signature_rows(form, line):
            cells = table.add_row().cells
            for cell, text in zip(cells, (line.label, *values), strict=True):
                cell.text = text
        _docx_merge(table, 0, first, len(table.rows) - 1)


def _docx_content(doc: Any, item: FormItem) -> None:
    doc.add_heading(f"附：第 {item.number} 项信息内容", level=2)
    doc.add_heading(item.title, level=1)
    facts = doc.add_table(rows=0, cols=2)
    facts.style = "Table Grid"
    for key, value in content_facts(item):
        cells = facts.add_row().cells
        cells[0].text, cells[1].text = key, value
    doc.add_heading("正文", level=3)
    for paragraph in item.body_text.split("\n"):
        doc.add_paragraph(paragraph)
    if item.images:
        doc.add_heading("图片（文件名与 SHA-256）", level=3)
        images = _docx_table(doc, ("文件名", "SHA-256"))
        for name, sha in item.images:
            cells = images.add_row().cells
            cells[0].text, cells[1].text = name, sha


def as_dict(form: Form) -> dict[str, Any]:
    return {
        "organisation": form.organisation,
        "department": form.department,
        "applied_on": form.applied_on.isoformat(),
        "items": [
            {
                "number": i.number,
                "submission": i.submission_id,
                "title": i.title,
                "version": i.version_number,
                "fingerprint": i.version_fingerprint,
                "channels": [
                    {
                        "channel": c.channel,
                        "label": c.label,
                        "publish_date": c.publish_date.isoformat(),
                        "amended": c.amended,
                        "remark": c.remark,
                    }
                    for c in i.channels
                ],
                "signatures": {
                    s.value: {
                        "name": sig.name,
                        "username": sig.username,
                        "at": sig.local_time,
                        "signature_fingerprint": sig.signature_fingerprint,
                    }
                    for s, sig in i.signatures.items()
                },
            }
            for i in form.items
        ],
    }
