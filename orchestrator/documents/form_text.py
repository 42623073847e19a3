"""What both renderings of the 信息发布审批表 show (form_pdf, form_docx): the 申请日期, who
signed each line, the signature rows, the facts of each item's content, the notes and footer."""

from __future__ import annotations

from datetime import date

import gate.model as g
from orchestrator.documents.form import Form, FormItem, Line, local

NOTES = (
    "本表由各科室、窗口填写，当各科室、窗口计划在信息发布渠道上发布相关信息时，填写此表；",
    "所有计划发布信息须报送科室、窗口负责人、分管领导及主管领导审核；",
    "各科室、窗口计划发布信息经审核通过后，请将此表及相关发布信息的具体内容（附于表后）"
    "反馈至综合科留存；",
    "本表中“发布形式”一栏填写“政府网站”、“微信公众号”等信息发布渠道名称。",
)


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
