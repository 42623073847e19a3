"""Gate → Celery → channels through a real worker and scheduler, against the simulators."""

from __future__ import annotations

from tests.pipeline.conftest import ALL_CHANNELS, Stack


def test_signed_off_item_reaches_every_channel_once(stack: Stack) -> None:
    stack.start("worker")
    stack.start("scheduler")
    subs = stack.every_channel()
    stack.wait_for(lambda: all(map(stack.settled, subs)), timeout=60, what="every channel settled")
    assert stack.states_of(subs) == dict.fromkeys(ALL_CHANNELS, "published")
    for pub in (p for sub in subs for p in stack.publications(sub)):
        assert stack.ledger(pub.channel).get(pub.idempotency_key) == 1, pub.channel
        assert pub.url
