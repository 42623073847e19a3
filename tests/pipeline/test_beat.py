"""`celery -A tasks beat` in place of `sanshen scheduler`: the same due-row claims and
reconciliation, run as periodic tasks on the control queue."""

from __future__ import annotations

from pathlib import Path

from orchestrator.devstack import BIN
from tests.pipeline.conftest import ALL_CHANNELS, Stack


def test_celery_beat_drives_publication_to_every_channel(stack: Stack, tmp_path: Path) -> None:
    stack.start("worker")
    schedule = tmp_path / "beat-schedule"
    stack.procs.start(
        "beat", [str(BIN / "celery"), "-A", "tasks", "beat", "-s", str(schedule), "-l", "INFO"]
    )
    subs = stack.every_channel()
    stack.wait_for(lambda: all(map(stack.settled, subs)), timeout=90, what="every channel settled")
    assert stack.states_of(subs) == dict.fromkeys(ALL_CHANNELS, "published")
    for pub in (p for sub in subs for p in stack.publications(sub)):
        assert stack.ledger(pub.channel).get(pub.idempotency_key) == 1, pub.channel
    beat_log = stack.log("beat")
    assert "sanshen.dispatch_due" in beat_log, beat_log[-2000:]
