"""Faults on the platforms, in the worker and in Redis: never lost, never doubled."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import pytest
from flask import request
from sqlalchemy import func, select, text

from channels.simulators import gov_website as simulated
from orchestrator import redis_embedded
from orchestrator.db import make_engine
from orchestrator.models import Alert, Attempt
from orchestrator.render import render
from orchestrator.services import amendments
from orchestrator.services.dispatch import claim_due, move
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.publishing import SHANGHAI, Publisher
from orchestrator.states import State
from tests.channels.conftest import sample_item
from tests.clock import shanghai_tomorrow
from tests.orchestrator.conftest import PASSWORDS
from tests.pipeline.conftest import Stack


def faults(stack: Stack, channel: str, **knobs: object) -> None:
    stack.sims.simulator(channel).faults.update(knobs)


def attempts(stack: Stack, pub_id: int) -> list[Attempt]:
    with stack.app.db.session() as session:
        return list(session.query(Attempt).filter_by(publication_id=pub_id).order_by(Attempt.id))


def one(stack: Stack, sub: int) -> object:
    (pub,) = stack.publications(sub)
    return pub


def test_server_errors_are_retried_until_published(stack: Stack) -> None:
    faults(stack, "gov_website", rates={"5xx": 1.0})
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website",))
    stack.wait_for(lambda: one(stack, sub).attempts >= 2, timeout=30, what="two failed attempts")
    faults(stack, "gov_website", rates={"5xx": 0.2}, seed=3)
    stack.wait_for(lambda: stack.settled(sub), timeout=60)
    pub = one(stack, sub)
    assert pub.state == "published", pub.last_error
    assert stack.ledger("gov_website") == {pub.idempotency_key: 1}
    outcomes = [a.outcome for a in attempts(stack, pub.id)]
    assert outcomes[0] == "retryable" and outcomes[-1] == "ok" and len(outcomes) >= 2


def test_retries_are_bounded_then_failed(stack: Stack) -> None:
    faults(stack, "gov_website", rates={"5xx": 1.0})
    stack.env["SANSHEN_RETRY_MAX_ATTEMPTS"] = "3"
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website",))
    stack.wait_for(lambda: stack.settled(sub), timeout=30)
    pub = one(stack, sub)
    assert pub.state == "failed" and pub.attempts == 3 and "重试 3 次" in pub.last_error


def test_content_rejected_fails_with_the_platforms_reason(stack: Stack) -> None:
    faults(stack, "suishenban", rates={"content_rejected": 1.0})
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("suishenban",))
    stack.wait_for(lambda: stack.settled(sub), timeout=30)
    pub = one(stack, sub)
    assert pub.state == "failed" and pub.attempts == 1
    assert pub.last_error_class == "content_rejected" and pub.last_error
    assert stack.ledger("suishenban") == {}


def test_reply_lost_after_publishing_is_found_at_once_not_resent(stack: Stack) -> None:
    """The website dedupes by key, so the worker asks it straight away instead of leaving the
    row to the reconciler for the settle time (7 s here): the check is the worker's own, made
    by the process whose call lost its reply (the reconciler runs in the scheduler's)."""
    faults(stack, "gov_website", drop_reply_rate=1.0)
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website",))
    stack.wait_for(lambda: stack.settled(sub), timeout=30, what="settled by the worker")
    pub = one(stack, sub)
    assert pub.state == "published" and pub.url
    assert stack.ledger("gov_website") == {pub.idempotency_key: 1}
    publish, find = attempts(stack, pub.id)
    assert (publish.operation, publish.outcome) == ("publish", "unknown")
    assert (find.operation, find.outcome) == ("find", "ok")
    assert find.worker == publish.worker, (publish.worker, find.worker)
    assert publish.started_at <= find.started_at


def test_a_create_still_running_when_the_reply_times_out_makes_one_article(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The website is still working on the create when the worker stops waiting: the worker
    asks at once and finds nothing yet, and the resend with the same key gets the article
    that the slow create made, not a second one."""

    real, release = simulated.KEY_PATTERN, threading.Event()
    held: list[str] = []

    class SlowFirstCreate:  # the key check is the create handler's first step
        def fullmatch(self, key: str) -> object:
            if not held:
                held.append(key)
                # held until the worker has given up on it and asked; never past the test
                assert release.wait(60), "the first create was never let go"
            return real.fullmatch(key)

    monkeypatch.setattr(simulated, "KEY_PATTERN", SlowFirstCreate())
    hub = ChannelHub(stack.env | {"SANSHEN_CHANNEL_GOV_WEBSITE_READ_TIMEOUT": "0.5"})
    publisher = Publisher(stack.app, hub, MemoryRateGate())
    sub = stack.signed_off(("gov_website",))
    with stack.app.db.session() as session:
        ((pub_id, _),) = claim_due(session, now=datetime.now(UTC))

    def operations() -> list[str]:
        return [r["operation"] for r in stack.sims.simulator("gov_website").received]

    try:
        assert publisher.send(pub_id) == "retry"  # the reply timed out; the check found nothing
        assert held and "create" not in operations()  # … while the create was still running
        assert [(a.operation, a.outcome) for a in attempts(stack, pub_id)] == [
            ("publish", "unknown"),
            ("find", "ok"),
        ]
    finally:
        release.set()
    stack.wait_for(lambda: "create" in operations(), 30, "the slow create to store its draft")
    later = datetime.now(UTC) + timedelta(minutes=1)
    with stack.app.db.session() as session:
        assert claim_due(session, now=later) == [(pub_id, "gov_website")]
    assert publisher.send(pub_id) == "published"
    pub = one(stack, sub)
    assert stack.ledger("gov_website") == {pub.idempotency_key: 1}
    received = operations()
    assert received.count("create") == 1 and "create_replayed" in received
    assert received.index("create") < received.index("create_replayed")


def test_worker_killed_mid_call_is_settled_without_a_second_send(stack: Stack) -> None:
    faults(stack, "gov_website", latency_ms=2500)
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website",))
    stack.wait_for(lambda: one(stack, sub).state == "sending", timeout=30, what="sending")
    stack.kill("worker", signal.SIGKILL)
    faults(stack, "gov_website", latency_ms=0)
    stack.start("worker")
    stack.wait_for(lambda: stack.settled(sub), timeout=40, what="settled after the kill")
    pub = one(stack, sub)
    assert pub.state == "published"
    assert stack.ledger("gov_website") == {pub.idempotency_key: 1}


def test_rate_limit_pauses_the_channel_then_sends(stack: Stack) -> None:
    faults(stack, "gov_website", rates={"rate_limit": 1.0}, retry_after_s=2)
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("gov_website",))
    stack.wait_for(
        lambda: any(
            a.outcome == "retryable" for p in stack.publications(sub) for a in attempts(stack, p.id)
        ),
        timeout=30,
        what="rate limited",
    )
    faults(stack, "gov_website", rates={})
    stack.wait_for(lambda: stack.settled(sub), timeout=30)
    pub = one(stack, sub)
    assert pub.state == "published"
    tries = attempts(stack, pub.id)
    limited = [a for a in tries if a.error_class == "rate_limited"]
    assert limited and tries[-1].outcome == "ok"
    # The last 429 set the row's time to at least its Retry-After (2 s) past that call, and the
    # send that went through started no earlier than that time: ordering, no stopwatch.
    assert pub.scheduled_at >= limited[-1].started_at + timedelta(seconds=2)
    assert tries[-1].started_at >= pub.scheduled_at


def test_gate_runs_again_right_before_the_send(stack: Stack) -> None:
    tomorrow = shanghai_tomorrow()
    sub = stack.signed_off(("gov_website",), publish_date=tomorrow)
    with stack.app.db.engine.begin() as conn:  # someone edits the approved text in the database
        conn.execute(text("UPDATE versions SET body_html = body_html || '<p>加一句</p>'"))
        conn.execute(
            text("UPDATE publications SET scheduled_at = :now"),
            {"now": datetime.now(UTC).replace(tzinfo=None)},
        )
    stack.start("worker")
    stack.start("scheduler")
    stack.wait_for(lambda: stack.settled(sub), timeout=30)
    pub = one(stack, sub)
    assert pub.state == "failed" and pub.last_error_class == "gate_refused"
    assert "旧版本" in pub.last_error
    assert stack.ledger("gov_website") == {}


def test_channel_without_configuration_fails_clearly(stack: Stack) -> None:
    for key in [k for k in stack.env if k.startswith("SANSHEN_CHANNEL_SUISHENBAN_")]:
        del stack.env[key]
    stack.start("worker")
    stack.start("scheduler")
    sub = stack.signed_off(("suishenban",))
    stack.wait_for(lambda: stack.settled(sub), timeout=30)
    pub = one(stack, sub)
    assert pub.state == "failed" and pub.last_error_class == "channel_not_configured"
    assert "SANSHEN_CHANNEL_SUISHENBAN_" in pub.last_error


def test_redis_going_away_and_back_loses_nothing(stack: Stack, redis_url: str) -> None:

    stack.start("worker")
    stack.start("scheduler")
    folder = redis_embedded.client(redis_url).config_get("dir")["dir"]
    redis_embedded.client(redis_url).shutdown(save=True, nosave=False)
    try:
        sub = stack.signed_off(("gov_website", "suishenban"))
        time.sleep(2)
    finally:  # the suite's Redis comes back whatever happened here, or every later test fails
        redis_embedded.ensure_running(Path(folder).parent)
    stack.wait_for(lambda: stack.settled(sub), timeout=60, what="published after Redis returns")
    assert set(stack.states(sub).values()) == {"published"}
    for pub in stack.publications(sub):
        assert stack.ledger(pub.channel) == {pub.idempotency_key: 1}


def test_two_publishers_never_send_one_row_twice(stack: Stack) -> None:
    """Two workers racing for the same queued row, in two threads: both have read it as queued
    before either moves it (they meet at the rate gate, asked inside that read), so only the
    compare-and-set decides: one sends, the other loses the race, the platform gets one create."""
    sub = stack.signed_off(("gov_website",))
    with stack.app.db.session() as session:
        ((pub_id, _),) = claim_due(session, now=datetime.now(UTC))
    both_read = threading.Barrier(2, timeout=30)

    class MeetingGate(MemoryRateGate):
        met = False

        def wait_left(self, channel: str) -> float:
            if not self.met:  # the first ask, inside `_prepare`'s read of the row
                self.met = True
                both_read.wait()
            return super().wait_left(channel)

    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            publisher = Publisher(stack.app, ChannelHub(stack.env), MeetingGate())
            results.append(publisher.send(pub_id))
        except BaseException as error:  # reported below: a thread's failure fails the test
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and sorted(results) == ["lost-race", "published"], (errors, results)
    assert stack.ledger("gov_website") == {one(stack, sub).idempotency_key: 1}
    received = [r["operation"] for r in stack.sims.simulator("gov_website").received]
    assert received.count("create") == 1 and "create_replayed" not in received, received


def test_database_locked_for_a_moment_is_waited_out(stack: Stack) -> None:

    stack.start("worker")
    stack.start("scheduler")
    release = hold_write_lock(stack)  # someone holds the write lock for three seconds
    threading.Thread(target=release).start()
    sub = stack.signed_off(("gov_website",))  # waits for the lock, like the worker does
    stack.wait_for(lambda: stack.settled(sub), timeout=40)
    pub = one(stack, sub)
    assert pub.state == "published"
    assert stack.ledger("gov_website") == {pub.idempotency_key: 1}


def hold_write_lock(stack: Stack, seconds: float = 3.0) -> Callable[[], None]:
    """Take the database's write lock now; the returned function releases it after `seconds`.
    SQLite: a writer's BEGIN IMMEDIATE. PostgreSQL: the tables a sign-off and a send write,
    locked against every other writer."""

    url = stack.app.db.url
    if url.startswith("sqlite"):
        path = stack.app.settings.data_dir / "sanshen.db"
        locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN IMMEDIATE")

        def release_sqlite() -> None:
            time.sleep(seconds)
            locker.execute("COMMIT")
            locker.close()

        return release_sqlite

    engine = make_engine(url)
    connection = engine.connect()
    connection.exec_driver_sql("BEGIN")
    connection.exec_driver_sql("LOCK TABLE publications, audit_head, submissions IN EXCLUSIVE MODE")

    def release_postgresql() -> None:
        time.sleep(seconds)
        connection.exec_driver_sql("COMMIT")
        connection.close()
        engine.dispose()

    return release_postgresql


def test_a_draft_left_by_a_lost_publish_step_is_finished_once(stack: Stack) -> None:
    """The worker died after the website stored the draft, before the publish step."""

    sub = stack.signed_off(("gov_website",))
    now = datetime.now(UTC)
    with stack.app.db.session() as session:
        ((pub_id, _),) = claim_due(session, now=now)
        move(session, pub_id, (State.QUEUED,), State.SENDING, now=now, attempts=1, sent_at=now)
    pub = one(stack, sub)
    hub = ChannelHub(stack.env)
    adapter = hub.get("gov_website")
    with stack.app.db.session() as session:
        item = render(
            session.get(type(pub), pub_id).version,
            "gov_website",
            reference="t",
            store=stack.app.blobs,
        )
    urls = {image.sha256: adapter._upload_image(image)["url"] for image in item.images}
    cover = adapter._upload_image(item.cover)["id"] if item.cover else None
    adapter._create(item, pub.idempotency_key, urls, cover, [])  # the half-done send
    assert adapter.find(pub.idempotency_key).extra.get("draft")

    later = datetime.now(UTC) + timedelta(minutes=10)
    publisher = Publisher(stack.app, hub, MemoryRateGate(), clock=lambda: later)
    assert publisher.settle(pub_id) == "retry"
    due = later + timedelta(seconds=5)  # past the retry's backoff (SANSHEN_RETRY_MAX_DELAY 1 s)
    with stack.app.db.session() as session:
        claim_due(session, now=due)
    publisher.clock = lambda: due
    assert publisher.send(pub_id) == "published"
    assert stack.ledger("gov_website") == {pub.idempotency_key: 1}


def test_a_wechat_send_older_than_the_searchable_lists_becomes_unconfirmed(stack: Stack) -> None:
    """WeChat cannot be asked by key, only listed newest first: when more articles went out
    since the first send than `find_pages` covers, "not found" proves nothing, so the row goes
    to an operator instead of being sent again."""

    sub = stack.signed_off(("wechat",))
    now = datetime.now(UTC)
    first_send = now - timedelta(hours=1)
    with stack.app.db.session() as session:
        ((pub_id, _),) = claim_due(session, now=now)
        move(
            session, pub_id, (State.QUEUED,), State.SENDING, now=now, attempts=1, sent_at=first_send
        )
    hub = ChannelHub(stack.env | {"SANSHEN_CHANNEL_WECHAT_FIND_PAGES": "1"})
    for n in range(21):  # published since: one more than the one page searched
        hub.get("wechat").publish(sample_item(), f"since-{n}")

    assert Publisher(stack.app, hub, MemoryRateGate()).settle(pub_id) == "unconfirmed"
    pub = one(stack, sub)
    assert pub.state == "unconfirmed" and "无法确认" in (pub.note or ""), pub.note
    assert pub.idempotency_key not in stack.ledger("wechat")
    find = attempts(stack, pub_id)[-1]
    assert (find.operation, find.error_class) == ("find", "search_inconclusive")


def test_a_reconcile_round_checks_rows_side_by_side_and_one_failure_spares_the_rest(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:

    subs = [stack.signed_off(("gov_website",)) for _ in range(3)]
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    with stack.app.db.session() as session:
        rows = claim_due(session, now=datetime.now(UTC))
        for pub_id, _ in rows:
            move(session, pub_id, (State.QUEUED,), State.SENDING, now=long_ago, attempts=1)
    broken = rows[0][0]
    # Patient enough that a check held below is never given up on and followed by the next.
    hub = ChannelHub(stack.env | {"SANSHEN_CHANNEL_GOV_WEBSITE_READ_TIMEOUT": "30"})
    publisher = Publisher(stack.app, hub, MemoryRateGate())
    real_settle = publisher.settle

    def settle(pub_id: int) -> str:
        if pub_id == broken:
            raise RuntimeError("boom")
        return real_settle(pub_id)

    monkeypatch.setattr(publisher, "settle", settle)
    # The platform holds each check until a second one is in flight with it (or 10 s pass):
    # checks made one after the other never overlap, checks made side by side meet at once.
    site = stack.sims.simulator("gov_website")
    meeting = threading.Condition()
    in_flight, most = [0], [0]
    real_inject = site.inject

    def inject() -> object:
        if request.method == "GET" and request.path.endswith("/api/v1/articles"):  # a check
            with meeting:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
                meeting.notify_all()
                meeting.wait_for(lambda: most[0] >= 2, timeout=10)
                in_flight[0] -= 1
        return real_inject()

    monkeypatch.setattr(site, "inject", inject)
    settled = publisher.reconcile()["settled"]
    assert most == [2]  # both asked at once
    assert settled == 2
    states = {pub.id: pub.state for sub in subs for pub in stack.publications(sub)}
    assert states[broken] == "sending"  # left for the next round
    assert sorted(s for i, s in states.items() if i != broken) == ["scheduled", "scheduled"]


def test_a_round_takes_a_bounded_batch_and_a_platform_that_is_down_starves_no_other(
    stack: Stack,
) -> None:
    """Rounds are short and take at most `reconcile_batch` rows of a kind, the longest-waiting
    first. A stuck send whose platform cannot be asked waits the base backoff before it is
    asked again, so the rows of a platform that is down do not take every round's places."""

    down = [stack.signed_off(("gov_website",)) for _ in range(3)]
    up = stack.signed_off(("suishenban",))
    now = datetime.now(UTC)
    with stack.app.db.session() as session:
        rows = dict(claim_due(session, now=now))
        for pub_id in sorted(rows):  # gov_website's three rows hold the lowest ids
            move(session, pub_id, (State.QUEUED,), State.SENDING, now=now, attempts=1)
    faults(stack, "gov_website", rates={"5xx": 1.0})
    clock = [now + timedelta(minutes=5)]  # past settle_after
    publisher = Publisher(
        stack.app, ChannelHub(stack.env), MemoryRateGate(), clock=lambda: clock[0]
    )
    publisher.settings = publisher.settings.model_copy(update={"reconcile_batch": 2})

    def finds() -> dict[int, int]:
        return {
            pub_id: sum(a.operation == "find" for a in attempts(stack, pub_id)) for pub_id in rows
        }

    (first, second, third), (other,) = (
        [one(stack, sub).id for sub in down],
        [one(stack, up).id],
    )
    publisher.reconcile()
    assert finds() == {first: 1, second: 1, third: 0, other: 0}
    publisher.reconcile()  # the same moment: the two that failed wait their backoff
    assert finds() == {first: 1, second: 1, third: 1, other: 1}
    assert one(stack, up).state == "scheduled"  # not at its platform: sent again
    publisher.reconcile()
    assert finds() == {first: 1, second: 1, third: 1, other: 1}  # nothing due yet
    clock[0] += timedelta(seconds=publisher.settings.retry_base_delay + 1)
    publisher.reconcile()  # all three due again, two taken: those due first (jittered backoff)
    counted = finds()
    assert sorted(counted[pub_id] for pub_id in (first, second, third)) == [1, 2, 2]
    assert counted[other] == 1
    assert {one(stack, sub).state for sub in down} == {"sending"}
    assert stack.ledger("gov_website") == {} and stack.ledger("suishenban") == {}


def stuck_sending(stack: Stack, channel: str) -> tuple[int, int, datetime]:
    """A signed-off row whose send began now and whose outcome is open."""
    sub = stack.signed_off((channel,))
    at = datetime.now(UTC)
    with stack.app.db.session() as session:
        ((pub_id, _),) = claim_due(session, now=at)
        move(session, pub_id, (State.QUEUED,), State.SENDING, now=at, attempts=1, sent_at=at)
    return sub, pub_id, at


def test_checks_that_keep_failing_end_in_unconfirmed_within_the_bound(stack: Stack) -> None:
    """A platform whose listing answers 5xx for good: the row is asked at most
    `settle_max_checks` times, each wait about twice the last, then goes to a person."""
    sub, pub_id, began = stuck_sending(stack, "gov_website")
    faults(stack, "gov_website", rates={"5xx": 1.0})
    clock = [began + timedelta(seconds=stack.app.settings.settle_after + 1)]
    publisher = Publisher(
        stack.app, ChannelHub(stack.env), MemoryRateGate(), clock=lambda: clock[0]
    )
    publisher.settings = publisher.settings.model_copy(
        update={"retry_base_delay": 5, "retry_max_delay": 300, "settle_max_checks": 6}
    )
    waits = []
    for _ in range(50):  # far more rounds than the bound allows
        publisher.reconcile()
        pub = one(stack, sub)
        if pub.state != "sending":
            break
        waits.append((pub.next_check_at - clock[0]).total_seconds())
        clock[0] = pub.next_check_at
    assert pub.state == "unconfirmed", pub.state
    assert "向平台核对 6 次未成功" in pub.note and "请在平台后台核对" in pub.note, pub.note
    finds = [a for a in attempts(stack, pub_id) if a.operation == "find"]
    assert len(finds) == 6
    assert [a.outcome for a in finds] == ["retryable"] * 5 + ["unknown"]
    # exponential: 5·2ⁿ⁻¹ s with jitter in [½, 1]
    assert all(5 * 2 ** (n - 1) / 2 <= w <= 5 * 2 ** (n - 1) for n, w in enumerate(waits, 1))
    assert clock[0] - began <= timedelta(seconds=stack.app.settings.settle_window)
    assert stack.ledger("gov_website") == {}


def test_a_check_that_only_a_later_day_could_make_goes_to_a_person_at_once(stack: Stack) -> None:
    """A daily quota on the listing (retry-after past `settle_window`): no call before the
    reset, and no row left `sending` until then either."""
    sub, pub_id, began = stuck_sending(stack, "gov_website")
    clock = [began + timedelta(seconds=stack.app.settings.settle_after + 1)]
    publisher = Publisher(
        stack.app, ChannelHub(stack.env), MemoryRateGate(), clock=lambda: clock[0]
    )

    faults(stack, "gov_website", rates={"rate_limit": 1.0}, retry_after_s=30)
    assert publisher.settle(pub_id) == "open"  # inside the window: waits the retry-after
    pub = one(stack, sub)
    assert pub.state == "sending" and pub.next_check_at - clock[0] >= timedelta(seconds=30)

    faults(stack, "gov_website", retry_after_s=stack.app.settings.settle_window + 1)
    clock[0] = pub.next_check_at
    assert publisher.settle(pub_id) == "unconfirmed"
    assert "向平台核对 2 次未成功" in one(stack, sub).note


def test_every_row_ends_when_every_listing_call_fails(stack: Stack) -> None:
    """Worker and scheduler, real processes: the replies to WeChat's publish calls are lost (the
    articles are made; WeChat cannot be asked by key at once) and then every call to the
    platform fails. Each row ends `unconfirmed` within
    SANSHEN_SETTLE_AFTER + the bounded checks, and nothing is sent twice."""
    stack.env |= {"SANSHEN_SETTLE_MAX_CHECKS": "3", "SANSHEN_SETTLE_WINDOW": "60"}
    faults(stack, "wechat", drop_reply_rate=1.0)
    stack.start("worker")
    stack.start("scheduler")
    subs = [stack.signed_off(("wechat",)) for _ in range(3)]
    stack.wait_for(
        lambda: all(
            any(a.outcome == "unknown" for a in attempts(stack, one(stack, sub).id)) for sub in subs
        ),
        timeout=30,
        what="three sends with lost replies",
    )
    faults(stack, "wechat", drop_reply_rate=0.0, rates={"5xx": 1.0})
    stack.wait_for(lambda: all(stack.settled(sub) for sub in subs), timeout=45, what="all ended")
    for sub in subs:
        pub = one(stack, sub)
        assert pub.state == "unconfirmed", (pub.state, pub.last_error)
        finds = [a for a in attempts(stack, pub.id) if a.operation == "find"]
        assert 1 <= len(finds) <= 3 and "核对" in pub.note, pub.note
        assert pub.state_changed_at - pub.sent_at <= timedelta(seconds=60)
    assert sorted(stack.ledger("wechat").values()) == [1, 1, 1]


def test_a_row_published_after_a_lost_reply_shows_no_old_error(stack: Stack) -> None:
    """The error of an earlier try stays in the row's attempts, not in its last error."""
    sub = stack.signed_off(("gov_website",))
    with stack.app.db.session() as session:
        ((pub_id, _),) = claim_due(session, now=datetime.now(UTC))
    faults(stack, "gov_website", drop_reply_rate=1.0)
    publisher = Publisher(stack.app, ChannelHub(stack.env), MemoryRateGate())
    assert publisher.send(pub_id) == "published"  # found at once by its key
    pub = one(stack, sub)
    assert (pub.last_error, pub.last_error_class) == (None, None)
    assert [a.outcome for a in attempts(stack, pub_id)] == ["unknown", "ok"]
    assert attempts(stack, pub_id)[0].error_class == "outcome_unknown"


def test_a_spent_daily_quota_reschedules_the_row_after_the_reset(stack: Stack) -> None:
    """WeChat's 45009: the row that hit it waits for 00:00 like the rows behind it, with the
    reason in its status, not `failed`. The reset falls on the next day, which the 审批表 did
    not sign: the leader's 改期 lets it go out then; without one it is refused with what to do,
    and no alert claims the record was tampered with."""
    sim = stack.sims.simulator("wechat")
    sim.config = sim.config.model_copy(
        update={"quotas": {**sim.config.quotas, "freepublish/submit": 0}}
    )
    plain, amended = (stack.signed_off(("wechat",)) for _ in range(2))
    now = datetime.now(UTC)
    with stack.app.db.session() as session:
        claimed = claim_due(session, now=now)
    gate = MemoryRateGate()
    publisher = Publisher(stack.app, ChannelHub(stack.env), gate, clock=lambda: now)
    assert [publisher.send(pub_id) for pub_id, _ in claimed] == ["retry", "paused"]

    midnight = datetime.combine(shanghai_tomorrow(), datetime.min.time(), SHANGHAI)
    hit, behind = one(stack, plain), one(stack, amended)
    assert (hit.state, hit.attempts, hit.sent_at) == ("scheduled", 0, None)
    assert hit.last_error_class == "daily_quota"
    assert hit.last_error.startswith("今日调用次数已用完，将于次日 00:00 后重试"), hit.last_error
    assert "须宣传分管领导先签署改期" in hit.last_error
    assert abs(hit.scheduled_at - midnight) < timedelta(seconds=5)
    assert behind.state == "scheduled" and behind.scheduled_at >= midnight - timedelta(seconds=5)
    assert gate.wait_left("wechat") > 0

    with stack.app.db.session() as session:  # the leader signs the second over to tomorrow
        amendments.amend_date(
            session,
            behind.id,
            new_date=shanghai_tomorrow(),
            at_time=dt_time(0, 1),
            actor="publicity",
            password=PASSWORDS["publicity"],
            policy=stack.app.policy,
        )
    sim.config = sim.config.model_copy(
        update={"quotas": {**sim.config.quotas, "freepublish/submit": 100}}
    )
    after = midnight + timedelta(minutes=5)
    with stack.app.db.session() as session:
        due = dict(claim_due(session, now=after))
    assert set(due) == {hit.id, behind.id}
    publisher = Publisher(stack.app, ChannelHub(stack.env), MemoryRateGate(), clock=lambda: after)
    assert publisher.send(behind.id) in ("published", "submitted")
    assert publisher.send(hit.id) == "refused"
    refused = one(stack, plain)
    assert refused.last_error_class == "quota_moved_past_signed_day"
    assert "请宣传分管领导签署改期后重发" in refused.last_error
    with stack.app.db.session() as session:
        assert session.scalar(select(func.count(Alert.id)).where(Alert.kind == "integrity")) == 0
    assert list(stack.ledger("wechat").values()) == [1]


def test_a_last_try_whose_answer_was_lost_waits_for_the_settle_time_before_failing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the crash bench: the publish step's answer was lost (timeout) on the last try,
    the check right after found only the draft, the row went `failed` — and the call, still
    running on the platform, then published it. Right after a lost answer the platform may
    be asked (a resend is safe), but the verdict waits until no call can still be running."""
    sub, pub_id, began = stuck_sending(stack, "gov_website")
    clock = [began + timedelta(seconds=3)]
    hub = ChannelHub(stack.env)
    publisher = Publisher(stack.app, hub, MemoryRateGate(), clock=lambda: clock[0])
    publisher.settings = publisher.settings.model_copy(update={"retry_max_attempts": 1})
    monkeypatch.setattr(hub.get("gov_website"), "find", lambda key, since=None: None)

    assert publisher.settle(pub_id, at_once=True) == "unknown"
    assert one(stack, sub).state == "sending"
    clock[0] = began + timedelta(seconds=stack.app.settings.settle_after + 1)
    assert publisher.settle(pub_id) == "failed"  # the reconciler's check, after the settle time
