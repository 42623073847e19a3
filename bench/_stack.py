"""What the publish-pipeline benches share: a whole stack in a temporary folder, torn down on
any exit (error, Ctrl-C, SIGTERM).

    Redis      the embedded redis-server on a Unix socket in the folder
    database   SQLite in the folder, migrated, the demo organisation
    simulators every platform, served by a child process of their own so that they do not
               compete with the bench for the GIL; each ledger also notes when a key was
               first published (the platform's receipt time)
    worker     `celery -A tasks worker` (devstack.worker_argv) and `sanshen scheduler`

Progress goes to stderr; a bench prints its JSON result as the last line of stdout.
`bare_app` is a Celery app with the real app's delivery settings and one no-op task: the
floor the pipeline is compared with (`celery -A bench._stack:bare_app worker`).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ALL_CHANNELS = ("gov_website", "suishenban", "wechat", "xuexi", "lvse_qingpu")
FINAL = frozenset({"published", "failed", "unconfirmed", "cancelled", "retracted"})
AT_PLATFORM = frozenset({"submitted", "published"})
BARE_QUEUE = "bench.bare"
BARE_COUNTER = "bench:bare:done"
# The simulator's WeChat quotas are the real account's per day; a bench sends more in minutes.
WECHAT_BENCH_QUOTAS = {
    "token": 10**6,
    "stable_token": 10**6,
    "draft/add": 10**6,
    "freepublish/submit": 10**6,
    "freepublish/get": 10**6,
    "freepublish/delete": 10**6,
}
_T0 = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - _T0:7.1f}s] {text}", file=sys.stderr, flush=True)


def emit(result: Mapping[str, Any]) -> None:
    print(json.dumps(result, ensure_ascii=False), flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


# --- simulators in their own process ----------------------------------------------------------


def _serve_simulators(conn: Connection, faults: dict[str, dict[str, Any]]) -> None:
    """The child process: every simulator on loopback; commands arrive on `conn`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us, after its own cleanup
    from channels.simulators.base import Ledger
    from channels.simulators.server import SimulatorServer

    class TimedLedger(Ledger):
        def __init__(self) -> None:
            super().__init__()
            self.times: dict[str, list[float]] = {}

        def published(self, key: str) -> int:
            stamp = time.time()
            with self._lock:
                self.times.setdefault(key, []).append(stamp)
            return super().published(key)

        def copy_times(self) -> dict[str, list[float]]:
            with self._lock:
                return {key: list(stamps) for key, stamps in self.times.items()}

    server = SimulatorServer()
    ledgers: dict[str, TimedLedger] = {}
    for name in server.names:
        sim: Any = server.simulator(name)
        ledgers[name] = sim.ledger = TimedLedger()
        sim.faults.update(faults.get(name, {}))
        if name == "wechat":
            sim.config = sim.config.model_copy(update={"quotas": dict(WECHAT_BENCH_QUOTAS)})
    server.start()
    conn.send({name: server.client_settings(name) for name in server.names})
    while True:
        command, args = conn.recv()
        if command == "stop":
            break
        if command == "faults":
            for name, changes in args.items():
                server.simulator(name).faults.update(changes)
            conn.send(True)
        elif command == "ledgers":
            conn.send({name: ledger.snapshot() for name, ledger in ledgers.items()})
        elif command == "times":
            conn.send({name: ledger.copy_times() for name, ledger in ledgers.items()})
        elif command == "callback":
            server.simulator("wechat").callback_url = args  # type: ignore[attr-defined]
            conn.send(True)
        elif command == "idle":
            conn.send(server.wait_idle(args))
        elif command == "served":
            conn.send(server.requests_served)
        elif command == "url":
            conn.send(server.url)
    server.stop()
    conn.send(True)


class SimulatorProcess:
    def __init__(self, faults: dict[str, dict[str, Any]] | None = None) -> None:
        self.faults = faults or {}
        self.settings: dict[str, dict[str, Any]] = {}
        self._conn: Connection | None = None
        self._proc: Any = None

    def start(self) -> None:
        context = multiprocessing.get_context("fork")  # before any thread of ours exists
        ours, theirs = context.Pipe()
        self._proc = context.Process(
            target=_serve_simulators, args=(theirs, self.faults), name="simulators", daemon=True
        )
        self._proc.start()
        self._conn = ours
        if not ours.poll(30):
            raise RuntimeError("simulators did not start")
        self.settings = ours.recv()

    def call(self, command: str, args: Any = None, timeout: float = 60) -> Any:
        assert self._conn is not None
        self._conn.send((command, args))
        if not self._conn.poll(timeout):
            raise RuntimeError(f"simulators did not answer {command}")
        return self._conn.recv()

    def ledgers(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = self.call("ledgers")
        return result

    def first_published(self) -> dict[str, float]:
        """Key → when the platform first published it (epoch seconds)."""
        times: dict[str, dict[str, list[float]]] = self.call("times")
        return {key: min(stamps) for per in times.values() for key, stamps in per.items()}

    def served(self) -> int:
        """Requests the simulators have answered since they started."""
        return int(self.call("served"))

    def set_faults(self, faults: dict[str, dict[str, Any]]) -> None:
        self.call("faults", faults)

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return int(self._proc.pid)

    def stop(self) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(Exception):
            self.call("stop", timeout=10)
        self._proc.join(5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
        self._proc = None


# --- the stack ----------------------------------------------------------------------------------


def _raise_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


@dataclass
class Row:
    id: int
    channel: str
    state: str
    key: str
    scheduled_at: datetime


class Stack:
    """One stack in /tmp/ssb-<name>-*; `with Stack(...) as stack:` cleans it all up."""

    def __init__(
        self,
        name: str,
        *,
        settings: Mapping[str, str] | None = None,
        faults: dict[str, dict[str, Any]] | None = None,
        channel_overrides: Mapping[str, Any] | None = None,
        keep: bool = False,
    ) -> None:
        self.name = name
        self.overrides = dict(settings or {})
        self.channel_overrides = dict(channel_overrides or {})
        self.keep = keep
        self.sims = SimulatorProcess(faults)
        self.root = Path(tempfile.mkdtemp(prefix=f"ssb-{name}-", dir="/tmp"))
        self.env: dict[str, str] = {}
        self.redis_url = ""
        self.procs: Any = None
        self.worker_extra: list[str] = []  # e.g. ["-P", "threads"]
        self.concurrency: int | None = None  # both workers' pool; None: the product's default
        self.app: Any = None
        self._saved_env = dict(os.environ)

    # setup and teardown

    def __enter__(self) -> Stack:
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _setup(self) -> None:
        self.sims.start()
        from orchestrator import redis_embedded

        self.redis_url = redis_embedded.ensure_running(self.root)
        say(f"stack in {self.root}; redis {self.redis_url}")
        from orchestrator.devstack import Processes, simulator_env

        channel_settings = {
            name: values | self.channel_overrides for name, values in self.sims.settings.items()
        }
        self.env = (
            {
                "SANSHEN_DATA_DIR": str(self.root / "data"),
                "SANSHEN_REDIS_URL": self.redis_url,
                "SANSHEN_KDF_PROFILE": "min",
                "SANSHEN_DEFAULT_PUBLISH_TIME": "00:00",
                "PYTHONPATH": str(REPO),
            }
            | simulator_env(channel_settings)
            | self.overrides
        )
        os.environ.update(self.env)
        from orchestrator.app import App
        from orchestrator.demo import ensure_organisation
        from orchestrator.migrate import upgrade
        from orchestrator.settings import Settings, get_settings

        get_settings.cache_clear()
        self.app = App(Settings())
        upgrade(self.app.db)
        ensure_organisation(self.app)
        self.procs = Processes(self.root / "logs", self.env)

    def close(self) -> None:
        if self.procs is not None:
            for name in list(self.procs.procs):
                with contextlib.suppress(Exception):
                    self.procs.kill(name, signal.SIGTERM, timeout=15)
        self.sims.stop()
        if self.app is not None:
            with contextlib.suppress(Exception):
                self.app.db.dispose()
        from orchestrator import redis_embedded

        with contextlib.suppress(Exception):
            redis_embedded.stop(self.root)
        os.environ.clear()
        os.environ.update(self._saved_env)
        if self.keep:
            say(f"kept {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    # processes

    def start(self, what: str) -> None:
        from orchestrator.devstack import scheduler_argv, worker_argv

        argv = {
            "worker": worker_argv(self.concurrency, ALL_CHANNELS) + self.worker_extra,
            "scheduler": scheduler_argv(),
            "bare": bare_worker_argv(self.concurrency) + self.worker_extra,
        }[what]
        self.procs.start(what, argv)

    def kill(self, what: str, sig: int = signal.SIGKILL) -> None:
        self.procs.kill(what, sig)

    def pid(self, what: str) -> int:
        return int(self.procs.procs[what].pid)

    def log(self, what: str) -> str:
        return str(self.procs.log(what))

    def redis(self) -> Any:
        from orchestrator.redis_embedded import client

        return client(self.redis_url)

    def wait_worker_ready(self, timeout: float = 60) -> None:
        """A warm worker: answers a ping, each pool process has built its publisher."""
        from tasks.app import app as celery

        deadline = time.monotonic() + timeout
        while not celery.control.ping(timeout=0.5):
            if time.monotonic() > deadline or not self.procs.alive("worker"):
                raise RuntimeError("worker not ready:\n" + self.log("worker")[-3000:])
        for _ in range(6):  # unknown ids: each answers "missing" after building the publisher
            celery.send_task("sanshen.publish", args=[-1], queue="publish.gov_website")
        time.sleep(1.0)

    # content

    def sign_off(
        self, count: int, channels: tuple[str, ...] = ALL_CHANNELS, publish_date: date | None = None
    ) -> float:
        """`count` items through every review stage; returns the seconds it took. An item for
        own and upward platforms is signed off as two submissions, one for each: in one, the
        own rows would wait for the upward adoption (upward first), and these benches measure
        the sending."""
        from orchestrator.demo import demo_draft, submit_and_sign_off
        from orchestrator.services.dispatch import upward_first

        own = upward_first(channels)
        groups = [
            g
            for g in (
                tuple(c for c in channels if c in own),
                tuple(c for c in channels if c not in own),
            )
            if g
        ]
        started = time.monotonic()
        for n in range(count):
            for group in groups:
                title = f"青浦区政务服务“一网通办”再添新功能（{n + 1}）"
                submit_and_sign_off(self.app, demo_draft(group, publish_date, title=title))
            if (n + 1) % 100 == 0:
                say(f"signed off {n + 1}/{count}")
        return time.monotonic() - started

    def rows(self) -> list[Row]:
        from sqlalchemy import select

        from orchestrator.models import Publication

        with self.app.db.session() as session:
            result = session.execute(
                select(
                    Publication.id,
                    Publication.channel,
                    Publication.state,
                    Publication.idempotency_key,
                    Publication.scheduled_at,
                ).order_by(Publication.id)
            ).all()
        return [Row(*r) for r in result]

    def states(self) -> Counter[str]:
        from sqlalchemy import func, select

        from orchestrator.models import Publication

        with self.app.db.engine.connect() as conn:
            result = conn.execute(
                select(Publication.state, func.count()).group_by(Publication.state)
            ).all()
        return Counter({state: n for state, n in result})

    def any_left_scheduled(self) -> bool:
        states = self.states()
        return sum(states.values()) > states.get("scheduled", 0)

    def publish_ends(self) -> dict[int, float]:
        """Publication id → when its successful publish call returned (epoch seconds)."""
        from sqlalchemy import select

        from orchestrator.models import Attempt

        with self.app.db.session() as session:
            result = session.execute(
                select(Attempt.publication_id, Attempt.started_at, Attempt.duration_ms).where(
                    Attempt.operation == "publish", Attempt.outcome == "ok"
                )
            ).all()
        ends: dict[int, float] = {}
        for pub_id, started, took in result:
            end = started.timestamp() + took / 1000
            ends[pub_id] = max(ends.get(pub_id, 0.0), end)
        return ends

    def first_attempts(self) -> dict[int, float]:
        """Publication id → when its first publish call started (epoch seconds)."""
        from sqlalchemy import func, select

        from orchestrator.models import Attempt

        with self.app.db.session() as session:
            result = session.execute(
                select(Attempt.publication_id, func.min(Attempt.started_at))
                .where(Attempt.operation == "publish")
                .group_by(Attempt.publication_id)
            ).all()
        return {pub_id: started.timestamp() for pub_id, started in result}


def wait_for(
    predicate: Callable[[], bool], timeout: float, poll: float = 0.25, what: str = ""
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    say(f"gave up waiting for {what or 'a condition'} after {timeout:.0f} s")
    return False


# --- memory of the worker's process tree --------------------------------------------------------


class TreeMemory:
    """Samples RSS (and PSS, which counts shared pages once) summed over a process tree."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid, self.every = pid, every
        self.peak_rss = 0.0
        self.peak_pss = 0.0
        self.peak_processes = 0
        self.peak_process_rss = 0.0  # the largest single process in the tree
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        rounds = 0
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(self.pid)
                tree = [root, *root.children(recursive=True)]
                each = [_rss(p) for p in tree]
                rss = sum(each)
                self.peak_process_rss = max(self.peak_process_rss, max(each) / 2**20)
                self.peak_rss = max(self.peak_rss, rss / 2**20)
                self.peak_processes = max(self.peak_processes, len(tree))
                if rounds % 4 == 0:  # smaps is slower to read
                    pss = sum(_pss(p) for p in tree)
                    self.peak_pss = max(self.peak_pss, pss / 2**20)
            rounds += 1
            self._stop.wait(self.every)


def _rss(proc: Any) -> int:
    try:
        return int(proc.memory_info().rss)
    except Exception:
        return 0


def _pss(proc: Any) -> int:
    try:
        return int(proc.memory_full_info().pss)
    except Exception:
        return 0


class CpuMeter:
    """CPU seconds (user + system) each named process tree spends between enter and exit.

    Pool processes that exit in between (replaced past the memory bound) take their time with
    them; the benches' pools are not replaced in a run of this size."""

    def __init__(self, pids: Mapping[str, int], alone: tuple[str, ...] = ("bench",)) -> None:
        self.pids, self.alone = dict(pids), alone  # `alone`: without the process's children
        self.spent: dict[str, float] = {}
        self._start: dict[str, dict[int, float]] = {}

    def _sample(self) -> dict[str, dict[int, float]]:
        import psutil

        out: dict[str, dict[int, float]] = {}
        for name, pid in self.pids.items():
            times: dict[int, float] = {}
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(pid)
                tree = [root] if name in self.alone else [root, *root.children(recursive=True)]
                for proc in tree:
                    with contextlib.suppress(psutil.Error):
                        t = proc.cpu_times()
                        times[proc.pid] = t.user + t.system
            out[name] = times
        return out

    def __enter__(self) -> CpuMeter:
        self._start = self._sample()
        return self

    def add(self, name: str, pid: int) -> None:
        """A process started inside the measured span: all it spends counts."""
        self.pids[name], self._start[name] = pid, {}

    def __exit__(self, *exc: object) -> None:
        end = self._sample()
        for name, times in end.items():
            before = self._start.get(name, {})
            self.spent[name] = sum(t - before.get(pid, 0.0) for pid, t in times.items())

    def per(self, count: int) -> dict[str, float | None]:
        """Milliseconds of CPU per unit of work, per process tree and in all."""
        each = {name: rounded(spent / count * 1000, 2) for name, spent in self.spent.items()}
        return each | {"all": rounded(sum(self.spent.values()) / count * 1000, 2)}


def redis_pid(stack: Stack) -> int:
    """The embedded redis-server serving this stack."""
    from orchestrator.redis_embedded import server_pid

    pid = server_pid(stack.root)
    if pid is None:
        raise RuntimeError("the stack's redis-server is not running")
    return pid


# --- the bare Celery floor --------------------------------------------------------------------

_BARE: Any = None
_COPIED = (
    "broker_url",
    "broker_connection_retry_on_startup",
    "broker_transport_options",
    "task_acks_late",
    "task_reject_on_worker_lost",
    "worker_prefetch_multiplier",
    "task_time_limit",
    "task_soft_time_limit",
    "task_ignore_result",
    "worker_send_task_events",
    "task_send_sent_event",
    "worker_hijack_root_logger",
    "timezone",
    "enable_utc",
)


def make_bare_app() -> Any:
    """The real app's delivery settings (acks late, prefetch 1, no results, events on), one
    queue and one task that only counts itself in Redis."""
    from celery import Celery
    from kombu import Queue

    from orchestrator.redis_embedded import client
    from tasks.app import make_app

    real = make_app().conf
    bare = Celery("bench-bare")
    bare.conf.update({key: real[key] for key in _COPIED})
    bare.conf.update(task_default_queue=BARE_QUEUE, task_queues=[Queue(BARE_QUEUE)])
    counter: list[Any] = []

    @bare.task(name="bench.noop")
    def noop() -> None:
        if not counter:
            counter.append(client(bare.conf.broker_url))
        counter[0].incr(BARE_COUNTER)

    session: list[Any] = []

    @bare.task(name="bench.http")
    def http(url: str, calls: int) -> None:
        """The platform round trips a publication needs, and nothing else."""
        import requests

        if not session:
            session.append(requests.Session())
        for _ in range(calls):
            session[0].get(url, timeout=10)
        noop()

    return bare


def __getattr__(name: str) -> Any:
    global _BARE
    if name == "bare_app":
        if _BARE is None:
            _BARE = make_bare_app()
        return _BARE
    raise AttributeError(name)


def pool_default() -> int:
    """The worker pool size the product runs with (SANSHEN_WORKER_CONCURRENCY)."""
    from orchestrator.settings import get_settings

    return get_settings().worker_concurrency


def bare_worker_argv(concurrency: int | None = None) -> list[str]:
    """The real worker's command line, with the bare app and its queue."""
    from orchestrator.devstack import worker_argv

    argv = worker_argv(concurrency, ())
    argv[argv.index("-A") + 1] = "bench._stack:bare_app"
    argv[argv.index("-Q") + 1] = BARE_QUEUE
    return argv


def bare_tasks_per_s(
    stack: Stack, tasks: int, *, http_calls: int = 0, url: str = ""
) -> dict[str, Any]:
    """No-op tasks through the same broker and worker settings, first send to last done. With
    `http_calls`, each task first makes that many loopback HTTP requests to `url` (the floor a
    publication's platform calls set)."""
    bare = __getattr__("bare_app")
    name, args = ("bench.http", [url, http_calls]) if http_calls else ("bench.noop", [])
    red = stack.redis()
    stack.start("bare")
    deadline = time.monotonic() + 60
    while not bare.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            raise RuntimeError("bare worker not ready:\n" + stack.log("bare")[-3000:])
    red.set(BARE_COUNTER, 0)
    for _ in range(20):
        bare.send_task(name, args=args, queue=BARE_QUEUE)
    wait_for(lambda: int(red.get(BARE_COUNTER) or 0) >= 20, 30, 0.05, "bare warm-up")
    red.set(BARE_COUNTER, 0)
    pids = {"worker": stack.pid("bare"), "redis": redis_pid(stack), "bench": os.getpid()}
    if http_calls:
        pids["simulators"] = stack.sims.pid
    with CpuMeter(pids) as cpu:
        started = time.monotonic()
        for _ in range(tasks):
            bare.send_task(name, args=args, queue=BARE_QUEUE)
        sent = time.monotonic() - started
        wait_for(lambda: int(red.get(BARE_COUNTER) or 0) >= tasks, 600, 0.005, "bare tasks")
        took = time.monotonic() - started
    stack.kill("bare", signal.SIGTERM)
    return {
        "tasks": tasks,
        "per_s": tasks / took,
        "seconds": took,
        "send_seconds": sent,
        "cpu_ms": cpu.per(tasks),
    }


# --- small helpers for the benches ----------------------------------------------------------------


def shuffled(values: list[Any], seed: int) -> list[Any]:
    copy = list(values)
    random.Random(seed).shuffle(copy)
    return copy


def utcnow() -> datetime:
    return datetime.now(UTC)


def later(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextlib.contextmanager
def phase(what: str) -> Iterator[None]:
    started = time.monotonic()
    say(f"{what} …")
    yield
    say(f"{what}: {time.monotonic() - started:.1f} s")
