"""`sanshen up` as a person runs it: a real process on a temp data folder and a free port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator import redis_embedded

SANSHEN = str(Path(sys.executable).with_name("sanshen"))
READY = "全部就绪"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SANSHEN_")}
    return inherited | {"SANSHEN_KDF_PROFILE": "min"} | extra


def sanshen(
    data: Path, *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SANSHEN, "--data-dir", str(data), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env or base_env(),
        timeout=120,
        check=False,
    )


def children_by_parent() -> dict[int, list[int]]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    return parents


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc."""
    parents = children_by_parent()
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Up:
    """One `sanshen up` process; its output is read as it comes."""

    def __init__(
        self,
        data: Path,
        *args: str,
        env: dict[str, str] | None = None,
        sigint_ignored: bool = False,
    ) -> None:
        """`sanshen --data-dir <data> up …`; with `sigint_ignored`, as a script's background job
        starts it (the shell sets SIGINT to ignored before the exec)."""
        self.data = data
        self.port = free_port()
        self.proc = subprocess.Popen(
            [SANSHEN, "--data-dir", str(data), "up", "--port", str(self.port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env or base_env(),
            preexec_fn=_ignore_sigint if sigint_ignored else None,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return
            if self.proc.poll() is not None:
                self._reader.join(timeout=5)
                if text in self.output:
                    return
                raise AssertionError(f"sanshen up exited {self.proc.returncode}:\n{self.output}")
            time.sleep(0.1)
        raise AssertionError(f"no “{text}” in time:\n{self.output}\n{self.logs()}")

    def logs(self) -> str:
        folder = self.data / "logs"
        if not folder.exists():
            return ""
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted(folder.glob("*.log"))
        )

    def pids(self) -> set[int]:
        """Every process this run owns: its children, theirs, and the embedded Redis."""
        found = descendants(self.proc.pid)
        redis_pid = redis_embedded.server_pid(self.data)
        return found | ({redis_pid} if redis_pid else set())

    def child(self, word: str) -> int:
        """The direct child whose command line contains `word`."""
        for pid in children_by_parent().get(self.proc.pid, []):
            if word in cmdline(pid):
                return pid
        raise AssertionError(f"no child running {word}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code

    def get(self, path: str) -> int:
        with urllib.request.urlopen(self.url + path, timeout=5) as reply:
            return int(reply.status)

    def kill_everything(self) -> None:
        """Teardown after a failed test: nothing of ours outlives it."""
        owned = self.pids()
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()
        for pid in owned:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def ups() -> Iterator[list[Up]]:
    started: list[Up] = []
    yield started
    for up in started:
        up.kill_everything()


@pytest.fixture
def data() -> Iterator[Path]:
    # short: the embedded Redis listens on a Unix socket inside the folder
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="up-", dir="/tmp"))
    yield folder / "d"
    shutil.rmtree(folder, ignore_errors=True)
