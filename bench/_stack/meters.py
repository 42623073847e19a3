"""What a bench measures of the processes it runs: memory of a process tree, CPU seconds."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from typing import Any

from bench._stack.basics import rounded
from bench._stack.stack import Stack


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
