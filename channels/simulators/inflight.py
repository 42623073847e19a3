"""Which requests the simulator server is serving now, so tests can wait for hung handlers.

`InFlight` wraps the server's WSGI app and counts each request from the app's call until its
handler thread (`InFlightHandler`) is done with it; a busy request can be reported with the
stack of its thread, so a hang explains itself.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import traceback
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from werkzeug.serving import WSGIRequestHandler

from channels.simulators.background import QuietRequests

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class _ShutdownOnClose:
    """`cut_connection` closes werkzeug's socket, but the handler's file objects keep the
    descriptor open and the reply would still go out; shutting the socket down really cuts it."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class InFlight:
    """Tracks the requests being served, so tests can wait for hung handlers to finish.

    A request counts from the app's call until its handler thread is done with it (see
    `InFlightHandler`), not until its response is closed: werkzeug drains an unread request body
    before it calls close(), and skips close() when that drain fails on a reset connection.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app
        self._active: dict[int, str] = {}  # handler thread -> "POST /path since 12:00:00"
        self._abandoned: set[int] = set()
        self._idle = threading.Condition()
        self.served = 0  # every request since start (benches compare call counts)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if "werkzeug.socket" in environ:
            environ["werkzeug.socket"] = _ShutdownOnClose(environ["werkzeug.socket"])
        path = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"
        label = f"{environ.get('REQUEST_METHOD')} {path} since {datetime.now():%H:%M:%S}"
        with self._idle:
            self._active[threading.get_ident()] = label
            self.served += 1
        return self._app(environ, start_response)

    def finished(self) -> None:
        """The calling handler thread is done with its request, however that ended."""
        thread = threading.get_ident()
        with self._idle:
            self._active.pop(thread, None)
            self._abandoned.discard(thread)
            self._idle.notify_all()

    def _busy(self) -> dict[int, str]:
        with self._idle:
            return {t: label for t, label in self._active.items() if t not in self._abandoned}

    def busy(self) -> list[str]:
        return list(self._busy().values())

    def report(self) -> str:
        """Each busy request with where its handler thread is now, so a hang explains itself."""
        frames = sys._current_frames()
        parts = []
        for thread, label in self._busy().items():
            frame = frames.get(thread)
            where = "".join(traceback.format_stack(frame)) if frame else "  （线程已结束）\n"
            parts.append(f"{label}，处理线程 {thread}：\n{where}")
        return "\n".join(parts) or "没有未结束的请求"

    def abandon(self) -> None:
        """Stop waiting for the requests running now (they still finish in their own time)."""
        with self._idle:
            self._abandoned |= self._active.keys()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: not self._active.keys() - self._abandoned, timeout)


class InFlightHandler(WSGIRequestHandler):
    """Tells `InFlight` when this thread is done with a request, whatever werkzeug skipped."""

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            if isinstance(self.server.app, InFlight):
                self.server.app.finished()


class QuietInFlightHandler(QuietRequests, InFlightHandler):
    """`InFlightHandler` without werkzeug's log line per request."""
