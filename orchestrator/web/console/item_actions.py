"""What a person may do with one publication on the item page, and doing it: retry, cancel,
reschedule, a signed 改期 (amend), release, drop, retract, confirm, verify. `ActionForm` is
the buttons' form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from channels.base import ChannelKind
from channels.registry import load_channels
from gate.model import ReviewStage
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.models import Person, Publication
from orchestrator.permissions import PERMISSIONS, WRITERS, holds
from orchestrator.services import amendments, verification
from orchestrator.services.verification import WATCHED
from orchestrator.states import State
from orchestrator.web import auth
from orchestrator.web.console.attention import WAITING_STATES
from orchestrator.web.deps import get_app, publisher
from orchestrator.web.templating import SHANGHAI, local

RETRACTABLE = (State.PUBLISHED.value, State.SUBMITTED.value, State.UNCONFIRMED.value)


CONTENT_REFUSALS = frozenset({"content_rejected"})


def content_refused(pub: Publication) -> bool:
    return pub.state == State.FAILED.value and pub.last_error_class in CONTENT_REFUSALS


def offered_actions(person: Person, pub: Publication, now: datetime) -> list[str]:
    """The buttons this person gets for this publication: their role for the channel's kind
    (orchestrator.permissions) and the publication's state must both allow the action."""
    cls = load_channels().get(pub.channel)
    if cls is None:
        return []
    kind = cls.kind

    def may(action: str) -> bool:
        return holds(person, PERMISSIONS.get((action, kind), frozenset()), now)

    state = pub.state
    offered = []
    # The platform refused the content: the fix is a new version (reviewed again), not a resend.
    if content_refused(pub) and holds(person, WRITERS, now):
        offered.append("revise")
    if state in (State.FAILED.value, State.UNCONFIRMED.value) and may("retry"):
        offered.append("retry")
    if state == State.SCHEDULED.value and may("schedule"):
        offered.append("reschedule")
    signs_off = get_app().policy.roles_for(ReviewStage.SIGN_OFF)
    if state in (State.SCHEDULED.value, State.HELD.value) and holds(person, signs_off, now):
        offered.append("amend")
    if state == State.HELD.value and may("release"):
        offered += ["release", "drop"]
    if state in WAITING_STATES and may("schedule"):
        offered.append("cancel")
    by_hand = pub.mode == "assisted"
    if state == State.MANUAL.value and may("publish_by_hand"):
        offered.append("package")
    if state == State.TAKEDOWN.value and may("retract"):
        offered.append("takedown")
    retractable = (by_hand and state == State.PUBLISHED.value) or (
        state in RETRACTABLE and pub.receipt and cls.capabilities.retract
    )
    if retractable and may("retract"):
        offered.append("retract")
    if pub.url and state in WATCHED and may("verify"):
        offered.append("verify")
    confirmable = state == State.UNCONFIRMED.value or (
        state == State.SUBMITTED.value and kind is ChannelKind.UPWARD
    )
    if confirmable and may("confirm"):
        offered.append("confirm")
    return offered


@dataclass
class ActionForm:
    reason: str = ""
    when: str = ""
    now: bool = False
    url: str = ""
    checked: bool = False
    new_date: str = ""
    at: str = ""
    password: str = ""


def _when(text: str) -> datetime:
    """A datetime-local value ("2026-11-25T14:30") read as Shanghai time, or "now"."""
    if text in ("", "now"):
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"时间“{text}”无效，应为 YYYY-MM-DD HH:MM", code="bad_time") from None
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


def act(action: str, pub_id: int, channel: str, who: auth.Principal, form: ActionForm) -> str:
    p = publisher()
    if action == "retry":
        p.retry(pub_id, actor=who.username, checked=form.checked)  # enqueued after the commit
        return "已重新排队发送"
    if action == "cancel":
        p.cancel(pub_id, reason=form.reason.strip() or "在控制台取消", actor=who.username)
        return "已取消发布"
    if action == "reschedule":
        when = _when("now" if form.now else form.when)
        p.reschedule(pub_id, when=when, actor=who.username)
        return "已改期至 " + local(when)
    if action == "amend":
        return _amend(pub_id, who, form)
    if action == "release":
        return "已放行，" + local(p.release(pub_id, actor=who.username)) + " 作为本单位稿件发布"
    if action == "drop":
        p.drop(pub_id, reason=form.reason, actor=who.username)
        return "已撤下，不再发布"
    if action == "retract":
        p.retract(pub_id, reason=form.reason, actor=who.username)
        return "已撤稿"
    if action == "confirm":
        p.confirm_by_hand(pub_id, url=form.url.strip(), actor=who.username)
        return "已人工确认发布"
    if action == "verify":
        return _verify(pub_id, who)
    raise NotFound(f"没有操作“{action}”", code="unknown_action")


def _verify(pub_id: int, who: auth.Principal) -> str:
    (checked,) = verification.verify_as(get_app(), publisher().hub, [pub_id], actor=who.username)
    if checked.verdict.value == "consistent":
        return "核验一致：线上页面与签发版本相同"
    return f"核验结果：{checked.verdict.label}。{checked.reason}"


def _amend(pub_id: int, who: auth.Principal, form: ActionForm) -> str:
    try:
        day = date.fromisoformat(form.new_date)
        clock = time.fromisoformat(form.at) if form.at else None
    except ValueError:
        raise InvalidInput("请填写有效的新日期和时间", code="bad_date") from None
    app = get_app()
    with app.db.session() as session:
        done = amendments.amend_date(
            session,
            pub_id,
            new_date=day,
            at_time=clock,
            actor=who.username,
            password=form.password,
            policy=app.policy,
            comment=form.reason.strip(),
        )
        return f"已签署改期，改至 {local(done.scheduled_at)}"
