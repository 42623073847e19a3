"""谁审核谁负责，谁发布谁负责: for one published article, found by its channel and its URL or
platform id, who wrote, reviewed, signed off and published exactly the version that went out,
with every review signature checked again (Ed25519 over the signing payload).

The publisher is whoever triggered or scheduled the sending by hand (the publication's audit
events); when nobody did, it is the system, on the schedule fixed at sign-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nacl.exceptions import CryptoError
from nacl.signing import VerifyKey
from sqlalchemy import select
from sqlalchemy.orm import Session

import gate.model as g
from gate import evaluate, signature_valid
from gate.canonical import manual_payload
from gate.rules import ReviewContext
from orchestrator.app import App
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.models import AuditEvent, ManualAction, Person, Publication, Verification
from orchestrator.reports.form import local, short_fingerprint
from orchestrator.services.review import origin_problem, review_record
from orchestrator.services.submissions import channel_catalogue, resolve_channel
from orchestrator.states import State
from orchestrator.verify import Verdict

# Hand actions that decide when (or whether again) a publication is sent.
TRIGGERS = {
    "publication.reschedule": "当天内调整发布时间",
    "publication.amend_date": "宣传分管领导签署改期",
    "publication.amendment": "改期签名",
    "publication.retry": "重新发送",
    "publication.schedule": "安排发布",
    "publication.publish_now": "立即发布",
}
EVENT_LABELS = TRIGGERS | {
    "publication.create": "签发后按审批表排期",
    "publication.sent": "发送至平台",
    "publication.settled": "核对发送结果",
    "publication.published": "平台确认已发布",
    "publication.confirm_by_hand": "人工确认已发布",
    "publication.failed": "发送失败",
    "publication.refused": "发送前拒绝",
    "publication.unconfirmed": "结果未确认",
    "publication.cancel": "取消发布",
    "publication.retract": "撤稿",
    "publication.retracted": "平台已删除",
    "publication.pause": "渠道暂停，推迟发送",
    "publication.retry_later": "稍后自动重试",
    "publication.attest": "升级时登入审计链",
    "publication.manual": "通过闸门复核，待人工发布",
    "publication.published_by_hand": "人工发布并签名登记链接",
    "publication.verify": "发布核验",
    "publication.takedown": "撤稿：待人工撤下",
    "publication.taken_down": "核验页面已删除，撤稿完成",
}
SYSTEM = "system"


def find(
    session: Session, channel: str, *, url: str | None = None, external_id: str | None = None
) -> Publication:
    """The publication on `channel` (name or 发布形式) with this URL or platform id."""
    if (url is None) == (external_id is None):
        raise InvalidInput("请提供发布链接（--url）或平台编号（--id）之一", code="url_or_id")
    name = resolve_channel(channel.strip(), channel_catalogue())
    query = select(Publication).where(Publication.channel == name)
    if url is not None:
        query = query.where(Publication.url == url.strip())
        what = f"链接为 {url.strip()}"
    else:
        assert external_id is not None
        query = query.where(Publication.external_id == external_id.strip())
        what = f"平台编号为 {external_id.strip()}"
    found = session.scalars(query.order_by(Publication.id.desc()).limit(1)).first()
    if found is None:
        raise NotFound(f"未找到{channel}上{what}的发布", code="publication_not_found")
    return found


@dataclass(frozen=True)
class _Names:
    by_username: dict[str, str]

    def __call__(self, username: str) -> str:
        if not username or username == SYSTEM:
            return "系统"
        return self.by_username.get(username, username)


def report(
    session: Session,
    app: App,
    channel: str,
    *,
    url: str | None = None,
    external_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    pub = find(session, channel, url=url, external_id=external_id)
    submission, version = pub.submission, pub.version
    record = review_record(
        submission,
        version,
        store=app.blobs,
        publications=(pub,),
        origin=lambda row: origin_problem(session, row),
    )
    context = ReviewContext(record, app.policy, now)
    verdict = evaluate(record, app.policy, now=now)
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject == f"publication:{pub.id}")
            .order_by(AuditEvent.id)
        )
    )
    usernames = {e.actor for e in events} | set(record.people)
    rows = session.execute(
        select(Person.username, Person.name).where(Person.username.in_(usernames))
    )
    names = _Names({username: name for username, name in rows})
    reviews = [_review(a, record, context) for a in context.this_version]
    counted = {r["stage"]: r for r in reviews if r["counts"]}
    out: dict[str, Any] = {
        "publication": _publication(pub),
        "submission": {
            "id": submission.id,
            "uid": submission.uid,
            "department": submission.department.name,
        },
        "version": {
            "number": version.number,
            "fingerprint": version.fingerprint,
            "title": version.title,
            "current": version.id == submission.current.id,
            "created_at": local(version.created_at),
        },
        "author": {"username": submission.author.username, "name": submission.author.name},
        "reviews": reviews,
        "approved": {stage.value: counted.get(stage.value) for stage in context.required_stages},
        "publisher": _publisher(pub, events, counted.get(g.ReviewStage.SIGN_OFF.value), names),
        "events": [
            {
                "id": e.id,
                "at": local(e.at),
                "actor": e.actor or SYSTEM,
                "actor_name": names(e.actor),
                "action": e.action,
                "label": EVENT_LABELS.get(e.action, e.action),
                "hash": e.hash,
            }
            for e in events
        ],
        "amendments": _amendments(pub, record, context),
        "by_hand": _by_hand(session, pub),
        "verifications": _verifications(session, pub),
        "signatures_valid": all(r["signature_valid"] for r in reviews),
        "gate": {
            "passed": verdict.passed,
            "violations": [{"code": v.code, "message": v.message} for v in verdict.violations],
        },
    }
    out["summary"] = summary(out)
    return out


def _amendments(
    pub: Publication, record: g.ReviewRecord, context: ReviewContext
) -> list[dict[str, Any]]:
    """Each signed 改期 of this row's channel on this version, and whether the gate counts it."""
    refused = {v.action_id for v in context.amendment_violations}
    return [
        {
            "old_date": a.old_date.isoformat(),
            "new_date": a.new_date.isoformat(),
            "username": a.actor_id,
            "name": record.people[a.actor_id].name if a.actor_id in record.people else a.actor_id,
            "at": local(a.acted_at),
            "comment": a.comment,
            "signature_fingerprint": short_fingerprint(a.signature),
            "counts": a.id not in refused,
        }
        for a in record.amendments
        if a.channel == pub.channel and a.fingerprint == context.fingerprint
    ]


