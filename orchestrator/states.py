"""The publication state machine, as data. Every move is a compare-and-set in the database.

    scheduled → queued → sending → submitted → published → retracted
    exits: failed, unconfirmed, cancelled (and retracted)
    held → scheduled | cancelled   (own rows of an item also reported upward: 待上级采用)
    assisted channels (no publishing API): queued → manual (待人工发布) → published, and a
    retract becomes published → takedown (待人工撤下) → retracted once the page is verified gone

`sending` is entered before the platform is called. A worker that dies there leaves the row in
`sending`; the reconciler asks the platform what it holds before anything is sent again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType


class State(enum.StrEnum):
    HELD = "held"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    CANCELLED = "cancelled"
    RETRACTED = "retracted"
    MANUAL = "manual"
    TAKEDOWN = "takedown"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS: Mapping[State, str] = MappingProxyType(
    {
        State.HELD: "待上级采用",
        State.SCHEDULED: "待发布",
        State.QUEUED: "排队中",
        State.SENDING: "发送中",
        State.SUBMITTED: "待确认",
        State.PUBLISHED: "已发布",
        State.FAILED: "失败",
        State.UNCONFIRMED: "结果未确认",
        State.CANCELLED: "已取消",
        State.RETRACTED: "已撤稿",
        State.MANUAL: "待人工发布",
        State.TAKEDOWN: "待人工撤下",
    }
)

S = State
TRANSITIONS: Mapping[State, frozenset[State]] = MappingProxyType(
    {
        # 综合科 releases a held row as the office's own article, or it is dropped (by 综合科, or
        # because the repost of the adopted upward report takes its place)
        S.HELD: frozenset({S.SCHEDULED, S.CANCELLED}),
        S.SCHEDULED: frozenset({S.QUEUED, S.CANCELLED}),
        # back to SCHEDULED when the channel is paused; FAILED when refused before any send
        # MANUAL: the gate passed on an assisted channel; a person publishes on the platform
        S.QUEUED: frozenset({S.SENDING, S.SCHEDULED, S.FAILED, S.CANCELLED, S.MANUAL}),
        # back to SCHEDULED (a later retry) only when the platform holds nothing
        S.SENDING: frozenset({S.SUBMITTED, S.PUBLISHED, S.FAILED, S.SCHEDULED, S.UNCONFIRMED}),
        S.SUBMITTED: frozenset({S.PUBLISHED, S.FAILED, S.UNCONFIRMED, S.RETRACTED}),
        # TAKEDOWN: a retract on an assisted channel waits for a person to take the page down
        S.PUBLISHED: frozenset({S.RETRACTED, S.TAKEDOWN}),
        # the person recorded the article's URL (a signed action), or it was called off
        S.MANUAL: frozenset({S.PUBLISHED, S.CANCELLED}),
        # the page was verified gone (404/410)
        S.TAKEDOWN: frozenset({S.RETRACTED}),
        # an operator decides: confirmed on the platform, failed, or sent again on purpose
        S.UNCONFIRMED: frozenset({S.PUBLISHED, S.FAILED, S.QUEUED, S.RETRACTED}),
        S.FAILED: frozenset({S.QUEUED}),
        S.CANCELLED: frozenset(),
        S.RETRACTED: frozenset(),
    }
)

FINAL: frozenset[State] = frozenset({S.PUBLISHED, S.FAILED, S.CANCELLED, S.RETRACTED})
# States an operator must look at; they never move by themselves.
NEEDS_OPERATOR: frozenset[State] = frozenset({S.FAILED, S.UNCONFIRMED})
# States in which the platform may already hold the article: never send blindly from here.
MAYBE_SENT: frozenset[State] = frozenset({S.SENDING, S.SUBMITTED, S.UNCONFIRMED})

# Moves that write no audit event, by design: they are the hot path and change nothing that was
# signed. The scheduler's claim (dispatch.claim_due) and a worker's start of a send
# (publishing.prepare.prepare). Every other move records the state it reached
# (dispatch.record_move), so a row in a state not reachable from its last recorded one through
# these was moved outside the application (orchestrator.attest).
QUIET_MOVES: frozenset[tuple[State, State]] = frozenset(
    {(S.SCHEDULED, S.QUEUED), (S.QUEUED, S.SENDING)}
)


def allowed(source: State, target: State) -> bool:
    return target in TRANSITIONS[source]


def reachable_ends(start: State) -> set[State]:
    """The final or operator states reachable from `start` (used to check the table)."""
    seen, todo = set(), [start]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        todo.extend(TRANSITIONS[state])
    return seen & (FINAL | NEEDS_OPERATOR)
