"""What every publishing job works with: the context (app, hub, rate gate, clock, settings), the
send plan, the record of each platform call (`Attempt`), and the moves several jobs make.

Every state change is a compare-and-set (`moves.move`, or `moves.recorded_move` with its
audit event); the platform is called only between two committed transactions, after the row is
`sending`. When a call's outcome is unknown the row stays `sending` until the reconciler has
asked the platform what it holds for the key.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels import errors as ce
from channels.base import ChannelKind, Receipt, RemoteState
from channels.item import Item
from orchestrator.app import App
from orchestrator.errors import Conflict, InvalidInput, NotFound
from orchestrator.models import Attempt, Publication
from orchestrator.permissions import require
from orchestrator.services.hub import ChannelHub, ChannelNotConfigured, RateGate
from orchestrator.services.moves import recorded_move
from orchestrator.services.record_cache import RecordCache
from orchestrator.settings import Settings
from orchestrator.states import State

log = logging.getLogger("sanshen.publishing")
DRAFT_ONLY_NOTE = "平台上只有草稿，提交发表的结果未知：请在平台后台核对后发表，或确认未发表后重发"
SHANGHAI = ZoneInfo("Asia/Shanghai")
QUOTA_SPENT = "daily_quota"  # last_error_class of a row waiting for a platform's daily reset
CHANNEL_PAUSED = "channel_paused"  # … of a row waiting for its channel's pause to end
WAITING_FOR_PAUSE = (CHANNEL_PAUSED, QUOTA_SPENT)
PLATFORM = "platform"  # who paused a channel the platform asked to wait


class Context:
    """The app, the channels, the rate gate and the clock that every job reads; the `Publisher`
    facade is one, and the tasks build one per worker process."""

    def __init__(
        self,
        app: App,
        hub: ChannelHub,
        gate: RateGate,
        clock: Any = None,
        enqueue: Callable[[list[tuple[int, str]]], None] | None = None,
    ) -> None:
        self.app, self.hub, self.gate = app, hub, gate
        self.clock = clock or (lambda: datetime.now(UTC))
        self.settings: Settings = app.settings
        # The part of the gate's record the rows of one version share (prepare.checked_item)
        self.records = RecordCache()
        # Hands rows moved to `queued` to the workers (tasks.jobs.enqueue); without it the
        # stale sweep (SANSHEN_QUEUED_STALE_AFTER) sends them.
        self.enqueue = enqueue

    def hand_to_workers(self, rows: list[tuple[int, str]]) -> None:
        """After the commit, as the scheduler does: a task never sees a row not yet queued.
        A broker that is away costs only time: the rows are queued, and the sweep sends them."""
        if self.enqueue is None or not rows:
            return
        try:
            self.enqueue(rows)
        except Exception as error:
            log.warning("消息队列暂不可用（%s）：已排队的发布将由定时扫描发送", error)

    def kind(self, pub: Publication) -> ChannelKind:
        return self.hub.classes[pub.channel].kind


@dataclass
class SendPlan:
    pub_id: int
    channel: str
    key: str
    item: Item
    attempt: int
    first_attempt_at: datetime


# --- reading rows -----------------------------------------------------------------------------


def get_publication(session: Session, pub_id: int) -> Publication:
    pub = session.get(Publication, pub_id)
    if pub is None:
        raise NotFound(f"发布 {pub_id} 不存在", code="unknown_publication")
    return pub


def permitted_publication(
    ctx: Context, session: Session, pub_id: int, *, actor: str, action: str, now: datetime
) -> Publication:
    """The row a person acts on, once their role may do `action` on its channel's kind."""
    pub = get_publication(session, pub_id)
    require(session, actor, action, ctx.kind(pub), now)
    return pub


def state_conflict(pub_id: int, state: str, why: str, code: str) -> Conflict:
    """A person's action refused because of the row's state: 发布 N 当前为“…”，`why`."""
    return Conflict(f"发布 {pub_id} 当前为“{State(state).label}”，{why}", code=code)


# --- the record of each platform call ---------------------------------------------------------


def attempt(
    session: Session,
    pub_id: int,
    operation: str,
    started: datetime,
    took: float,
    outcome: str,
    error: BaseException | None = None,
) -> None:
    session.add(
        Attempt(
            publication_id=pub_id,
            operation=operation,
            started_at=started,
            duration_ms=int(took * 1000),
            outcome=outcome,
            error_class=getattr(error, "code", type(error).__name__) if error else None,
            message=str(error) if error else None,
            worker=_worker_name(),
        )
    )


def _worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"


# --- timing -----------------------------------------------------------------------------------


