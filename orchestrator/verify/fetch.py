"""Bounded GETs: only allowed hosts, redirects by hand, a byte cap and a wall-clock deadline.

Every hop (the address, each redirect) is prepared as requests will send it and its scheme and
host are checked against the allow-list before anything is sent, so neither a recorded address
nor a redirect can make the server fetch anything else.

The deadline is kept by a watchdog thread: each request's connection is registered with the
watch of the call making it (`WatchedAdapter`), and when the deadline passes the watchdog shuts
that socket down, which wakes a read blocked on a server that sends one byte at a time (a read
timeout alone never fires on such a server, and urllib3 waits for a whole chunk). Connecting
is bounded by the connect timeout, capped at the time left. Name resolution is the system's and
has no timeout of its own.

`fetch` raises `Unfetchable` (a stable code, a Chinese reason) for everything the network or the
server does; `_translate` is the one place where requests' and urllib3's errors are mapped.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import os
import socket
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urljoin

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool, HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util import Retry, parse_url

from orchestrator.verify.outcome import Code

USER_AGENT = "Mozilla/5.0 (compatible; sanshen-publish-verify/1.0)"
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


class Unfetchable(Exception):
    def __init__(
        self,
        code: Code,
        reason: str,
        *,
        final_url: str = "",
        status: int | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.final_url = final_url
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class Fetched:
    final_url: str
    status: int
    content_type: str
    body: bytes


# -- the allow-list ---------------------------------------------------------------------------


def _host_key(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host and not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    return host


def _entry(entry: str) -> tuple[str, int | None]:
    entry = entry.strip()
    if entry.startswith("["):  # [IPv6] or [IPv6]:port
        host, _, rest = entry.partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return _host_key(host + "]"), int(port) if port.isdigit() else None
    host, colon, port = entry.rpartition(":")
    if colon and port.isdigit() and ":" not in host:
        return _host_key(host), int(port)
    return _host_key(entry), None


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = parse_url(url)
    except LocationParseError:
        return None
    scheme = (parts.scheme or "").lower()
    if scheme not in DEFAULT_PORTS or not parts.host:
        return None
    return scheme, _host_key(parts.host), parts.port or DEFAULT_PORTS[scheme]


def host_allowed(url: str, allowed_hosts: Collection[str]) -> bool:
    """Whether `url` is http(s) on an allowed host. An entry "host" allows the scheme's default
    port (80, 443); "host:port" allows that port. Case and a trailing dot do not matter;
    non-ASCII names are compared in their IDNA form."""
    origin = _origin(url)
    if origin is None:
        return False
    scheme, host, port = origin
    for entry in allowed_hosts:
        allowed_host, allowed_port = _entry(entry)
        if allowed_host == host and (allowed_port or DEFAULT_PORTS[scheme]) == port:
            return True
    return False


def _prepared_url(url: str, allowed_hosts: Collection[str], what: str) -> str:
    """`url` as requests will send it, after checking its scheme and host."""
    scheme = url.strip().partition(":")[0].lower() if ":" in url else ""
    if scheme not in DEFAULT_PORTS:
        raise Unfetchable(Code.BAD_SCHEME, f"{what}不是 http 或 https 地址：{_short(url)}")
    try:
        prepared = requests.Request("GET", url.strip()).prepare().url or ""
    except (requests.RequestException, LocationParseError, UnicodeError, ValueError):
        raise Unfetchable(Code.BAD_URL, f"{what}无法解析：{_short(url)}") from None
    if _origin(prepared) is None:
        raise Unfetchable(Code.BAD_URL, f"{what}无法解析：{_short(url)}")
    if not host_allowed(prepared, allowed_hosts):
        host = parse_url(prepared).netloc or ""
        raise Unfetchable(
            Code.HOST_NOT_ALLOWED, f"{what}的主机 {host} 不在允许访问的主机列表中，未访问"
        )
    return prepared


def _visit_key(url: str) -> str:
    parts = parse_url(url)
    scheme = (parts.scheme or "").lower()
    port = parts.port or DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{_host_key(parts.host or '')}:{port}{parts.request_uri}"


def _short(url: str, limit: int = 120) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"


# -- the deadline -----------------------------------------------------------------------------


class _Watch:
    __slots__ = ("conn", "deadline", "done", "expired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.conn: Any = None
        self.expired = False
        self.done = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expire(self) -> None:
        self.expired = True
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            with suppress(OSError, ValueError, TypeError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that expires watches at their deadlines."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Watch]] = []
        self._cond = threading.Condition()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, watch: _Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (watch.deadline, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sanshen-verify-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)[2].expire()


_WATCHDOG = _Watchdog()
_CURRENT: ContextVar[_Watch | None] = ContextVar("sanshen_verify_watch", default=None)


def _after_fork() -> None:
    global _WATCHDOG, _LOCAL
    _WATCHDOG = _Watchdog()
    _LOCAL = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[_Watch]:
    """Requests made inside are cut off `seconds` from now."""
    watch = _Watch(max(seconds, 0.0))
    token = _CURRENT.set(watch)
    _WATCHDOG.arm(watch)
    try:
        yield watch
    finally:
        watch.done = True
        watch.conn = None
        _CURRENT.reset(token)


class _WatchedPoolMixin:
    def _get_conn(self, timeout: float | None = None) -> Any:
        watch = _CURRENT.get()
        if watch is not None and (watch.expired or watch.remaining() <= 0):
            raise ConnectTimeoutError(self, "verification deadline passed")
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        if watch is not None:
            watch.conn = conn
        return conn


class _WatchedHTTPPool(_WatchedPoolMixin, HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_WatchedPoolMixin, HTTPSConnectionPool):
    pass


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _StaleConnectionRetry(Retry):
    """One retry of a request whose connection broke before the answer began (a keep-alive
    connection the server had just closed); never after a read timeout, a redirect or a status:
    a server that does not answer is not asked twice."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        retry = self.new(read=0) if isinstance(error, ReadTimeoutError) else self
        return Retry.increment(retry, method, url, response, error, _pool, _stacktrace)


class WatchedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections the verification deadline can cut."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "max_retries",
            _StaleConnectionRetry(total=1, connect=0, read=1, redirect=False, status=0),
        )
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are its own: not watched
            manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager


def new_session() -> requests.Session:
    """A session for checks: watched adapters, no proxy or .netrc from the environment (set
    `proxies` on it where the network needs one). Use one per thread."""
    session = requests.Session()
    session.trust_env = False
    adapter = WatchedAdapter(pool_connections=16, pool_maxsize=4)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    return session


_LOCAL = threading.local()
os.register_at_fork(after_in_child=_after_fork)


def thread_session() -> requests.Session:
    session: requests.Session | None = getattr(_LOCAL, "session", None)
    if session is None:
        session = _LOCAL.session = new_session()
    return session


def watched(session: requests.Session) -> requests.Session:
    """`session`, with the watched adapter mounted for http:// and https:// if it lacks it."""
    for prefix in ("http://", "https://"):
        if not isinstance(session.adapters.get(prefix), WatchedAdapter):
            session.mount(prefix, WatchedAdapter())
    return session


# -- fetching ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    what: str  # "页面", "第2张图片": the subject of the Chinese reasons
    accept: str
    max_bytes: int
    connect_timeout: float
    read_timeout: float
    max_redirects: int


def fetch(
    session: requests.Session,
    url: str,
    allowed_hosts: Collection[str],
    request: Request,
    watch: _Watch,
) -> Fetched:
    """GET `url`, following redirects by hand; the answer of the last hop, whatever its status.
    Raises Unfetchable."""
    current = _prepared_url(url, allowed_hosts, request.what)
    visited = [_visit_key(current)]
    while True:
        response = _send(session, current, request, watch)
        status = response.status_code
        if status not in REDIRECTS:
            return _read(response, current, request, watch)
        location = session.get_redirect_target(response)
        response.close()
        if not location:
            raise Unfetchable(
                Code.HTTP_ERROR,
                f"{request.what}返回跳转（HTTP {status}）却没有给出跳转地址",
                final_url=current,
                status=status,
            )
        try:
            target = _prepared_url(
                urljoin(current, location), allowed_hosts, f"{request.what}跳转到的地址"
            )
        except Unfetchable as problem:
            problem.final_url, problem.status = current, status
            raise
        if _visit_key(target) in visited:
            raise Unfetchable(
                Code.REDIRECT_LOOP,
                f"{request.what}的跳转形成循环（{_short(target)} 已访问过）",
                final_url=current,
                status=status,
            )
        if len(visited) > request.max_redirects:
            raise Unfetchable(
                Code.TOO_MANY_REDIRECTS,
                f"{request.what}跳转超过 {request.max_redirects} 次，已停止跟随",
                final_url=current,
                status=status,
            )
        visited.append(_visit_key(target))
        current = target


