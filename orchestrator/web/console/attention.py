"""Which publications need a person's eye: failed or unconfirmed, still waiting well after
their time (the scheduler is behind or stopped), or published with the live page changed or
gone. The board sorts by it; the item page and 我的待办 mark overdue rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from orchestrator.models import Publication
from orchestrator.states import State

OVERDUE_GRACE = timedelta(minutes=2)
ATTENTION_STATES = (State.FAILED.value, State.UNCONFIRMED.value)
# 待人工发布 waits too: for a person to publish it by hand at its time
WAITING_STATES = (State.SCHEDULED.value, State.QUEUED.value, State.MANUAL.value)
# 发布核验 found the live page changed or gone while the row is published
BAD_VERDICTS = ("mismatch", "removed")


def overdue(pub: Publication, now: datetime) -> bool:
    """Still waiting well after its time (the scheduler is behind or stopped)."""
    return pub.state in WAITING_STATES and pub.scheduled_at < now - OVERDUE_GRACE


def live_problem(pub: Publication) -> bool:
    return pub.state == State.PUBLISHED.value and pub.verdict in BAD_VERDICTS


def needs_attention(pub: Publication, now: datetime) -> bool:
    return pub.state in ATTENTION_STATES or overdue(pub, now) or live_problem(pub)
