"""Telling people when it is their turn: one message per person and event, with a link.

scan(session, app, now)        new Notification rows for what happened since the last scan
deliver_due(app, now, routes)  send what is due (and the daily digests), with backoff
run_once(app)                  both; the scheduler calls it every `notify_interval` seconds

Events, each keyed so that it is one row per person however often the scan runs, and however
many schedulers run it at once (the unique `dedup_key`):
- a stage waits (stage:<submission>:<fingerprint>:<stage>:<person>): the people who may act
  on it, per the gate's scope (services/deadlines.may_act);
- the item came back (returned:<action>): its author;
- one of mine failed on a channel (failed:<publication>:<revision>): the item's author;
- a stage past its limit (reminder:…) to the same people, and past twice its limit
  (escalation:…) to the next level (services/deadlines.escalation_targets);
- a 改期 request waits for a signature (date_request:<request>:<person>): the people who may
  sign it off (the 宣传分管领导), with a link to the calendar.

Delivery is at least once per row: a row is claimed with a lease, sent through each route the
person chose (企业微信 application message, e-mail), then marked. A crash between sending and
marking sends again after the lease; the 企业微信 duplicate check (30 minutes, same content)
hides that repeat. A person who chose the daily digest gets their rows as one message at
`notify_digest_at` (Shanghai time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gate.model import ReviewStage
from gate.rules import ReviewContext, role_problem
from orchestrator.app import App
from orchestrator.models import Notification, Person, Publication, Submission
from orchestrator.notify.errors import NotifyError
from orchestrator.services import daterequests, deadlines, review
from orchestrator.settings import Settings
from orchestrator.states import State

log = logging.getLogger("sanshen.notify")
SHANGHAI = ZoneInfo("Asia/Shanghai")
LEASE = timedelta(seconds=120)
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
FAILED_LOOKBACK = timedelta(days=7)
BATCH = 200
KIND_LABELS = {
    "stage": "待您办理",
    "returned": "稿件被退回",
    "failed": "发布失败",
    "reminder": "办理超时提醒",
    "escalation": "超时未办",
    "date_request": "改期待签",
}


@dataclass(frozen=True)
class Message:
    person: Person
    kind: str
    key: str
    title: str
    body: str
    link: str
    submission_id: int | None = None
    publication_id: int | None = None


def _local(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


def _item(sub: Submission) -> str:
    return f"稿件 {sub.id}《{sub.current.title}》"


def _stage_messages(
    wait: deadlines.Wait, context: ReviewContext, everyone: Sequence[Person], now: datetime
) -> list[Message]:
    sub, stage = wait.submission, wait.stage
    base = f"{sub.id}:{sub.current.fingerprint[:16]}:{stage.value}"
    link = f"/submissions/{sub.id}/review"
    detail = (
        f"{sub.department.name} · {sub.author.name}提交 · 送达 {_local(wait.since)}"
        f" · 时限 {_local(wait.due)}{'（紧急）' if sub.urgent else ''}"
    )
    actors = [p for p in everyone if deadlines.may_act(sub, p, context, now)]
    found = [
        Message(
            p,
            "stage",
            f"stage:{base}:{p.id}",
            f"待您{stage.label}：{_item(sub)}",
            detail,
            link,
            sub.id,
        )
        for p in actors
        if p.id != sub.current.created_by_id  # who just handed it in knows it waits for them
    ]
    if wait.overdue(now):
        found += [
            Message(
                p,
                "reminder",
                f"reminder:{base}:{p.id}",
                f"请尽快{stage.label}（已超时限）：{_item(sub)}",
                detail,
                link,
                sub.id,
            )
            for p in actors
        ]
    if now >= wait.escalate_at:
        waited = wait.waited(now)
        hours = f"{waited.total_seconds() / 3600:.0f} 小时"
        found += [
            Message(
                p,
                "escalation",
                f"escalation:{base}:{p.id}",
                f"{stage.label}超时未办（已等 {hours}）：{_item(sub)}",
                detail + f" · 待办理人：{'、'.join(a.name for a in actors) or '无'}",
                f"/items/{sub.id}",
                sub.id,
            )
            for p in deadlines.escalation_targets(wait, everyone, context, now)
        ]
    return found


def _returned_message(back: deadlines.Returned) -> Message:
    sub = back.submission
    return Message(
        sub.author,
        "returned",
        f"returned:{back.action_id}",
        f"{back.stage}{back.decision}：{_item(sub)}",
        f"{back.actor} · {_local(back.acted_at)} · 意见：{back.comment or '无'}",
        f"/submissions/{sub.id}/revise",
        sub.id,
    )


def _failed_messages(session: Session, now: datetime) -> list[Message]:
    rows = session.scalars(
        select(Publication)
        .where(
            Publication.state == State.FAILED.value,
            Publication.state_changed_at >= now - FAILED_LOOKBACK,
        )
        .order_by(Publication.id)
        .limit(BATCH)
    )
    found = []
    for pub in rows:
        sub = pub.submission
        found.append(
            Message(
                sub.author,
                "failed",
                f"failed:{pub.id}:{pub.revision}",
                f"{_channel(pub.channel)}发布失败：{_item(sub)}",
                pub.last_error or "",
                f"/items/{sub.id}#pub-{pub.id}",
                sub.id,
                pub.id,
            )
        )
    return found


def _date_request_messages(
    session: Session, app: App, everyone: Sequence[Person], now: datetime
) -> list[Message]:
    """A 改期 request waits for the 宣传分管领导's signature: each of them is told once."""
    signers = [
        p
        for p in everyone
        if role_problem(review.gate_person(p), ReviewStage.SIGN_OFF, "", app.policy, now) is None
    ]
    found = []
    for req in daterequests.waiting_requests(session)[:BATCH]:
        pub, sub = req.publication, req.publication.submission
        why = f"：{req.comment}" if req.comment else ""
        found += [
            Message(
                p,
                "date_request",
                f"date_request:{req.id}:{p.id}",
                f"待您签署改期：{_item(sub)}",
                f"{_channel(pub.channel)} {req.old_date} → {req.new_date}"
                f" · {req.requested_by.name}申请{why}",
                f"/calendar?date={req.new_date.isoformat()}#requests",
                sub.id,
                pub.id,
            )
            for p in signers
        ]
    return found


