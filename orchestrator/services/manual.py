"""Assisted channels: a person publishes on the platform by hand and records the article.

A row of an assisted channel (SANSHEN_CHANNEL_<NAME>_MODE=assisted) passes the gate at its time
like any other and becomes 待人工发布 (`publishing.prepare`). The people who publish there
(政府网站运行科 for the own platforms, 综合科 for the upward ones) take the publish package,
publish it on the platform and record the article's URL and id here: a `ManualAction` signed
with their key, like a review. The page is then verified against the signed version at once
(services.verification); the watch keeps checking it. A retract becomes 待人工撤下
(`publishing.retract`), done when the page is verified gone.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from channels.base import ChannelKind
from gate import evaluate
from gate.canonical import manual_payload
from orchestrator import attest, keys
from orchestrator.app import App
from orchestrator.errors import Conflict, GateRefused, InvalidInput
from orchestrator.models import ManualAction, Publication
from orchestrator.permissions import require
from orchestrator.services import verification
from orchestrator.services.hub import ChannelHub
from orchestrator.services.moves import move, record_move
from orchestrator.services.publishing import get_publication
from orchestrator.services.review import origin_problem, review_record, sealed_key
from orchestrator.states import State
from orchestrator.verify import host_allowed

log = logging.getLogger("sanshen.manual")
URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f]+$", re.IGNORECASE)
EXTERNAL_ID = re.compile(r"^[^\x00-\x1f\x7f]{0,200}$")


@dataclass(frozen=True)
class Recorded:
    action_id: int
    checked: verification.Checked | None


def _kind(hub: ChannelHub, pub: Publication) -> ChannelKind:
    return hub.classes[pub.channel].kind


def check_url(hub: ChannelHub, channel: str, url: str) -> str:
    """The URL as recorded, or the reason it cannot be: not http(s), or on a host 发布核验 may
    not fetch for this channel (a mistyped or foreign address is refused here, not later)."""
    url = url.strip()
    if not URL.match(url) or len(url) > 1000:
        raise InvalidInput(
            f"文章链接无效：{url[:200]}（须为 http:// 或 https:// 开头的完整地址）", code="bad_url"
        )
    hosts = hub.page_hosts(channel)
    if not host_allowed(url, hosts):
        host = urlsplit(url).netloc.lower().rsplit("@", 1)[-1]
        allowed = "、".join(hosts) or "（未配置）"
        raise InvalidInput(
            f"文章链接的主机 {host} 不是该渠道的发布地址（允许：{allowed}）",
            code="host_not_allowed",
        )
    return url


def record_published(
    app: App,
    hub: ChannelHub,
    pub_id: int,
    *,
    url: str,
    external_id: str = "",
    actor: str,
    password: str,
    comment: str = "",
    now: datetime | None = None,
) -> Recorded:
    """The person published the row by hand: record the URL (signed), mark it published and
    verify the page at once. Refused whole (nothing written) on any problem."""
    now = now or datetime.now(UTC)
    external_id = external_id.strip()
    if not EXTERNAL_ID.match(external_id):
        raise InvalidInput("文章编号不能超过 200 字，也不能含控制字符", code="bad_external_id")
    with app.db.session() as session:
        pub = get_publication(session, pub_id)
        person = require(session, actor, "publish_by_hand", _kind(hub, pub), now)
        if pub.state != State.MANUAL.value:
            raise Conflict(
                f"发布 {pub_id} 当前为“{State(pub.state).label}”，不是待人工发布，不能登记",
                code="not_manual",
            )
        url = check_url(hub, pub.channel, url)
        _gate_again(app, session, pub, now)
        payload = manual_payload(
            submission_id=pub.submission.uid,
            fingerprint=pub.version.fingerprint,
            channel=pub.channel,
            kind="published",
            url=url,
            external_id=external_id,
            acted_at=now,
            comment=comment,
        )
        signature = keys.sign(sealed_key(person), password, payload)
        action = ManualAction(
            publication_id=pub.id,
            kind="published",
            url=url,
            external_id=external_id,
            fingerprint=pub.version.fingerprint,
            actor=person,
            acted_at=now,
            comment=comment,
            signature=signature,
        )
        session.add(action)
        session.flush()
        if not move(
            session,
            pub_id,
            (State.MANUAL,),
            State.PUBLISHED,
            now=now,
            url=url,
            external_id=external_id or None,
            published_at=now,
            sent_at=now,  # the statistics count what went out by when it went out
            receipt={"manual_action": action.id, "url": url, "external_id": external_id},
            note=f"{person.name} 人工发布并登记链接",
        ):
            raise Conflict(f"发布 {pub_id} 的状态已变化，请刷新后再试", code="state_changed")
        record_move(
            session,
            pub_id,
            "publication.published_by_hand",
            State.PUBLISHED,
            actor=actor,
            payload={
                "url": url,
                "external_id": external_id,
                "action": attest.claim(action),
            },
            at=now,
        )
        action_id = action.id
    try:
        checked = verification.verify(app, hub, pub_id, trigger="published", actor=actor)
    except Exception:  # recorded and committed: the watch checks the page in its next round
        log.exception("发布 %s 已登记人工发布，但随即核验出错；留待巡检", pub_id)
        checked = None
    return Recorded(action_id, checked)


def _gate_again(app: App, session: Session, pub: Publication, now: datetime) -> None:
    """What the worker checks right before a send, checked again right before the record: the
    signed rows, this row's channel and day, the stored images (a person may have waited)."""
    record = review_record(
        pub.submission,
        pub.version,
        store=app.blobs,
        publications=(pub,),
        origin=lambda row: origin_problem(session, row),
    )
    verdict = evaluate(record, app.policy, now=now)
    if not verdict.passed:
        raise GateRefused(
            "登记前复核未通过：" + "；".join(v.message for v in verdict.violations),
            details=list(verdict.codes),
        )


def confirm_taken_down(
    app: App, hub: ChannelHub, pub_id: int, *, actor: str, now: datetime | None = None
) -> verification.Checked:
    """The person says the page is down: verify it; only a page found gone (404/410) ends the
    to-do (the row becomes 已撤稿), anything else leaves it waiting, with the reason."""
    now = now or datetime.now(UTC)
    with app.db.read() as session:
        pub = get_publication(session, pub_id)
        require(session, actor, "retract", _kind(hub, pub), now)
        if pub.state != State.TAKEDOWN.value:
            raise Conflict(
                f"发布 {pub_id} 当前为“{State(pub.state).label}”，不是待人工撤下",
                code="not_takedown",
            )
    return verification.verify(app, hub, pub_id, trigger="takedown", actor=actor)


def actions(app: App, pub_id: int) -> list[ManualAction]:
    with app.db.read() as session:
        return list(
            session.scalars(
                select(ManualAction)
                .where(ManualAction.publication_id == pub_id)
                .options(selectinload(ManualAction.actor))
                .order_by(ManualAction.id)
            )
        )
