"""Every platform simulator in a child process of its own (no GIL contention with the bench);
each ledger also notes when a key was first published (the platform's receipt time)."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from multiprocessing.connection import Connection
from typing import Any

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