def _send(
    session: requests.Session, url: str, request: Request, watch: _Watch
) -> requests.Response:
    left = watch.remaining()
    if left <= 0 or watch.expired:
        raise _timeout(request, watch, url)
    timeout = (min(request.connect_timeout, left), min(request.read_timeout, left))
    try:
        return session.get(
            url,
            stream=True,
            allow_redirects=False,
            timeout=timeout,
            headers={"Accept": request.accept},
        )
    except Exception as exc:  # every requests/urllib3/socket error: _translate sorts them
        raise _translate(exc, request, watch, url) from exc


def _read(response: requests.Response, url: str, request: Request, watch: _Watch) -> Fetched:
    status = response.status_code
    content_type = response.headers.get("Content-Type", "")
    cap = request.max_bytes if 200 <= status < 300 else min(request.max_bytes, 256 * 1024)
    declared = response.headers.get("Content-Length", "")
    if 200 <= status < 300 and declared.isdigit() and int(declared) > cap:
        response.close()
        raise Unfetchable(
            Code.TOO_LARGE,
            f"{request.what}大小为 {int(declared):,} 字节，超过上限 {cap:,} 字节，未读取",
            final_url=url,
            status=status,
        )
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > cap:
                if 200 <= status < 300:
                    raise Unfetchable(
                        Code.TOO_LARGE,
                        f"{request.what}超过上限 {cap:,} 字节，已停止读取",
                        final_url=url,
                        status=status,
                    )
                chunks.append(chunk[: cap - (size - len(chunk))])
                break
            if watch.expired:
                break
            chunks.append(chunk)
    except Unfetchable:
        raise
    except Exception as exc:
        raise _translate(exc, request, watch, url, status) from exc
    finally:
        response.close()
    if watch.expired:  # a cut connection can look like the end of a body without a length
        raise _timeout(request, watch, url, status)
    return Fetched(url, status, content_type, b"".join(chunks))


def _timeout(request: Request, watch: _Watch, url: str, status: int | None = None) -> Unfetchable:
    return Unfetchable(
        Code.TIMEOUT,
        f"{request.what}在 {watch.seconds:g} 秒内未能读完（服务器响应过慢），已停止等待",
        final_url=url,
        status=status,
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend((current.__cause__, current.__context__, getattr(current, "reason", None)))
        stack.extend(current.args)


def _translate(
    exc: Exception, request: Request, watch: _Watch, url: str, status: int | None = None
) -> Unfetchable:
    """The one place where a requests, urllib3 or socket error becomes an Unfetchable."""
    what = request.what
    if watch.expired:
        return _timeout(request, watch, url, status)
    causes = list(_chain(exc))

    def has(*kinds: type[BaseException]) -> bool:
        return any(isinstance(cause, kinds) for cause in causes)

    def problem(code: Code, reason: str) -> Unfetchable:
        return Unfetchable(code, reason, final_url=url, status=status)

    if has(NameResolutionError, socket.gaierror):
        return problem(Code.CONNECTION_FAILED, f"{what}的域名无法解析")
    if has(ConnectionRefusedError):
        return problem(Code.CONNECTION_FAILED, f"{what}所在服务器拒绝连接")
    if has(NewConnectionError):  # urllib3 derives it from ConnectTimeoutError: test it first
        return problem(Code.CONNECTION_FAILED, f"无法连接{what}所在服务器（网络不可达）")
    if has(requests.ConnectTimeout, ConnectTimeoutError):
        return problem(Code.TIMEOUT, f"连接{what}所在服务器超时（{request.connect_timeout:g} 秒）")
    if has(requests.ReadTimeout, ReadTimeoutError, TimeoutError, socket.timeout):
        return problem(
            Code.TIMEOUT, f"{what}所在服务器在 {request.read_timeout:g} 秒内没有应答，已停止等待"
        )
    if has(requests.exceptions.SSLError):
        return problem(Code.TLS_FAILED, f"与{what}所在服务器的安全连接（TLS）失败：证书或握手有误")
    if has(requests.exceptions.ContentDecodingError):
        return problem(Code.CONNECTION_FAILED, f"{what}的压缩数据已损坏，无法解压")
    if has(requests.exceptions.InvalidURL, LocationParseError):
        return problem(Code.BAD_URL, f"{what}的地址无法解析：{_short(url)}")
    if has(ConnectionResetError, http.client.RemoteDisconnected, urllib3.exceptions.ProtocolError):
        return problem(Code.CONNECTION_FAILED, f"{what}所在服务器中断了连接")
    return problem(Code.CONNECTION_FAILED, f"无法连接{what}所在服务器（{type(exc).__name__}）")
