from __future__ import annotations

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


def test_compare_and_set_lets_only_one_mover_win(org_app: App) -> None:
    from tests.orchestrator.test_review_flow import FULL, create, walk

    sub = create(org_app)
    walk(org_app, sub, FULL)
    with org_app.db.session() as session:
        pub_id = session.query(Publication).filter_by(submission_id=sub).one().id
    now = datetime.now(UTC)
    with org_app.db.session() as first:
        assert move(first, pub_id, (State.SCHEDULED,), State.QUEUED, now=now)
    with org_app.db.session() as second:
        assert not move(second, pub_id, (State.SCHEDULED,), State.QUEUED, now=now)


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
