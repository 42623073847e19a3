"""A loopback server in a background thread, as tests, benches and `sanshen simulate` run them.

`BackgroundServer` starts any socketserver-style server (werkzeug's or `http.server`'s) in a
daemon thread and stops it again; it is a context manager. `QuietRequests` is werkzeug's
request handler without its log line per request.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import ClassVar, Generic, Protocol, Self, TypeVar

from werkzeug.serving import WSGIRequestHandler


class Serving(Protocol):
    def serve_forever(self) -> None: ...

    def shutdown(self) -> None: ...

    def server_close(self) -> None: ...


S = TypeVar("S", bound=Serving)


class BackgroundServer(Generic[S]):
    """`_server` served by a daemon thread between `start` and `stop`."""

    thread_name: ClassVar[str]

    def __init__(self, server: S) -> None:
        self._server = server
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name=self.thread_name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class QuietRequests(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass
