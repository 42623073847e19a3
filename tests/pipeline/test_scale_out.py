"""Scale-out: two Celery workers and two schedulers on one database and one broker publish
every item exactly once; and the scheduler outlives a PostgreSQL restart.

The scale-out test runs on SQLite, and on PostgreSQL when SANSHEN_TEST_DATABASE is set (see
tests/conftest.py). The restart test is PostgreSQL's alone: it skips on SQLite, saying so, and
runs in the PostgreSQL suite (`.ci/run` runs it beside the SQLite one), on a server of its own
made with Debian's postgresql-15 binaries; without them it fails, it never skips.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator.devstack import scheduler_argv, worker_argv
from orchestrator.models import Attempt, Publication
from tests.conftest import on_postgresql
from tests.pipeline.conftest import ALL_CHANNELS, Stack

ITEMS = 6
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def start_many(stack: Stack, workers: int, schedulers: int) -> list[str]:
    stack.procs.env = stack.env
    names = []
    for i in range(workers):
        name = f"worker-{i}"
        # A node name of its own, as two hosts would have.
        stack.procs.start(name, [*worker_argv(2, ALL_CHANNELS), "-n", f"{name}@%h"])
        names.append(name)
    for i in range(schedulers):
        name = f"scheduler-{i}"
        stack.procs.start(name, scheduler_argv())
        names.append(name)
    return names


def logs(stack: Stack, names: list[str]) -> str:
    return "".join(f"\n--- {n} ---\n{stack.log(n)[-2000:]}" for n in names)


def all_settled(stack: Stack, subs: list[int]) -> bool:
    return all(stack.settled(sub) for sub in subs)


def assert_each_sent_once(stack: Stack, subs: list[int]) -> None:
    pubs = [p for sub in subs for p in stack.publications(sub)]
    assert len(pubs) == len(subs) // 2 * len(ALL_CHANNELS)  # each item: own and upward apart
    assert {p.state for p in pubs} == {"published"}, {p.id: p.state for p in pubs}
    for channel in ALL_CHANNELS:
        ledger = stack.ledger(channel)
        ours = {p.idempotency_key for p in pubs if p.channel == channel}
        assert ledger == dict.fromkeys(ours, 1), channel  # nothing doubled, nothing missing
    with stack.app.db.read() as session:
        accepted = session.scalars(
            select(Attempt.publication_id).where(
                Attempt.operation == "publish", Attempt.outcome == "ok"
            )
        ).all()
    assert sorted(accepted) == sorted(p.id for p in pubs)  # one accepted send per publication


def test_two_workers_and_two_schedulers_send_each_item_once(stack: Stack) -> None:
    # Everything is due before anyone starts, so both schedulers race for the same rows.
    subs = [s for i in range(ITEMS) for s in stack.every_channel(title=f"扩容测试稿件第{i + 1}篇")]
    names = start_many(stack, workers=2, schedulers=2)
    stack.wait_for(lambda: all_settled(stack, subs), timeout=120, what="every item settled")
    assert_each_sent_once(stack, subs)
    for name in names:
        assert stack.procs.alive(name), f"{name} died:{logs(stack, [name])}"


# --- PostgreSQL restarted under a running scheduler ------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_postgres(*argv: str) -> None:
    """Run a PostgreSQL program as the server's owner: the postgres account when we are root
    (initdb refuses root), else ourselves."""
    owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # No pipes: a server started by pg_ctl would hold them open after pg_ctl returns.
    subprocess.run(
        [*owner, *argv],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )


@pytest.fixture
def private_pg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A PostgreSQL 15 server of this test's own (it is restarted), in DATABASE_URL."""
    missing = [
        str(PG_BIN / name)
        for name in ("initdb", "pg_ctl", "createdb")
        if not (PG_BIN / name).exists()
    ]
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing.append("runuser")
    if missing:  # a missing tool fails its test (README, Tests): .ci/run installs postgresql
        pytest.fail(f"needs Debian's postgresql-15 package for a private server: {missing}")
    folder = Path(tempfile.mkdtemp(prefix="sspg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    port = free_port()
    as_postgres(
        str(PG_BIN / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    )
    options = f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    as_postgres(
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(folder / "pg.log"),
        "-w",
        "-o",
        options,
        "start",
    )
    as_postgres(
        str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "sanshen"
    )
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{port}/sanshen")
    try:
        yield data
    finally:
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(
    not on_postgresql(),
    reason="PostgreSQL only (runs in the PostgreSQL suite): restarts a PostgreSQL server under "
    "a running scheduler; SQLite has no server to restart",
)
def test_the_scheduler_outlives_a_postgresql_restart(private_pg: Path, stack: Stack) -> None:
    assert "postgresql" in stack.app.db.url
    names = start_many(stack, workers=1, schedulers=1)
    first = [s for i in range(2) for s in stack.every_channel(title=f"重启前稿件{i + 1}")]
    # Every connection the scheduler, the worker and this process hold is cut.
    server_before = (private_pg / "postmaster.pid").read_text().split()[0]
    log = str(private_pg.parent / "pg.log")
    as_postgres(
        str(PG_BIN / "pg_ctl"), "-D", str(private_pg), "-l", log, "-m", "fast", "-w", "restart"
    )
    assert (private_pg / "postmaster.pid").read_text().split()[0] != server_before
    second = [s for i in range(2) for s in stack.every_channel(title=f"重启后稿件{i + 1}")]
    subs = first + second
    stack.wait_for(lambda: all_settled(stack, subs), timeout=120, what="every item settled")
    assert_each_sent_once(stack, subs)
    for name in names:
        assert stack.procs.alive(name), f"{name} died:{logs(stack, [name])}"
    with stack.app.db.read() as session:
        assert not session.scalars(
            select(Publication).where(Publication.state.in_(["queued", "sending"]))
        ).all()