def _by_hand(session: Session, pub: Publication) -> list[dict[str, Any]]:
    """Each signed record of publishing or taking down by hand, its signature checked again."""
    rows = session.scalars(
        select(ManualAction).where(ManualAction.publication_id == pub.id).order_by(ManualAction.id)
    )
    out = []
    for a in rows:
        payload = manual_payload(
            submission_id=pub.submission.uid,
            fingerprint=a.fingerprint,
            channel=pub.channel,
            kind=a.kind,
            url=a.url,
            external_id=a.external_id,
            acted_at=a.acted_at,
            comment=a.comment,
        )
        try:
            VerifyKey(a.actor.public_key).verify(payload, a.signature)
            valid = True
        except CryptoError:
            valid = False
        out.append(
            {
                "kind": a.kind,
                "username": a.actor.username,
                "name": a.actor.name,
                "at": local(a.acted_at),
                "url": a.url,
                "external_id": a.external_id,
                "signature_fingerprint": short_fingerprint(a.signature),
                "signature_valid": valid and a.fingerprint == pub.version.fingerprint,
            }
        )
    return out


def _verifications(session: Session, pub: Publication) -> list[dict[str, Any]]:
    """发布核验 of the row, oldest first: when, verdict, the change if any, the evidence."""
    rows = session.scalars(
        select(Verification)
        .where(Verification.publication_id == pub.id)
        .order_by(Verification.checked_at, Verification.id)
    )
    return [
        {
            "at": local(v.checked_at),
            "trigger": v.trigger,
            "verdict": v.verdict,
            "verdict_label": Verdict(v.verdict).label,
            "code": v.code,
            "reason": v.reason,
            "diff": [seg for seg in v.diff.get("segments", []) if seg[0] != "equal"],
            "page_sha256": v.page_sha256,
            "snapshot_sha256": v.snapshot_sha256,
        }
        for v in rows
    ]


def _publication(pub: Publication) -> dict[str, Any]:
    labels = channel_catalogue()
    return {
        "id": pub.id,
        "channel": pub.channel,
        "channel_label": labels.get(pub.channel, pub.channel),
        "state": pub.state,
        "state_label": State(pub.state).label,
        "url": pub.url,
        "external_id": pub.external_id,
        "scheduled_at": local(pub.scheduled_at),
        "sent_at": local(pub.sent_at) if pub.sent_at else None,
        "published_at": local(pub.published_at) if pub.published_at else None,
        "late": pub.late,
    }


def _review(
    action: g.ReviewAction, record: g.ReviewRecord, context: ReviewContext
) -> dict[str, Any]:
    person = record.people.get(action.actor_id)
    valid = person is not None and signature_valid(action, person.public_key)
    return {
        "stage": action.stage.value,
        "stage_label": action.stage.label,
        "decision": action.decision.value,
        "decision_label": action.decision.label,
        "username": action.actor_id,
        "name": person.name if person else action.actor_id,
        "at": local(action.acted_at),
        "comment": action.comment,
        "signature_fingerprint": short_fingerprint(action.signature),
        "signature_valid": valid,
        "counts": context.approval_of.get(action.stage) is action,
    }


