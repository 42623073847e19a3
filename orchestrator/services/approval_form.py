"""The 信息发布审批表's data: the form of signed-off submissions filled from their review
records (the signatures the gate counts, the dates in force after a signed 改期, the content).

Built only from a review record the gate passes. The form's model and its renderings are in
orchestrator.documents; the review service builds the form here at sign-off to archive it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import gate.model as g
from gate import evaluate
from gate.rules import ReviewContext
from orchestrator.app import App
from orchestrator.documents.form import (
    SHANGHAI,
    ChannelLine,
    Form,
    FormItem,
    Signed,
    local,
    short_fingerprint,
)
from orchestrator.errors import GateRefused, InvalidInput, NotFound
from orchestrator.models import AuditEvent, ChannelRequestRow, Submission, Version
from orchestrator.services.record import original_version, review_record
from orchestrator.services.submissions import IMAGE_SRC_PREFIX, channel_catalogue

DEFAULT_ORGANISATION = "青浦区政务服务办公室"


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
