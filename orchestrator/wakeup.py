"""Waking the scheduler on change: after a commit that made a row due or freed room for one (a row
created or moved to `scheduled`, a scheduled row retimed, a queued row taken by a worker), one
Redis PUBLISH on `CHANNEL`. The scheduler sleeps until its next due time or this word, whichever
comes first (tasks/scheduler.py); a word that is lost (Redis away, no scheduler listening) costs
only time: its safety scan finds the row.

The moves mark their session (`due_changed`); the word goes out after the commit, never before,
so a woken scheduler always finds the row. A publish that fails never fails the commit, and
after a failure the waker keeps quiet for a few seconds rather than pay a refused connection on
every commit.
"""

from __future__ import annotations

import contextlib
import logging
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from orchestrator.db import Database
from orchestrator.redis_embedded import client

CHANNEL = "sanshen:due-changed"
_FLAG = "sanshen_due_changed"
DUE = "due"  # a row was made due, or its time moved: the scheduler looks at once
ROOM = "room"  # a queued row was taken: room in its channel's queue, for rows already due
QUIET_AFTER_FAILURE = 5.0
# redis-py retries a failed command with backoff (about 4 s in all) by default: a commit's
# word, or a listener, should fail at once and let the safety scan do its work
ONCE = Retry(NoBackoff(), 0)

log = logging.getLogger("sanshen.wakeup")


def due_changed(session: Session, word: str = DUE) -> None:
    """This transaction makes a row due (DUE) or frees room for one (ROOM): wake the scheduler
    after it commits; DUE says more than ROOM."""
    if session.info.get(_FLAG) != DUE:
        session.info[_FLAG] = word


class Waker:
    """Publishes the word after each marked commit of the sessions it is installed on."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: redis.Redis | None = None
        self._quiet_until = 0.0
        self.sent = 0

    def install(self, db: Database) -> Waker:
        for sessions in db.writers():
            event.listen(sessions, "after_commit", self._after_commit)
            event.listen(sessions, "after_rollback", self._after_rollback)
        db.on_dispose(self.close)
        return self

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                self._client.close()
            self._client = None

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(_FLAG, None)

    def _after_commit(self, session: Session) -> None:
        word = session.info.pop(_FLAG, None)
        if word:
            self.wake(word)

    def wake(self, word: str = DUE) -> None:
        if time.monotonic() < self._quiet_until:
            return
        try:
            if self._client is None:
                self._client = client(
                    self.url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=ONCE
                )
            self._client.publish(CHANNEL, word)
            self.sent += 1
        except (redis.RedisError, OSError) as error:
            self._quiet_until = time.monotonic() + QUIET_AFTER_FAILURE
            log.debug("could not wake the scheduler (%s); its safety scan will", error)


class Listener:
    """The scheduler's side: `wait(seconds)` returns the word (DUE or ROOM), None when the time
    ran out. Words that came during a round are kept for the next `wait` (the round may have
    read the database before their commit); `drain` forgets those that came before a round
    starts. Redis away: the wait is a plain sleep, and the next one subscribes again."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pubsub: redis.client.PubSub | None = None

    def _subscribed(self) -> redis.client.PubSub:
        if self._pubsub is None:
            pubsub = client(self.url, socket_connect_timeout=2.0, retry=ONCE).pubsub(
                ignore_subscribe_messages=True
            )
            pubsub.subscribe(CHANNEL)
            self._pubsub = pubsub
        return self._pubsub

    def drain(self) -> None:
        while self.wait(0.0):
            pass

    def wait(self, seconds: float) -> str | None:
        deadline = time.monotonic() + max(0.0, seconds)
        try:
            pubsub = self._subscribed()
            while True:
                left = deadline - time.monotonic()
                message = pubsub.get_message(timeout=max(0.0, left))
                if message is not None and message.get("type") == "message":
                    data = message.get("data")
                    return ROOM if data in (ROOM, ROOM.encode()) else DUE
                if left <= 0:
                    return None
        except (redis.RedisError, OSError) as error:
            log.debug("not listening for wake-ups (%s): sleeping instead", error)
            self.close()
            time.sleep(max(0.0, deadline - time.monotonic()))
            return None

    def close(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                self._pubsub.close()
            self._pubsub = None