def backoff(settings: Settings, tries: int) -> float:
    """The wait before try number `tries + 1`: exponential, capped, with full jitter (keeps
    workers from stampeding)."""
    delay: float = min(settings.retry_max_delay, settings.retry_base_delay * 2 ** (tries - 1))
    return delay * random.uniform(0.5, 1.0)


def ask_again(
    session: Session,
    pub_id: int,
    state: State,
    now: datetime,
    delay: float,
    error: ce.ChannelError | ChannelNotConfigured | None,
) -> None:
    """When the reconciler asks the platform about a row still in `state` again; a rate limit's
    retry-after (e.g. WeChat's daily freepublish/get quota) comes first."""
    if isinstance(error, ce.RateLimited):
        delay = max(delay, error.retry_after)
    session.execute(
        update(Publication)
        .where(Publication.id == pub_id, Publication.state == state.value)
        .values(next_check_at=now + timedelta(seconds=delay))
        .execution_options(synchronize_session=False)
    )


def local_moment(moment: datetime, now: datetime) -> str:
    """“次日 00:00”, “今日 18:30” or a date, in Shanghai time."""
    local, today = moment.astimezone(SHANGHAI), now.astimezone(SHANGHAI).date()
    days = (local.date() - today).days
    day = {0: "今日 ", 1: "次日 "}.get(days, f"{local:%Y-%m-%d} ")
    return f"{day}{local:%H:%M}"


# --- what the platform answered ---------------------------------------------------------------


def state_of(remote: RemoteState) -> State:
    return {
        RemoteState.PUBLISHED: State.PUBLISHED,
        RemoteState.SUBMITTED: State.SUBMITTED,
        RemoteState.REJECTED: State.FAILED,
        RemoteState.RETRACTED: State.RETRACTED,
    }.get(remote, State.SUBMITTED)


def receipt_values(receipt: Receipt, now: datetime, first_check: float) -> dict[str, Any]:
    values: dict[str, Any] = {
        "external_id": receipt.external_id,
        "url": receipt.url or None,
        "receipt": receipt.as_dict(),
    }
    if receipt.state is RemoteState.PUBLISHED:
        values["published_at"] = now
    if receipt.state is RemoteState.SUBMITTED:
        values["next_check_at"] = now + timedelta(seconds=first_check)
    return values


# --- moves several jobs make ------------------------------------------------------------------


def unconfirmed(
    ctx: Context,
    pub_id: int,
    now: datetime,
    operation: str,
    t0: float,
    error: BaseException,
    note: str,
) -> str:
    """Nobody can tell whether the platform published: a person checks (待人工确认)."""
    with ctx.app.db.session() as session:
        attempt(session, pub_id, operation, now, time.monotonic() - t0, "unknown", error)
        if not recorded_move(
            session,
            pub_id,
            (State.SENDING, State.SUBMITTED),
            State.UNCONFIRMED,
            now=now,
            action="publication.unconfirmed",
            payload={"reason": note},
            note=note,
        ):
            return "lost-race"
    return State.UNCONFIRMED.value


def send_failed(
    session: Session,
    pub_id: int,
    now: datetime,
    code: str,
    message: str,
    *,
    payload: dict[str, Any],
) -> str:
    """sending → failed, with the error a person reads (`code`, `message`)."""
    if not recorded_move(
        session,
        pub_id,
        (State.SENDING,),
        State.FAILED,
        now=now,
        action="publication.failed",
        payload=payload,
        last_error_class=code,
        last_error=message,
    ):
        return "lost-race"
    return State.FAILED.value


def require_reason(reason: str, action: str) -> None:
    """A person's `action` (撤稿, 撤下, 暂停渠道) says why, or is refused."""
    if not reason.strip():
        raise InvalidInput(f"{action}必须填写原因", code="reason_required")


def on_published(ctx: Context, session: Session, pub_id: int, now: datetime) -> None:
    """An upward platform adopted our item: draft the repost for the own platforms."""
    if not ctx.settings.auto_repost:
        return
    pub = session.get(Publication, pub_id, populate_existing=True)  # moved by a CAS
    if pub is not None and ctx.hub.classes[pub.channel].kind is ChannelKind.UPWARD:
        from orchestrator.services import reposts

        try:
            with session.begin_nested():
                reposts.draft_repost(session, ctx.app, pub, actor="system", now=now)
        except IntegrityError:
            # Another platform's adoption drafted the one repost at the same moment (the
            # database keeps one per original): this adoption is recorded, not reposted.
            with session.begin_nested():
                reposts.draft_repost(session, ctx.app, pub, actor="system", now=now)
