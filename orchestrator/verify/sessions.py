"""The sessions checks fetch with: adapters whose connections the deadline can cut (each
connection is registered with the watch of the call making it), one retry of a stale
keep-alive connection, no proxy or .netrc from the environment, one session a thread."""

from __future__ import annotations

import os
import threading
from types import TracebackType
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool, HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.response import BaseHTTPResponse
from urllib3.util import Retry

from orchestrator.verify.watch import CURRENT

USER_AGENT = "Mozilla/5.0 (compatible; sanshen-publish-verify/1.0)"


class _WatchedPoolMixin:
    def _get_conn(self, timeout: float | None = None) -> Any:
        watch = CURRENT.get()
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


def _after_fork() -> None:
    global _LOCAL
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
