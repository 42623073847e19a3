"""Publishing: from a signed-off version to each channel, once, on time, or clearly not.

Every state change is a compare-and-set (`move`); the platform is called only between two
committed transactions, after the row is `sending`. When a call's outcome is unknown the row
stays `sending` until the reconciler has asked the platform what it holds for the key.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import tenacity
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from channels import errors as ce
from channels.base import Channel, ChannelKind, Receipt, RemoteState, Status
from channels.item import Item
from gate import evaluate
from orchestrator import logs
from orchestrator.app import App
from orchestrator.errors import Conflict, GateRefused, InvalidInput, NotFound, SanshenError
from orchestrator.models import Attempt, Publication
from orchestrator.permissions import require
from orchestrator.render import render
from orchestrator.services import alerts, amendments
from orchestrator.services.dispatch import move, record_move
from orchestrator.services.hub import (
    ChannelHub,
    ChannelNotConfigured,
    Mode,
    RateGate,
)
from orchestrator.services.review import origin_problem, review_record
from orchestrator.states import State

log = logging.getLogger("sanshen.publishing")
DRAFT_ONLY_NOTE = "平台上只有草稿，提交发表的结果未知：请在平台后台核对后发表，或确认未发表后重发"
SHANGHAI = ZoneInfo("Asia/Shanghai")
QUOTA_SPENT = "daily_quota"  # last_error_class of a row waiting for a platform's daily reset
CHANNEL_PAUSED = "channel_paused"  # … of a row waiting for its channel's pause to end
WAITING_FOR_PAUSE = (CHANNEL_PAUSED, QUOTA_SPENT)
PLATFORM = "platform"  # who paused a channel the platform asked to wait


def _ask_again(
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


def _attempt(
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


def _failed_finds(session: Session, pub_id: int, since: datetime) -> int:
    """The checks of this send (since the row became `sending`) that the platform could not
    answer."""
    return (
        session.scalar(
            select(func.count(Attempt.id)).where(
                Attempt.publication_id == pub_id,
                Attempt.operation == "find",
                Attempt.outcome == "retryable",
                Attempt.started_at >= since,
            )
        )
        or 0
    )


def _worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"


# --- sending --------------------------------------------------------------------------------


@dataclass
class SendPlan:
    pub_id: int
    channel: str
    key: str
    item: Item
    attempt: int
    first_attempt_at: datetime


class Publisher:
    """The business of sending, confirming and retracting; tasks are thin calls into this."""

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
        self.settings = app.settings
        # Hands rows moved to `queued` to the workers (tasks.jobs.enqueue); without it the
        # stale sweep (SANSHEN_QUEUED_STALE_AFTER) sends them.
        self.enqueue = enqueue

    def _hand_to_workers(self, rows: list[tuple[int, str]]) -> None:
        """After the commit, as the scheduler does: a task never sees a row not yet queued.
        A broker that is away costs only time: the rows are queued, and the sweep sends them."""
        if self.enqueue is None or not rows:
            return
        try:
            self.enqueue(rows)
        except Exception as error:
            log.warning("消息队列暂不可用（%s）：已排队的发布将由定时扫描发送", error)

    # the one entry point a worker calls for a queued row
    def send(self, pub_id: int) -> str:
        with logs.log_context(publication_id=pub_id):  # `_prepare` binds the other ids
            return self._send(pub_id)

    def _send(self, pub_id: int) -> str:
        plan = self._prepare(pub_id)
        if isinstance(plan, str):
            return plan
        channel = self.hub.get(plan.channel)
        started, t0 = self.clock(), time.monotonic()
        try:
            receipt = _quick_retry(channel.publish, plan.item, plan.key)
        except ce.ChannelError as error:
            log.warning("publication %s on %s: %s (%s)", pub_id, plan.channel, error.code, error)
            return self._failed_call(plan, error, started, time.monotonic() - t0)
        log.info(
            "publication %s on %s: %s %s",
            pub_id,
            plan.channel,
            receipt.state.value,
            receipt.external_id,
        )
        return self._sent(plan, receipt, started, time.monotonic() - t0)

    def _prepare(self, pub_id: int) -> SendPlan | str:
        """Check and render in a read transaction; only the compare-and-set takes the write
        lock (SQLite has one writer at a time)."""
        now = self.clock()
        refusal: SanshenError | None = None
        with self.app.db.read() as session:
            pub = session.get(Publication, pub_id)
            if pub is None:
                return "missing"
            logs.bind(
                submission_id=pub.submission_id, version_id=pub.version_id, channel=pub.channel
            )
            if pub.state != State.QUEUED.value:
                return f"skipped:{pub.state}"
            channel, key, attempt = pub.channel, pub.idempotency_key, pub.attempts + 1
            first = pub.sent_at or now
            wait = self.gate.wait_left(channel)
            assisted = False
            if not wait:
                try:
                    assisted = self.hub.mode(channel) is Mode.ASSISTED
                    item = self._checked_item(pub, assisted=assisted)
                except SanshenError as error:
                    refusal = _quota_moved_the_day(pub, error) or error
        with self.app.db.session() as session:
            if wait:
                until = now + timedelta(seconds=wait)
                if move(
                    session,
                    pub_id,
                    (State.QUEUED,),
                    State.SCHEDULED,
                    now=now,
                    scheduled_at=until,
                    # marks the row as waiting for the pause: a resume brings it forward
                    last_error_class=CHANNEL_PAUSED,
                    last_error=f"渠道暂停中，将于{_local_moment(until, now)} 后发送",
                ):
                    # scheduled_at is bound (attest): the new time is recorded with its digest
                    record_move(
                        session,
                        pub_id,
                        "publication.pause",
                        State.SCHEDULED,
                        payload={"wait": round(wait, 3)},
                        at=now,
                        rebound=True,
                    )
                return "paused"
            if refusal is not None:
                if move(
                    session,
                    pub_id,
                    (State.QUEUED,),
                    State.FAILED,
                    now=now,
                    last_error_class=refusal.code,
                    last_error=refusal.message,
                ):
                    _attempt(session, pub_id, "publish", now, 0, "refused", refusal)
                    record_move(
                        session,
                        pub_id,
                        "publication.refused",
                        State.FAILED,
                        payload={"code": refusal.code, "reason": refusal.message},
                        at=now,
                    )
                    alerts.raise_integrity(session, pub_id, refusal, now=now)
                return "refused"
            if assisted:
                # The gate passed on exactly this row: a person now publishes it by hand on the
                # platform (the publish package) and records the URL.
                if move(
                    session,
                    pub_id,
                    (State.QUEUED,),
                    State.MANUAL,
                    now=now,
                    mode=Mode.ASSISTED.value,
                    next_check_at=None,
                    last_error=None,
                    last_error_class=None,
                ):
                    record_move(session, pub_id, "publication.manual", State.MANUAL, at=now)
                    return State.MANUAL.value
                return "lost-race"
            if not move(
                session,
                pub_id,
                (State.QUEUED,),
                State.SENDING,
                now=now,
                attempts=Publication.attempts + 1,
                sent_at=first,
                next_check_at=None,  # a stuck send is asked about settle_after from now
            ):
                return "lost-race"
        return SendPlan(pub_id, channel, key, item, attempt, first)

    def _checked_item(self, pub: Publication, *, assisted: bool = False) -> Item:
        """The gate again, right before the send, on exactly what is about to go out: this
        row's channel and time against the signed rows, and the stored image bytes. An assisted
        row needs no adapter settings: a person publishes it."""
        if not assisted:
            self.hub.get(pub.channel)  # raises ChannelNotConfigured
        session = object_session(pub)
        record = review_record(
            pub.submission,
            pub.version,
            store=self.app.blobs,
            publications=(pub,),
            origin=lambda row: origin_problem(session, row),
        )
        verdict = evaluate(record, self.app.policy, now=self.clock())
        if not verdict.passed:
            raise GateRefused(
                "发送前复核未通过：" + "；".join(v.message for v in verdict.violations),
                details=list(verdict.codes),
            )
        return render(pub.version, pub.channel, reference=f"P{pub.id}", store=self.app.blobs)

    def _sent(self, plan: SendPlan, receipt: Receipt, started: datetime, took: float) -> str:
        now = self.clock()
        if receipt.extra.get("draft"):
            # The adapter found only its own earlier draft and would not risk a second submit.
            return self._unconfirmed(
                plan.pub_id,
                now,
                "publish",
                time.monotonic() - took,
                ce.OutcomeUnknown("平台只有草稿"),
                DRAFT_ONLY_NOTE,
            )
        with self.app.db.session() as session:
            _attempt(session, plan.pub_id, "publish", started, took, "ok")
            target = _state_of(receipt.state)
            moved = move(
                session,
                plan.pub_id,
                (State.SENDING,),
                target,
                now=now,
                **_receipt_values(receipt, now, self.settings.confirm_first_check),
            )
            record_move(
                session,
                plan.pub_id,
                "publication.sent",
                target if moved else None,
                payload={
                    "state": target.value,
                    "external_id": receipt.external_id,
                    "url": receipt.url,
                },
                at=now,
            )
            if target is State.PUBLISHED:
                self.on_published(session, plan.pub_id, now)
        return target.value

    def _failed_call(
        self, plan: SendPlan, error: ce.ChannelError, started: datetime, took: float
    ) -> str:
        now = self.clock()
        with self.app.db.session() as session:
            if isinstance(error, ce.OutcomeUnknown):
                # Stay `sending`: the platform is asked what it holds before anything is resent.
                _attempt(session, plan.pub_id, "publish", started, took, "unknown", error)
                session.execute(
                    update(Publication)
                    .where(Publication.id == plan.pub_id)
                    .values(last_error_class=error.code, last_error=str(error))
                )
            else:
                return self._retry_or_fail(plan, error, started, took, now, session)
        if self.hub.get(plan.channel).capabilities.dedupes_by_key:
            # The platform makes one article per key even if the lost call is still running
            # there: ask now rather than wait out the settle time (a failed ask leaves the row
            # to the reconciler, as for every other platform).
            return self.settle(plan.pub_id, at_once=True)
        return "unknown"

    def _retry_or_fail(
        self,
        plan: SendPlan,
        error: ce.ChannelError,
        started: datetime,
        took: float,
        now: datetime,
        session: Session,
    ) -> str:
        if isinstance(error, ce.Retryable):
            _attempt(session, plan.pub_id, "publish", started, took, "retryable", error)
            return self._retry_later(
                session,
                plan.pub_id,
                plan.channel,
                plan.attempt,
                plan.first_attempt_at,
                error,
                now,
            )
        _attempt(session, plan.pub_id, "publish", started, took, "permanent", error)
        if not move(
            session,
            plan.pub_id,
            (State.SENDING,),
            State.FAILED,
            now=now,
            last_error_class=error.code,
            last_error=str(error),
        ):
            return "lost-race"
        record_move(
            session,
            plan.pub_id,
            "publication.failed",
            State.FAILED,
            payload={"error": error.code, "message": str(error)},
            at=now,
        )
        return State.FAILED.value

    def _retry_later(
        self,
        session: Session,
        pub_id: int,
        channel: str,
        attempt: int,
        first: datetime,
        error: ce.ChannelError,
        now: datetime,
        *,
        may_give_up: bool = True,
    ) -> str:
        s = self.settings
        if isinstance(error, ce.RateLimited) and error.daily:
            return self._after_quota_reset(session, pub_id, channel, error, now)
        if isinstance(error, ce.RateLimited):
            self.gate.pause(channel, error.retry_after, by=PLATFORM, reason=str(error))
            delay = error.retry_after
        else:
            delay = min(s.retry_max_delay, s.retry_base_delay * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.0)  # full jitter keeps workers from stampeding
        give_up = attempt >= s.retry_max_attempts or (
            now + timedelta(seconds=delay) - first > timedelta(seconds=s.retry_window)
        )
        if give_up and not may_give_up:
            # The call whose answer was lost may still be running on the platform: "not there
            # yet" is no verdict. The row stays `sending`; the reconciler asks again once the
            # settle time has passed, when no call of ours can still be running.
            return "unknown"
        if give_up:
            if not move(
                session,
                pub_id,
                (State.SENDING,),
                State.FAILED,
                now=now,
                last_error_class=error.code,
                last_error=f"重试 {attempt} 次仍未成功：{error}",
            ):
                return "lost-race"
            record_move(
                session,
                pub_id,
                "publication.failed",
                State.FAILED,
                payload={"error": error.code, "attempts": attempt},
                at=now,
            )
            return State.FAILED.value
        if move(
            session,
            pub_id,
            (State.SENDING,),
            State.SCHEDULED,
            now=now,
            scheduled_at=now + timedelta(seconds=delay),
            last_error_class=error.code,
            last_error=str(error),
        ):
            # scheduled_at is bound (attest): the retry's time is recorded with its digest
            record_move(
                session,
                pub_id,
                "publication.retry_later",
                State.SCHEDULED,
                payload={"error": error.code, "attempt": attempt, "delay": round(delay, 3)},
                at=now,
                rebound=True,
            )
        return "retry"

    def _after_quota_reset(
        self, session: Session, pub_id: int, channel: str, error: ce.RateLimited, now: datetime
    ) -> str:
        """The platform's quota for the day is spent: the channel waits for the reset, and this
        row with it, like the rows queued behind it. Not a failure of the item: the call is not
        counted against its tries, and its retry window starts again at the reset. A reset on a
        later day than the signed one is said at once (the 审批表 binds the day)."""
        self.gate.pause(channel, error.retry_after, by=PLATFORM, reason=str(error))
        # The adapter counted from its own clock, a call's length after `now`: up to the minute
        reset = _next_minute(now + timedelta(seconds=error.retry_after))
        note = f"今日调用次数已用完，将于{_local_moment(reset, now)} 后重试"
        pub = session.get(Publication, pub_id)
        if pub is not None:
            signed, _ = amendments.signed_day(session, pub)
            if reset.astimezone(self.app.policy.zone).date() != signed:
                note += (
                    f"；审批表的发布日期是 {signed.isoformat()}，届时发布须宣传分管领导先签署改期"
                )
        if not move(
            session,
            pub_id,
            (State.SENDING,),
            State.SCHEDULED,
            now=now,
            scheduled_at=reset,
            attempts=Publication.attempts - 1,
            sent_at=None,
            last_error_class=QUOTA_SPENT,
            last_error=note,
        ):
            return "lost-race"
        record_move(
            session,
            pub_id,
            "publication.retry_later",
            State.SCHEDULED,
            payload={"error": QUOTA_SPENT, "delay": round(error.retry_after, 3)},
            at=now,
            rebound=True,
        )
        return "retry"

    # --- reconciling ------------------------------------------------------------------------

    def reconcile(self, limit: int | None = None) -> dict[str, int]:
        """Settle rows whose outcome is open: stuck `sending`, waiting `submitted`.

        A round takes only the rows whose time to be asked has come (`next_check_at`), at most
        `reconcile_batch` of each kind, oldest first: short rounds then spread the platform
        calls over time as the rows fall due, instead of a burst every round that competes
        with the due sends (bench/schedule.py), and a backlog drains at a steady pace.

        The rows are found, and each is read before its platform call, in read transactions:
        on SQLite only writes take the one write lock that the workers' sends and the
        scheduler's claims wait for, so a check takes it once, not twice. Every write is still
        a compare-and-set."""
        now = self.clock()
        s = self.settings
        limit = limit or s.reconcile_batch
        due = Publication.next_check_at.is_(None) | (Publication.next_check_at <= now)
        with self.app.db.read() as session:
            stuck = session.scalars(
                select(Publication.id)
                .where(
                    Publication.state == State.SENDING.value,
                    Publication.state_changed_at < now - timedelta(seconds=s.settle_after),
                    due,
                )
                .order_by(Publication.next_check_at.nulls_first(), Publication.id)
                .limit(limit)
            ).all()
            waiting = session.scalars(
                select(Publication.id)
                .where(Publication.state == State.SUBMITTED.value, due)
                .order_by(Publication.next_check_at.nulls_first(), Publication.id)
                .limit(limit)
            ).all()
        # Each check is a platform call with its own short transactions: several at once, so
        # one slow platform (or a backlog after downtime) does not hold up the round.
        with ThreadPoolExecutor(s.reconcile_concurrency, "sanshen-check") as pool:
            settled = list(pool.map(lambda pub_id: self._guarded(self.settle, pub_id), stuck))
            confirmed = list(pool.map(lambda pub_id: self._guarded(self.confirm, pub_id), waiting))
        return {
            "settled": sum(result not in ("open", "error") for result in settled),
            "confirmed": sum(
                result not in (State.SUBMITTED.value, "error") for result in confirmed
            ),
        }

    @staticmethod
    def _guarded(check: Callable[[int], str], pub_id: int) -> str:
        """One row's failure is logged and leaves the row for the next round, not the others."""
        try:
            return check(pub_id)
        except Exception:
            log.exception("checking publication %s failed; next round tries again", pub_id)
            return "error"

    def settle(self, pub_id: int, *, at_once: bool = False) -> str:
        """Ask the platform what it holds for the key of a row stuck in `sending`. `at_once`:
        right after a lost answer, on a platform that makes one article per key; then a resend
        is safe, but giving up is not (the lost call may still land)."""
        now = self.clock()
        with self.app.db.read() as session:
            pub = session.get(Publication, pub_id)
            if pub is None or pub.state != State.SENDING.value:
                return "open" if pub is None else pub.state
            channel_name, key, attempt, first = (
                pub.channel,
                pub.idempotency_key,
                pub.attempts,
                pub.sent_at or now,
            )
            sending_since = pub.state_changed_at
            failed_checks = _failed_finds(session, pub_id, sending_since)
        t0 = time.monotonic()
        try:
            adapter = self.hub.get(channel_name)
            found = adapter.find(key, since=first)  # the first send: how far back to look
        except ce.NotSupported as error:
            note = "平台无法按幂等键核对，需人工确认是否已发布"
            if isinstance(error, ce.SearchInconclusive):
                note = f"{error}，需人工确认"
            return self._unconfirmed(pub_id, now, "find", t0, error, note)
        except (ce.ChannelError, ChannelNotConfigured) as error:
            return self._find_failed(pub_id, sending_since, failed_checks + 1, now, t0, error)
        draft_only = found is not None and bool(found.extra.get("draft"))
        if draft_only and not adapter.capabilities.resumes_drafts:
            return self._unconfirmed(
                pub_id, now, "find", t0, ce.OutcomeUnknown("平台只有草稿"), DRAFT_ONLY_NOTE
            )
        with self.app.db.session() as session:
            _attempt(session, pub_id, "find", now, time.monotonic() - t0, "ok")
            if found is None:
                # The platform holds nothing for the key after the settle time: safe to retry.
                absent = ce.Unavailable("平台未收到该稿件（已核对），将重新发送")
                return self._retry_later(
                    session,
                    pub_id,
                    channel_name,
                    attempt,
                    first,
                    absent,
                    now,
                    may_give_up=not at_once,
                )
            if draft_only:
                # Only a draft, and publishing the same key finishes it: resend.
                draft = ce.Unavailable("平台只有草稿（发布步骤未生效，已核对），将继续发布")
                return self._retry_later(
                    session,
                    pub_id,
                    channel_name,
                    attempt,
                    first,
                    draft,
                    now,
                    may_give_up=not at_once,
                )
            return self._settled(session, pub_id, found, now)

    def _find_failed(
        self,
        pub_id: int,
        sending_since: datetime,
        failed: int,
        now: datetime,
        t0: float,
        error: ce.ChannelError | ChannelNotConfigured,
    ) -> str:
        """A check that could not be made is asked again later, backing off exponentially
        (behind the other stuck rows, so a platform that is down keeps no round's places from
        the others), and never sooner than a rate limit's retry-after. Bounded: after
        `settle_max_checks` failed checks, or when the next one would come later than
        `settle_window` after the send started (a daily quota), a person takes over."""
        s = self.settings
        delay = min(s.retry_max_delay, s.retry_base_delay * 2 ** (failed - 1))
        delay *= random.uniform(0.5, 1.0)
        if isinstance(error, ce.RateLimited):
            delay = max(delay, error.retry_after)
        deadline = sending_since + timedelta(seconds=s.settle_window)
        if failed >= s.settle_max_checks or now + timedelta(seconds=delay) > deadline:
            note = (
                f"向平台核对 {failed} 次未成功（{error}），无法确认是否已发布："
                "请在平台后台核对，已发布则人工确认，未发布则重发"
            )
            return self._unconfirmed(pub_id, now, "find", t0, error, note)
        with self.app.db.session() as session:
            _attempt(session, pub_id, "find", now, time.monotonic() - t0, "retryable", error)
            _ask_again(session, pub_id, State.SENDING, now, delay, error)
        return "open"

    def _settled(self, session: Session, pub_id: int, found: Receipt, now: datetime) -> str:
        target = _state_of(found.state)
        if not move(
            session,
            pub_id,
            (State.SENDING,),
            target,
            now=now,
            **_receipt_values(found, now, self.settings.confirm_first_check),
        ):
            return "lost-race"  # the worker's own settle and the reconciler's met
        record_move(
            session,
            pub_id,
            "publication.settled",
            target,
            payload={"state": target.value, "external_id": found.external_id},
            at=now,
        )
        if target is State.PUBLISHED:
            self.on_published(session, pub_id, now)
        return target.value

    def _unconfirmed(
        self, pub_id: int, now: datetime, operation: str, t0: float, error: BaseException, note: str
    ) -> str:
        with self.app.db.session() as session:
            _attempt(session, pub_id, operation, now, time.monotonic() - t0, "unknown", error)
            if not move(
                session,
                pub_id,
                (State.SENDING, State.SUBMITTED),
                State.UNCONFIRMED,
                now=now,
                note=note,
            ):
                return "lost-race"
            record_move(
                session,
                pub_id,
                "publication.unconfirmed",
                State.UNCONFIRMED,
                payload={"reason": note},
                at=now,
            )
        return State.UNCONFIRMED.value

    def confirm(self, pub_id: int) -> str:
        """Ask the platform where a `submitted` article stands: a sparing poll whose interval
        doubles with the time already waited (the callback is the main path where there is one)."""
        now = self.clock()
        with self.app.db.read() as session:
            pub = session.get(Publication, pub_id)
            if pub is None or pub.state != State.SUBMITTED.value or not pub.receipt:
                return State.SUBMITTED.value if pub is None else pub.state
            receipt, channel_name = Receipt.from_dict(pub.receipt), pub.channel
            waited = now - pub.state_changed_at
        adapter = self.hub.get(channel_name)
        overdue = waited > timedelta(seconds=self._patience(adapter))
        t0 = time.monotonic()
        try:
            status = adapter.status(receipt)
        except ce.ChannelError as error:
            if overdue:
                return self._unconfirmed(
                    pub_id, now, "status", t0, error, "已提交但长时间未得到平台确认"
                )
            with self.app.db.session() as session:
                _attempt(session, pub_id, "status", now, time.monotonic() - t0, "retryable", error)
                self._next_check(session, pub_id, now, waited, error)
            return State.SUBMITTED.value
        with self.app.db.session() as session:
            _attempt(session, pub_id, "status", now, time.monotonic() - t0, "ok")
            result = self._apply_status(session, pub_id, status, now, overdue)
            if result == State.SUBMITTED.value:
                self._next_check(session, pub_id, now, waited, None)
            return result

    def _patience(self, adapter: Channel) -> float:
        if adapter.kind is ChannelKind.UPWARD:
            return self.settings.upward_unconfirmed_after
        return self.settings.unconfirmed_after

    def _next_check(
        self,
        session: Session,
        pub_id: int,
        now: datetime,
        waited: timedelta,
        error: ce.ChannelError | None,
    ) -> None:
        s = self.settings
        delay = min(s.confirm_max_interval, max(s.confirm_first_check, waited.total_seconds()))
        _ask_again(session, pub_id, State.SUBMITTED, now, delay, error)

    def apply_status(self, channel: str, external_id: str, status: Status) -> str:
        """A platform told us (callback) where an article stands."""
        now = self.clock()
        with self.app.db.session() as session:
            pub = session.scalar(
                select(Publication).where(
                    Publication.channel == channel, Publication.external_id == external_id
                )
            )
            if pub is None:
                raise NotFound(
                    f"{channel} 回调的发布编号 {external_id} 不存在", code="unknown_publish_id"
                )
            return self._apply_status(session, pub.id, status, now, overdue=False)

    def _apply_status(
        self, session: Session, pub_id: int, status: Status, now: datetime, overdue: bool
    ) -> str:
        values: dict[str, Any]
        if status.state is RemoteState.PUBLISHED:
            target, values = State.PUBLISHED, {"published_at": now, "url": status.url or None}
        elif status.state in (RemoteState.REJECTED, RemoteState.NOT_FOUND):
            target, values = (
                State.FAILED,
                {
                    "last_error_class": "rejected_by_platform",
                    "last_error": status.reason or "平台未通过（对上报送：未采用）",
                },
            )
        elif status.state is RemoteState.RETRACTED:
            target, values = State.RETRACTED, {"note": status.reason or "平台已删除"}
        elif overdue:
            target, values = State.UNCONFIRMED, {"note": "已提交但长时间未得到平台确认"}
        else:
            return State.SUBMITTED.value
        if move(session, pub_id, (State.SUBMITTED,), target, now=now, next_check_at=None, **values):
            record_move(
                session,
                pub_id,
                f"publication.{target.value}",
                target,
                payload={"url": status.url, "reason": status.reason},
                at=now,
            )
            if target is State.PUBLISHED:
                self.on_published(session, pub_id, now)
        return target.value

    def on_published(self, session: Session, pub_id: int, now: datetime) -> None:
        """An upward platform adopted our item: draft the repost for the own platforms."""
        if not self.settings.auto_repost:
            return
        pub = session.get(Publication, pub_id, populate_existing=True)  # moved by a CAS
        if pub is not None and self.hub.classes[pub.channel].kind is ChannelKind.UPWARD:
            from orchestrator.services import reposts

            try:
                with session.begin_nested():
                    reposts.draft_repost(session, self.app, pub, actor="system", now=now)
            except IntegrityError:
                # Another platform's adoption drafted the one repost at the same moment (the
                # database keeps one per original): this adoption is recorded, not reposted.
                with session.begin_nested():
                    reposts.draft_repost(session, self.app, pub, actor="system", now=now)

    # --- people's actions (each checks the person's role for the channel's kind) ---------

    def _kind(self, pub: Publication) -> ChannelKind:
        return self.hub.classes[pub.channel].kind

    def retract(self, pub_id: int, *, reason: str, actor: str) -> str:
        """撤稿 on one channel; a channel that cannot retract says so and nothing changes."""
        if not reason.strip():
            raise InvalidInput("撤稿必须填写原因", code="reason_required")
        now = self.clock()
        with self.app.db.session() as session:
            pub = get_publication(session, pub_id)
            require(session, actor, "retract", self._kind(pub), now)
            retractable = (State.PUBLISHED.value, State.SUBMITTED.value, State.UNCONFIRMED.value)
            by_hand = pub.mode == Mode.ASSISTED.value and pub.state == State.PUBLISHED.value
            if pub.state not in retractable or not (pub.receipt or by_hand):
                raise Conflict(
                    f"发布 {pub_id} 当前为“{State(pub.state).label}”，没有可撤回的稿件",
                    code="nothing_to_retract",
                )
            if by_hand:
                return self._takedown_to_do(session, pub, reason=reason, actor=actor, now=now)
            assert pub.receipt is not None  # checked above: an API row with nothing sent refused
            receipt, state = Receipt.from_dict(pub.receipt), State(pub.state)
        adapter = self.hub.get(pub.channel)
        if not adapter.capabilities.retract:
            raise Conflict(
                f"{adapter.display_name}不支持撤稿，请在平台上人工处理",
                code="retract_not_supported",
            )
        t0 = time.monotonic()
        try:
            adapter.retract(receipt, reason)
        except ce.ChannelError as error:
            with self.app.db.session() as session:
                _attempt(
                    session,
                    pub_id,
                    "retract",
                    now,
                    time.monotonic() - t0,
                    "permanent" if isinstance(error, ce.Permanent) else "retryable",
                    error,
                )
            raise SanshenError(
                f"{adapter.display_name}撤稿失败：{error}", code=f"retract_{error.code}"
            ) from None
        with self.app.db.session() as session:
            _attempt(session, pub_id, "retract", now, time.monotonic() - t0, "ok")
            # 发布核验 checks that the page is gone, at once (the watch's next round)
            moved = move(
                session, pub_id, (state,), State.RETRACTED, now=now, note=reason, next_verify_at=now
            )
            record_move(
                session,
                pub_id,
                "publication.retract",
                State.RETRACTED if moved else None,
                actor=actor,
                payload={"reason": reason},
                at=now,
            )
        return State.RETRACTED.value

    def _takedown_to_do(
        self, session: Session, pub: Publication, *, reason: str, actor: str, now: datetime
    ) -> str:
        """撤稿 on an assisted channel: a to-do for the person who publishes there, done when
        发布核验 finds the page gone (services.verification)."""
        if not move(
            session,
            pub.id,
            (State.PUBLISHED,),
            State.TAKEDOWN,
            now=now,
            note=reason,
            next_verify_at=now + timedelta(seconds=self.settings.takedown_check_interval),
        ):
            raise Conflict(f"发布 {pub.id} 的状态已变化，请刷新后再试", code="state_changed")
        record_move(
            session,
            pub.id,
            "publication.takedown",
            State.TAKEDOWN,
            actor=actor,
            payload={"reason": reason},
            at=now,
        )
        return State.TAKEDOWN.value

    def retract_all(self, submission_id: int, *, reason: str, actor: str) -> dict[str, str]:
        """撤稿 everywhere the submission went out; each channel answers for itself."""
        with self.app.db.session() as session:
            pubs = session.scalars(
                select(Publication)
                .where(
                    Publication.submission_id == submission_id,
                    Publication.state.in_(
                        [State.PUBLISHED.value, State.SUBMITTED.value, State.UNCONFIRMED.value]
                    ),
                )
                .order_by(Publication.id)  # the 审批表's order, on every database
            ).all()
            targets = [(p.id, p.channel) for p in pubs]
        if not targets:
            raise Conflict(
                f"稿件 {submission_id} 没有已发布的渠道可撤回", code="nothing_to_retract"
            )
        results = {}
        for pub_id, channel in targets:
            try:
                results[channel] = self.retract(pub_id, reason=reason, actor=actor)
            except SanshenError as error:
                results[channel] = f"{error.code}: {error.message}"
        return results

    def cancel(self, pub_id: int, *, reason: str, actor: str) -> None:
        now = self.clock()
        with self.app.db.session() as session:
            pub = get_publication(session, pub_id)
            require(session, actor, "schedule", self._kind(pub), now)
            if not move(
                session,
                pub_id,
                (State.SCHEDULED, State.QUEUED, State.MANUAL),
                State.CANCELLED,
                now=now,
                note=reason,
            ):
                raise Conflict(
                    f"发布 {pub_id} 当前为“{State(pub.state).label}”，发送已开始或已结束，不能取消",
                    code="too_late_to_cancel",
                )
            record_move(
                session,
                pub_id,
                "publication.cancel",
                State.CANCELLED,
                actor=actor,
                payload={"reason": reason},
                at=now,
            )

    def reschedule(self, pub_id: int, *, when: datetime, actor: str) -> None:
        """Set the publish time (also "publish now") within the signed day, only while the
        send has not started; another day needs the 宣传分管领导's signed 改期."""
        now = self.clock()
        if when.tzinfo is None:
            raise InvalidInput("发布时间必须带时区", code="naive_time")
        if when < now - timedelta(minutes=1):
            raise InvalidInput(
                f"发布时间 {when.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 已过，"
                "如需立即发布请选择“现在”",
                code="time_in_past",
            )
        with self.app.db.session() as session:
            pub = get_publication(session, pub_id)
            require(session, actor, "schedule", self._kind(pub), now)
            _refuse_another_day(session, pub, max(when, now), self.app.policy.zone)
            result = session.execute(
                update(Publication)
                .where(Publication.id == pub_id, Publication.state == State.SCHEDULED.value)
                .values(scheduled_at=max(when, now), revision=Publication.revision + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict(
                    f"发布 {pub_id} 当前为“{State(pub.state).label}”，不能改期",
                    code="too_late_to_reschedule",
                )
            record_move(
                session,
                pub_id,
                "publication.reschedule",
                State.SCHEDULED,
                actor=actor,
                payload={"scheduled_at": when},
                at=now,
                rebound=True,
            )

    def release(self, pub_id: int, *, actor: str) -> datetime:
        """综合科 releases a row held for an upward adoption: it goes out as the office's own
        article at its signed time, or now if that has passed (within the signed day: a later
        day needs the 宣传分管领导's 改期 first, which a held row takes too)."""
        now = self.clock()
        with self.app.db.session() as session:
            pub = get_publication(session, pub_id)
            require(session, actor, "release", self._kind(pub), now)
            if pub.state != State.HELD.value:
                raise Conflict(
                    f"发布 {pub_id} 当前为“{State(pub.state).label}”，不在等待上级采用",
                    code="not_held",
                )
            when = max(pub.scheduled_at, now)
            _refuse_another_day(session, pub, when, self.app.policy.zone)
            if not move(
                session,
                pub_id,
                (State.HELD,),
                State.SCHEDULED,
                now=now,
                scheduled_at=when,
                hold_until=None,
                note="综合科放行：未等上级采用，作为本单位稿件发布",
            ):
                raise Conflict(f"发布 {pub_id} 刚刚已被处理", code="not_held")
            record_move(
                session,
                pub_id,
                "publication.release",
                State.SCHEDULED,
                actor=actor,
                payload={"scheduled_at": when},
                at=now,
                rebound=True,
            )
        return when

    def drop(self, pub_id: int, *, reason: str, actor: str) -> None:
        """综合科 drops a row held for an upward adoption: the own platform does not publish."""
        if not reason.strip():
            raise InvalidInput("撤下必须填写原因", code="reason_required")
        now = self.clock()
        with self.app.db.session() as session:
            pub = get_publication(session, pub_id)
            require(session, actor, "release", self._kind(pub), now)
            if not move(session, pub_id, (State.HELD,), State.CANCELLED, now=now, note=reason):
                raise Conflict(
                    f"发布 {pub_id} 当前为“{State(pub.state).label}”，不在等待上级采用",
                    code="not_held",
                )
            record_move(
                session,
                pub_id,
                "publication.drop",
                State.CANCELLED,
                actor=actor,
                payload={"reason": reason},
                at=now,
            )

    def retry(self, pub_id: int, *, actor: str, checked: bool = False) -> None:
        """Send a failed row again, or an unconfirmed one after checking the platform."""
        now = self.clock()
        with self.app.db.session() as session:
            pub = get_publication(session, pub_id)
            require(session, actor, "retry", self._kind(pub), now)
            if pub.state == State.UNCONFIRMED.value and not checked:
                raise Conflict(
                    "该稿件可能已在平台发布：请先在平台上核对，确认未发布后再重发",
                    code="check_platform_first",
                )
            if not move(
                session,
                pub_id,
                (State.FAILED, State.UNCONFIRMED),
                State.QUEUED,
                now=now,
                attempts=0,
                sent_at=None,
            ):
                raise Conflict(
                    f"发布 {pub_id} 当前为“{State(pub.state).label}”，无需重发",
                    code="not_retryable",
                )
            record_move(
                session,
                pub_id,
                "publication.retry",
                State.QUEUED,
                actor=actor,
                payload={"checked": checked},
                at=now,
            )
            channel = pub.channel
        self._hand_to_workers([(pub_id, channel)])

    def confirm_by_hand(self, pub_id: int, *, url: str, actor: str) -> None:
        """A person saw it on the platform: an unconfirmed row, or an upward report that the
        platform adopted (综合科 records the URL), becomes published."""
        now = self.clock()
        if not re.match(r"^https?://\S+$", url):
            raise InvalidInput(f"发布链接无效：{url}", code="bad_url")
        with self.app.db.session() as session:
            pub = get_publication(session, pub_id)
            kind = self._kind(pub)
            require(session, actor, "confirm", kind, now)
            sources = (
                (State.UNCONFIRMED, State.SUBMITTED)
                if kind is ChannelKind.UPWARD
                else (State.UNCONFIRMED,)
            )
            if not move(
                session,
                pub_id,
                sources,
                State.PUBLISHED,
                now=now,
                url=url,
                published_at=now,
                next_check_at=None,
                note=f"{actor} 人工确认已发布",
            ):
                raise Conflict(
                    f"发布 {pub_id} 当前为“{State(pub.state).label}”，不能确认",
                    code="not_confirmable",
                )
            record_move(
                session,
                pub_id,
                "publication.confirm_by_hand",
                State.PUBLISHED,
                actor=actor,
                payload={"url": url},
                at=now,
            )
            self.on_published(session, pub_id, now)


def _quota_moved_the_day(pub: Publication, refusal: SanshenError) -> SanshenError | None:
    """A row that a spent daily quota or a channel's pause carried past its signed day is
    refused by the gate like any row on an unsigned day, but nothing was tampered with: say
    what happened and what to do, and raise no integrity alert."""
    if pub.last_error_class not in WAITING_FOR_PAUSE:
        return None
    if set(getattr(refusal, "details", None) or ()) != {"publication_date_not_signed"}:
        return None
    if pub.last_error_class == QUOTA_SPENT:
        why, code = "平台当日调用次数用完", "quota_moved_past_signed_day"
    else:
        why, code = "渠道暂停", "pause_moved_past_signed_day"
    return GateRefused(
        f"{why}，发布顺延到了审批表发布日期之后：请宣传分管领导签署改期后重发", code=code
    )


def _next_minute(moment: datetime) -> datetime:
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)


def _local_moment(moment: datetime, now: datetime) -> str:
    """“次日 00:00”, “今日 18:30” or a date, in Shanghai time."""
    local, today = moment.astimezone(SHANGHAI), now.astimezone(SHANGHAI).date()
    days = (local.date() - today).days
    day = {0: "今日 ", 1: "次日 "}.get(days, f"{local:%Y-%m-%d} ")
    return f"{day}{local:%H:%M}"


def _refuse_another_day(session: Session, pub: Publication, when: datetime, zone: Any) -> None:
    signed, _ = amendments.signed_day(session, pub)
    day = when.astimezone(zone).date()
    if day != signed:
        raise Conflict(
            f"发布 {pub.id} 的审批表发布日期是 {signed.isoformat()}，改到 {day.isoformat()} "
            "须由宣传分管领导签署改期（sanshen publication amend-date），"
            "或在控制台由宣传分管领导办理",
            code="needs_date_amendment",
        )


def _quick_retry(call: Any, *args: Any) -> Any:
    """A short in-call retry for a blip (`Unavailable`: nothing reached the platform).
    Longer waits go back to the database as a scheduled retry, never into the broker."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(ce.Unavailable),
        stop=tenacity.stop_after_attempt(2),
        wait=tenacity.wait_random(0.2, 0.6),
        reraise=True,
    )
    return retrying(call, *args)


def get_publication(session: Session, pub_id: int) -> Publication:
    pub = session.get(Publication, pub_id)
    if pub is None:
        raise NotFound(f"发布 {pub_id} 不存在", code="unknown_publication")
    return pub


def _state_of(remote: RemoteState) -> State:
    return {
        RemoteState.PUBLISHED: State.PUBLISHED,
        RemoteState.SUBMITTED: State.SUBMITTED,
        RemoteState.REJECTED: State.FAILED,
        RemoteState.RETRACTED: State.RETRACTED,
    }.get(remote, State.SUBMITTED)


def _receipt_values(receipt: Receipt, now: datetime, first_check: float) -> dict[str, Any]:
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
