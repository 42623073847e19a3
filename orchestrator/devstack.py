"""Running the parts as separate processes: used by `sanshen up`, the tests and the benches.

`Processes` starts and stops the API, worker and scheduler as real OS processes (each in its
own process group, so a kill reaches a worker's children too); `simulator_env` points the
adapters at the platform simulators; `FolderLock` keeps a second `sanshen up` (or a `sanshen
demo`) off a data folder that one is already running on.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from channels.registry import channel_entries
from orchestrator.demo_channels import lock_holder

BIN = Path(sys.executable).parent


def worker_argv(concurrency: int | None = None, channels: Iterable[str] | None = None) -> list[str]:
    """The worker's command line; `concurrency` defaults to SANSHEN_WORKER_CONCURRENCY."""
    if concurrency is None:
        from orchestrator.settings import get_settings

        concurrency = get_settings().worker_concurrency
    names = list(channels) if channels is not None else [e.name for e in channel_entries()]
    queues = ",".join(["sanshen", *(f"publish.{name}" for name in names)])
    return [
        str(BIN / "celery"),
        "-A",
        "tasks",
        "worker",
        "-c",
        str(concurrency),
        "-Q",
        queues,
        "--without-gossip",
        "--without-mingle",
        "-E",
        "-l",
        "WARNING",
    ]


def scheduler_argv() -> list[str]:
    return [str(BIN / "sanshen"), "scheduler"]


def api_argv(host: str, port: int) -> list[str]:
    return [
        str(BIN / "uvicorn"),
        "orchestrator.api:api",
        "--host",
        host,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def simulator_env(settings_by_channel: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """SANSHEN_CHANNEL_<NAME>_<FIELD> variables pointing each adapter at its simulator, and
    发布核验 at the simulator's public pages (served on its own loopback address)."""
    env = {
        f"SANSHEN_CHANNEL_{name}_{key}".upper(): str(value)
        for name, values in settings_by_channel.items()
        for key, value in values.items()
    }
    for name, values in settings_by_channel.items():
        if values.get("base_url"):
            env[f"SANSHEN_CHANNEL_{name}_PAGE_HOSTS".upper()] = urlsplit(
                str(values["base_url"])
            ).netloc
    return env


class Processes:
    """Named child processes with their output in `logs/<name>.log`."""

    def __init__(self, logs: Path, env: Mapping[str, str]) -> None:
        self.logs = logs
        self.env = dict(env)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("SANSHEN_")}
        with open(self.logs / f"{name}.log", "ab") as log:  # the child keeps its own copy
            proc = subprocess.Popen(
                argv, env=inherited | self.env, stdout=log, stderr=log, start_new_session=True
            )
        self.procs[name] = proc
        return proc

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def kill(self, name: str, sig: int = signal.SIGKILL, timeout: float = 20) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self, name: str, timeout: float = 20) -> None:
        """SIGTERM to the child alone, so it shuts down in its own order (a Celery worker
        finishes the sends it has started); what is left of its group after `timeout`, or
        after it exits, is killed."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def exited(self) -> dict[str, int]:
        """The children that have ended on their own, with their exit codes."""
        return {
            name: code for name, proc in self.procs.items() if (code := proc.poll()) is not None
        }

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def record_children(procs: Processes, path: Path) -> None:
    """Note each child's pid, command and start time, so a run after a crash can find what was
    left (and not take a process that reused the pid for one of them)."""
    noted = {name: [p.pid, p.args, _started(p.pid)] for name, p in procs.procs.items()}
    path.write_text(json.dumps(noted), encoding="utf-8")


def stop_leftovers(path: Path, timeout: float = 10) -> list[str]:
    """Stop the children a killed run left behind (those noted in `path` whose pid still runs
    the same command as a group leader); return their names."""
    try:
        noted = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    stopped = []
    for name, (pid, argv, *started) in noted.items():
        if _running(pid, argv, started[0] if started else None):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
                _wait_group_gone(pid, timeout)
                os.killpg(pid, signal.SIGKILL)
                _wait_group_gone(pid, timeout)  # a SIGKILL lands when the process next runs
            stopped.append(name)
    path.unlink(missing_ok=True)
    return stopped


def _running(pid: int, argv: list[str], started: int | None = None) -> bool:
    """`pid` leads its own group and is the process noted: the same start time when one was
    noted (Celery retitles its processes, so their command line no longer shows `argv`), else
    running `argv` (a script runs as `python <script> ...`)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        leader = os.getpgid(pid) == pid
    except (OSError, ProcessLookupError):
        return False
    if started is not None:
        return leader and _started(pid) == started
    parts = raw.decode(errors="replace").rstrip("\0").split("\0")
    tail = argv[1:]
    same_args = parts[len(parts) - len(tail) :] == tail
    same_program = Path(argv[0]).name in {Path(part).name for part in parts[:2]}
    return leader and same_args and same_program


def _started(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot (/proc/<pid>/stat, field 22)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _wait_group_gone(pgid: int, timeout: float) -> None:
    """Until no live process is left in group `pgid` (its leader and, say, Celery's pool)."""
    deadline = time.monotonic() + timeout
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


class FolderBusy(Exception):
    def __init__(self, path: Path, holder: str, command: str = "up") -> None:
        super().__init__(f"{path} is held by pid {holder} (sanshen {command})")
        self.path, self.holder, self.command = path, holder, command


class FolderLock:
    """An exclusive `flock` on `<folder>/sanshen-up.lock`, which names the holder's pid and
    command (`up`, or `demo`: each starts a worker and a scheduler of its own).

    The kernel drops the lock when its holder dies, however it dies, so a stale file from a
    killed run never blocks the next one."""

    def __init__(self, folder: Path, command: str = "up") -> None:
        self.path = folder / "sanshen-up.lock"
        self.command = command
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, command = lock_holder(os.read(fd, 64).decode(errors="replace"))
            os.close(fd)
            raise FolderBusy(self.path, pid, command) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {self.command}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def scheduler_healthy() -> bool:
    """The scheduler's dispatch loop has stamped a round lately (its container health check)."""
    from datetime import UTC, datetime

    from orchestrator.services import health
    from orchestrator.settings import Settings

    settings = Settings()
    stale_after = max(60.0, settings.scheduler_interval * 20)
    part = health.scheduler_part(health.broker_url(settings), datetime.now(UTC), stale_after)
    if not part["ok"]:
        print(part["error"], file=sys.stderr)
    return bool(part["ok"])


if __name__ == "__main__":  # `python -m orchestrator.devstack scheduler-healthy`
    sys.exit(0 if sys.argv[1:] == ["scheduler-healthy"] and scheduler_healthy() else 1)