def _publisher(
    pub: Publication,
    events: list[AuditEvent],
    sign_off: dict[str, Any] | None,
    names: _Names,
) -> dict[str, Any]:
    sent = [e.id for e in events if e.action in ("publication.sent", "publication.published")]
    before = sent[-1] if sent else None
    hand = [
        e
        for e in events
        if e.action in TRIGGERS
        and e.actor not in ("", SYSTEM)
        and (before is None or e.id < before)
    ]
    confirmed = [e for e in events if e.action == "publication.confirm_by_hand"]
    out: dict[str, Any] = {
        "confirmed_by": [
            {"username": e.actor, "name": names(e.actor), "at": local(e.at)} for e in confirmed
        ]
    }
    by_hand = [e for e in events if e.action == "publication.published_by_hand"]
    if by_hand:  # an assisted channel: the person who published it on the platform
        last = by_hand[-1]
        return out | {
            "kind": "person",
            "username": last.actor,
            "name": names(last.actor),
            "action": last.action,
            "at": local(last.at),
            "text": f"{names(last.actor)}（{last.actor}）于 {local(last.at)} 在平台上人工发布，"
            "并签名登记文章链接",
        }
    if hand:
        last = hand[-1]
        return out | {
            "kind": "person",
            "username": last.actor,
            "name": names(last.actor),
            "action": last.action,
            "at": local(last.at),
            "text": f"{names(last.actor)}（{last.actor}）于 {local(last.at)} "
            f"{TRIGGERS[last.action]}，系统按其安排发出",
        }
    signer = f"{sign_off['name']}（{sign_off['username']}）" if sign_off else "签发人"
    return out | {
        "kind": SYSTEM,
        "username": SYSTEM,
        "name": "系统",
        "action": "publication.create",
        "at": local(pub.scheduled_at),
        "text": f"无人手动操作：系统按签发时确定的排期（{local(pub.scheduled_at)}）自动发布，"
        f"排期随{signer}的签发生效",
    }


def summary(found: dict[str, Any]) -> list[str]:
    """The report for people, one line each."""
    pub, version = found["publication"], found["version"]
    lines = [
        f"{pub['channel_label']}：{version['title']}（{pub['state_label']}，"
        f"{pub['url'] or pub['external_id'] or '无链接'}）",
        f"发布的是稿件 {found['submission']['id']} 第 {version['number']} 版，"
        f"版本指纹 {version['fingerprint'][:16]}…"
        + ("" if version["current"] else "（稿件此后已有新版本）"),
        f"供稿（经办）：{found['author']['name']}（{found['author']['username']}）",
    ]
    for stage, review in found["approved"].items():
        label = g.ReviewStage(stage).label
        if review is None:
            lines.append(f"{label}：无有效通过记录")
            continue
        check = "签名有效" if review["signature_valid"] else "签名无效"
        lines.append(
            f"{label}：{review['name']}（{review['username']}）{review['at']} "
            f"签名 {review['signature_fingerprint']}，{check}"
        )
    for review in found["reviews"]:
        if not review["signature_valid"]:
            lines.append(
                f"警告：{review['name']}的{review['stage_label']}{review['decision_label']}"
                "签名验证失败（记录可能在签名后被改动）"
            )
    for a in found["amendments"]:
        note = "" if a["counts"] else "（无效，不予计入）"
        lines.append(
            f"改期：{a['name']}（{a['username']}）{a['at']} 签署，发布日期 {a['old_date']} → "
            f"{a['new_date']}，签名 {a['signature_fingerprint']}{note}"
            + (f"，原因：{a['comment']}" if a["comment"] else "")
        )
    lines.append(f"发布：{found['publisher']['text']}")
    for a in found["by_hand"]:
        check = "签名有效" if a["signature_valid"] else "签名无效"
        what = "人工发布" if a["kind"] == "published" else "人工撤下"
        lines.append(
            f"{what}登记：{a['name']}（{a['username']}）{a['at']}，{a['url']}"
            + (f"（编号 {a['external_id']}）" if a["external_id"] else "")
            + f"，签名 {a['signature_fingerprint']}，{check}"
        )
    checks = found["verifications"]
    if checks:
        first_ok = next((v for v in checks if v["verdict"] == "consistent"), None)
        lines.append(
            f"发布核验：共 {len(checks)} 次"
            + (
                f"，首次一致 {first_ok['at']}（页面 SHA-256 {first_ok['page_sha256'][:16]}…）"
                if first_ok
                else "，从未核验一致"
            )
        )
        for v in checks:
            if v["verdict"] != "consistent":
                lines.append(
                    f"  {v['at']} {v['verdict_label']}：{v['reason']}"
                    f"（页面 SHA-256 {(v['page_sha256'] or '—')[:16]}）"
                )
    for who in found["publisher"]["confirmed_by"]:
        lines.append(f"人工确认已发布：{who['name']}（{who['username']}）{who['at']}")
    if found["gate"]["passed"]:
        lines.append("审核闸门复核：通过，全部签名验证有效")
    else:
        lines.append(
            "审核闸门复核：未通过：" + "；".join(v["message"] for v in found["gate"]["violations"])
        )
    return lines
