"""Publishing: from a signed-off version to each channel, once, on time, or clearly not.

A package of small services, one job each, around `shared` (the context every job reads, the
send plan, the record of platform calls, the moves several jobs make):

- prepare: the gate again before the send, and the move to `sending` (or back to wait for a
  pause, or to a person by hand)
- send: a prepared row to its platform, and what its answer makes of the row
- settle: a row stuck in `sending`, decided by asking the platform for its key
- status: where a `submitted` article stands (poll and callback)
- reconcile: the round that settles and polls the rows that are due
- retry: the backoff after a failed call, and a person's 重发
- retract: 撤稿 on one channel or everywhere
- schedule: cancel, reschedule, release and drop a row before it goes out
- confirm: 人工确认 of an article a person saw on the platform
- publisher: `Publisher`, the facade the web, the CLI and the tests call

Every state change is a compare-and-set (`services.moves`); the platform is called only between
two committed transactions, after the row is `sending`. When a call's outcome is unknown the row
stays `sending` until the reconciler has asked the platform what it holds for the key.
"""

from orchestrator.services.publishing.publisher import Publisher
from orchestrator.services.publishing.shared import (
    CHANNEL_PAUSED,
    DRAFT_ONLY_NOTE,
    PLATFORM,
    QUOTA_SPENT,
    SHANGHAI,
    WAITING_FOR_PAUSE,
    Context,
    SendPlan,
    get_publication,
)

__all__ = [
    "CHANNEL_PAUSED",
    "DRAFT_ONLY_NOTE",
    "PLATFORM",
    "QUOTA_SPENT",
    "SHANGHAI",
    "WAITING_FOR_PAUSE",
    "Context",
    "Publisher",
    "SendPlan",
    "get_publication",
]