def _channel(name: str) -> str:
    from orchestrator.services.submissions import channel_catalogue

    return channel_catalogue().get(name, name)


def scan(session: Session, app: App, *, now: datetime) -> list[Notification]:
    """New rows for every event not yet told; an event already told is skipped by its key."""
    everyone = deadlines.people(session)
    messages: list[Message] = []
    for sub in session.scalars(deadlines.open_submissions().limit(BATCH)):
        back = deadlines.returned_to(sub)
        if back is not None:
            messages.append(_returned_message(back))
            continue
        context = ReviewContext(review.review_record(sub), app.policy, now)
        wait = deadlines.wait_of(sub, context, app.settings)
        if wait is not None:
            messages += _stage_messages(wait, context, everyone, now)
    messages += _failed_messages(session, now)
    messages += _date_request_messages(session, app, everyone, now)
    known = set(
        session.scalars(
            select(Notification.dedup_key).where(
                Notification.dedup_key.in_([m.key for m in messages])
            )
        )
    )
    created = []
    for m in messages:
        if m.key in known:
            continue
        known.add(m.key)
        row = Notification(
            dedup_key=m.key,
            person_id=m.person.id,
            kind=m.kind,
            submission_id=m.submission_id,
            publication_id=m.publication_id,
            title=m.title[:200],
            body=m.body,
            link=m.link,
            created_at=now,
            state="digest" if m.person.notify_digest and m.kind != "escalation" else "pending",
            attempts=0,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # another scheduler's scan wrote it first
            continue
        created.append(row)
    return created


# --- delivery ----------------------------------------------------------------------------------


Route = Callable[[Person, str, str, str], None]  # (person, title, body, absolute url)


def routes_from(settings: Settings) -> dict[str, Route]:
    """The configured ways to reach people: `wecom` and/or `email`."""
    found: dict[str, Route] = {}
    if settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id:
        from orchestrator.notify.wecom import WeComApp

        client = WeComApp(
            settings.wecom_corp_id,
            settings.wecom_secret.get_secret_value(),
            settings.wecom_agent_id,
            base_url=settings.wecom_base_url,
        )

        def wecom(person: Person, title: str, body: str, url: str) -> None:
            if not person.wecom_userid:
                raise NotifyError(
                    f"{person.name}未登记企业微信账号", code="no_address", permanent=True
                )
            result = client.send_card([person.wecom_userid], title, body, url)
            if result.invalid_users:
                raise NotifyError(
                    f"企业微信账号 {person.wecom_userid} 无效或不在应用可见范围",
                    code="recipients_invalid",
                    permanent=True,
                )

        found["wecom"] = wecom
    if settings.smtp_host:
        from orchestrator.notify.mail import MailSettings, send_mail

        mail = MailSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else "",
            use_tls=settings.smtp_tls,
            sender=settings.smtp_sender,
        )

        def email(person: Person, title: str, body: str, url: str) -> None:
            if not person.email:
                raise NotifyError(f"{person.name}未登记邮箱", code="no_address", permanent=True)
            send_mail(mail, [person.email], title, f"{body}\n\n办理：{url}\n")

        found["email"] = email
    return found


def _chosen(person: Person) -> list[str]:
    return [v.strip() for v in person.notify_via.split(",") if v.strip()]


def _claim(session: Session, ids: Sequence[int], state: str, now: datetime) -> list[int]:
    claimed = []
    for row_id in ids:
        done = session.execute(
            update(Notification)
            .where(
                Notification.id == row_id,
                Notification.state == state,
                or_(Notification.next_try_at.is_(None), Notification.next_try_at <= now),
            )
            .values(next_try_at=now + LEASE)
        )
        if done.rowcount:  # type: ignore[attr-defined]
            claimed.append(row_id)
    return claimed


