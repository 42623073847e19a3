"""The pipeline's real stack (Redis, database, organisation), a loopback webhook receiver, and
a way to put publications into a given state through the state machine's compare-and-set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from channels.simulators.webhook import WebhookReceiver
from orchestrator.services.dispatch import move, upward_first
from orchestrator.states import State
from tests.clock import shanghai_tomorrow
from tests.orchestrator.conftest import app
from tests.pipeline.conftest import Stack, redis_url, sims, stack

__all__ = ["app", "redis_url", "sims", "stack"]  # fixtures, shared rather than copied

# The shortest legal path from scheduled to each state.
PATHS = {
    State.SCHEDULED: (),
    State.QUEUED: (State.QUEUED,),
    State.FAILED: (State.QUEUED, State.FAILED),
    State.UNCONFIRMED: (State.QUEUED, State.SENDING, State.UNCONFIRMED),
    State.PUBLISHED: (State.QUEUED, State.SENDING, State.PUBLISHED),
}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def put(stack: Stack, pub_id: int, target: State, **values: object) -> None:
    """Move a scheduled publication to `target` along the table's transitions."""
    now = datetime.now(UTC)
    source = State.SCHEDULED
    with stack.app.db.session() as session:
        for step in PATHS[target]:
            last = step == target
            assert move(session, pub_id, [source], step, now=now, **(values if last else {}))
            source = step


def publications(stack: Stack, channels: tuple[str, ...]) -> dict[str, int]:
    """Signed-off rows for tomorrow on `channels`: channel -> publication id. Own and upward
    platforms in two submissions, so that every row is scheduled (in one, the own rows would
    wait for the upward adoption)."""
    own = upward_first(channels)
    groups = (tuple(c for c in channels if c in own), tuple(c for c in channels if c not in own))
    ids: dict[str, int] = {}
    for group in groups:
        if group:
            sub = stack.signed_off(group, publish_date=shanghai_tomorrow())
            ids |= {p.channel: p.id for p in stack.publications(sub)}
    return ids
