from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from orchestrator.app import App
from orchestrator.models import Base, Publication
from orchestrator.services.dispatch import move
from orchestrator.states import (
    FINAL,
    MAYBE_SENT,
    NEEDS_OPERATOR,
    TRANSITIONS,
    State,
    reachable_ends,
)


def test_every_state_reaches_an_end() -> None:
    for state in State:
        assert reachable_ends(state) or state in FINAL, state
    for state in NEEDS_OPERATOR:
        assert reachable_ends(state) & FINAL, f"{state} must be able to end"


def test_nothing_that_may_have_been_sent_is_sent_again_by_itself() -> None:
    # Only an operator's decision moves `unconfirmed` back to the queue.
    for state in MAYBE_SENT - {State.UNCONFIRMED}:
        assert State.QUEUED not in TRANSITIONS[state], state
    assert State.SCHEDULED not in TRANSITIONS[State.SUBMITTED]


def test_table_covers_every_state() -> None:
    assert set(TRANSITIONS) == set(State)


def test_move_refuses_a_transition_not_in_the_table(org_app: App) -> None:
    with org_app.db.session() as session, pytest.raises(ValueError):
        move(session, 1, (State.PUBLISHED,), State.QUEUED, now=datetime.now(UTC))


def race(app: App, pub_id: int, source: State, targets: list[State]) -> list[bool]:
    """Each target's mover in a thread of its own, with a session of its own, all let go at
    once by a barrier: what each `move` answered, in the order of `targets`."""
    gate = threading.Barrier(len(targets), timeout=30)
    answers: list[bool | None] = [None] * len(targets)
    errors: list[BaseException] = []

    def mover(index: int, target: State) -> None:
        try:
            gate.wait()
            with app.db.session() as session:
                answers[index] = move(session, pub_id, (source,), target, now=datetime.now(UTC))
        except BaseException as error:  # a loser must lose by False, never by an error
            errors.append(error)

    threads = [threading.Thread(target=mover, args=pair) for pair in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a mover never finished"
    assert errors == []
    assert all(answer is not None for answer in answers)
    return [bool(answer) for answer in answers]


def test_compare_and_set_lets_only_one_mover_win(org_app: App) -> None:
    """Movers racing for one row, in threads released together: one wins each race, the others
    get False (not an error, not a second move), and the row moved once."""
    from tests.orchestrator.test_review_flow import FULL, create, walk

    sub = create(org_app)
    walk(org_app, sub, FULL)
    with org_app.db.session() as session:
        pub_id = session.query(Publication).filter_by(submission_id=sub).one().id

    def row() -> tuple[str, int]:
        with org_app.db.read() as session:
            pub = session.get(Publication, pub_id)
            assert pub is not None
            return pub.state, pub.revision

    for source, targets in [
        (State.SCHEDULED, [State.QUEUED] * 4),  # four schedulers claim the due row
        # two workers start the send while two people cancel it
        (State.QUEUED, [State.SENDING, State.CANCELLED, State.SENDING, State.CANCELLED]),
    ]:
        state, revision = row()
        assert state == source.value
        answers = race(org_app, pub_id, source, targets)
        assert answers.count(True) == 1, answers
        winner = targets[answers.index(True)]
        assert row() == (winner.value, revision + 1)  # moved once, by the winner


def test_migrations_build_exactly_the_models(app: App) -> None:
    with app.db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_adapters_that_share_state_get_our_redis() -> None:
    from orchestrator.services.hub import ChannelHub, redis_py_url

    assert redis_py_url("redis+socket:///tmp/x/redis.sock") == "unix:///tmp/x/redis.sock"
    hub = ChannelHub({"SANSHEN_CHANNEL_WECHAT_APP_ID": "wx1"}, redis_url="redis://127.0.0.1:1/0")
    assert hub._env_for("wechat")["SANSHEN_CHANNEL_WECHAT_REDIS_URL"] == "redis://127.0.0.1:1/0"
    assert "SANSHEN_CHANNEL_GOV_WEBSITE_REDIS_URL" not in hub._env_for("gov_website")
    own = ChannelHub(
        {"SANSHEN_CHANNEL_WECHAT_REDIS_URL": "redis://elsewhere/1"},
        redis_url="redis://127.0.0.1:1/0",
    )
    assert own._env_for("wechat")["SANSHEN_CHANNEL_WECHAT_REDIS_URL"] == "redis://elsewhere/1"