def _send(
    person: Person, title: str, body: str, url: str, routes: dict[str, Route]
) -> tuple[str, str | None, bool]:
    """Through every route the person chose that is configured: (delivered via, error,
    permanent). Delivered by one route is delivered."""
    via, errors, permanent = [], [], True
    for name in _chosen(person):
        route = routes.get(name)
        if route is None:
            continue
        try:
            route(person, title, body, url)
            via.append(name)
        except NotifyError as error:
            errors.append(f"{name}: {error.message_cn}")
            permanent = permanent and error.permanent
    if via:
        return ",".join(via), None, False
    if not errors:
        return "", "没有可用的通知方式（未配置企业微信或邮件，或本人未选择）", True
    return "", "；".join(errors), permanent


def _record(
    session: Session,
    row: Notification,
    via: str,
    error: str | None,
    permanent: bool,
    now: datetime,
    max_attempts: int,
) -> str:
    row.attempts += 1
    if error is None:
        row.state, row.sent_at, row.via, row.last_error, row.next_try_at = (
            "sent",
            now,
            via,
            None,
            None,
        )
    elif permanent or row.attempts >= max_attempts:
        row.state, row.last_error, row.next_try_at = "failed", error, None
    else:
        delay = min(RETRY_BASE * 2 ** (row.attempts - 1), RETRY_MAX)
        row.state, row.last_error, row.next_try_at = "pending", error, now + delay
    return row.state


def deliver_due(app: App, *, now: datetime, routes: dict[str, Route]) -> dict[str, int]:
    counts = {"sent": 0, "pending": 0, "failed": 0, "digests": 0}
    with app.db.session() as session:
        due = list(
            session.scalars(
                select(Notification.id)
                .where(
                    Notification.state == "pending",
                    or_(Notification.next_try_at.is_(None), Notification.next_try_at <= now),
                )
                .order_by(Notification.id)
                .limit(BATCH)
            )
        )
        claimed = _claim(session, due, "pending", now)
    for row_id in claimed:  # sent outside any transaction: a slow platform holds no lock
        with app.db.session() as session:
            row = session.get(Notification, row_id)
            assert row is not None
            person, title, body = row.person, row.title, row.body
            url = app.settings.public_url.rstrip("/") + row.link
        via, error, permanent = _send(person, title, body, url, routes)
        if error:
            log.warning("notification %s not delivered: %s", row_id, error)
        with app.db.session() as session:
            row = session.get(Notification, row_id)
            assert row is not None
            counts[
                _record(session, row, via, error, permanent, now, app.settings.notify_max_attempts)
            ] += 1
    counts["digests"] = _digests(app, now=now, routes=routes)
    return counts


def digest_moment(settings: Settings, now: datetime) -> datetime:
    """Today's digest time (Shanghai) in UTC."""
    hour, minute = (int(x) for x in settings.notify_digest_at.split(":"))
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date(), time(hour, minute), SHANGHAI).astimezone(UTC)


def _digests(app: App, *, now: datetime, routes: dict[str, Route]) -> int:
    """At the digest time, each person's waiting rows (made before it) as one message."""
    cut = digest_moment(app.settings, now)
    if now < cut:
        return 0
    with app.db.session() as session:
        rows = session.execute(
            select(Notification.id, Notification.person_id).where(
                Notification.state == "digest", Notification.created_at <= cut
            )
        ).all()
        by_person: dict[int, list[int]] = {}
        for row_id, person_id in rows:
            by_person.setdefault(person_id, []).append(row_id)
    sent = 0
    for ids in by_person.values():
        with app.db.session() as session:
            claimed = _claim(session, ids, "digest", now)
        if not claimed:
            continue
        with app.db.session() as session:
            items = [session.get(Notification, i) for i in claimed]
            person = items[0].person  # type: ignore[union-attr]
            lines = [
                f"· {n.title}（{app.settings.public_url.rstrip('/')}{n.link}）" for n in items if n
            ]
            title = f"三审发布每日汇总：{len(lines)} 条待您处理"
            url = app.settings.public_url.rstrip("/") + "/todo"
        via, error, permanent = _send(person, title, "\n".join(lines), url, routes)
        with app.db.session() as session:
            for row_id in claimed:
                row = session.get(Notification, row_id)
                assert row is not None
                if error is None:
                    row.state, row.sent_at, row.via = "sent", now, via
                else:
                    row.attempts += 1
                    row.last_error = error
                    row.state = "failed" if permanent else "digest"
                    row.next_try_at = None if permanent else now + RETRY_BASE
        sent += error is None
    return sent


def run_once(
    app: App, *, now: datetime | None = None, routes: dict[str, Route] | None = None
) -> dict[str, int]:
    """One round: scan (committed first), then deliver what is due."""
    now = now or datetime.now(UTC)
    with app.db.session() as session:
        created = scan(session, app, now=now)
    routes = routes if routes is not None else routes_from(app.settings)
    return {"created": len(created)} | deliver_due(app, now=now, routes=routes)


def for_person(session: Session, person: Person, *, limit: int = 50) -> list[Notification]:
    """A person's own messages, newest first (the console shows them)."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.person_id == person.id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )
