"""What every platform simulator shares: fault knobs, the publish ledger, the operator log.

A simulator is a Flask app speaking one platform's API. `Simulator.inject()` is called at the
top of each platform endpoint: it applies latency, hangs (timeout) or cuts the connection
(reset) by itself, and returns the remaining fault kinds for the simulator to answer in the
platform's own error format. `Ledger` counts how many times each article was really published:
the ground truth for duplicate checks in tests and benchmarks.

Every published article has a public page on loopback, rendered through its platform's
template, with faults of its own (`live/`): `serve_page` and `serve_image` answer through
them. URLs made outside a request (timers, lazy adoption) start from `public_root`, which
`SimulatorServer` sets; inside a request the request's own host is the fallback. A simulator
with `cms_columns` also serves the back-end form of assisted mode (`cms.py`).

Every simulator also serves the admin endpoints of `admin.py` under `/_sim`. The knobs
(`faults.py`) and the ledger (`ledger.py`) are importable from here too, as they always were.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import Flask, Response, has_request_context, request

from channels.simulators.admin import admin_blueprint
from channels.simulators.cms import CmsPost, cms_blueprint
from channels.simulators.faults import FaultConfig, FaultKind, Faults, cut_connection
from channels.simulators.ledger import Ledger
from channels.simulators.live.page import LivePage
from channels.simulators.live.registry import LivePages

__all__ = ["FaultConfig", "FaultKind", "Faults", "Ledger", "Simulator", "cut_connection"]


class Simulator(ABC):
    """One platform on loopback. Subclasses register the platform's routes in `routes`."""

    name: ClassVar[str]  # same as the channel adapter's name
    display_name: ClassVar[str]
    cms_columns: ClassVar[tuple[tuple[str, str], ...]] = ()  # (code, 栏目); empty: no back-end

    def __init__(self, faults: FaultConfig | None = None) -> None:
        self.faults = Faults(faults)
        self.ledger = Ledger()
        self.received: deque[dict[str, Any]] = deque(maxlen=500)
        self.pages = LivePages()
        self.public_root = ""  # e.g. http://127.0.0.1:8900/wechat, set by SimulatorServer
        self._lock = threading.RLock()

    def public_url(self, path: str) -> str:
        """The public URL of `path` (under this simulator's mount)."""
        root = self.public_root
        if not root and has_request_context():
            root = request.host_url.rstrip("/") + request.script_root
        if not root:
            raise RuntimeError(f"模拟平台 {self.name} 不知道自己的公开地址：请设置 public_root")
        return root.rstrip("/") + path

    def request_url(self) -> str:
        """The public URL of the request being served, query included."""
        query = request.query_string.decode("latin-1")
        return self.public_url(request.path) + (f"?{query}" if query else "")

    def note(self, operation: str, **details: Any) -> None:
        """Record what the platform received, for the operator view."""
        self.received.append(
            {"at": datetime.now(UTC).isoformat(), "operation": operation, **details}
        )

    def inject(self) -> FaultKind | None:
        """Apply latency, timeout and reset faults; return the others for the platform to answer."""
        config = self.faults.config
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000)
        kind = self.faults.draw()
        if kind is FaultKind.TIMEOUT:
            time.sleep(config.hang_s)
            return None
        if kind is FaultKind.RESET:
            cut_connection()
            return FaultKind.RESET
        return kind

    def reset(self) -> None:
        """Forget everything the platform holds (articles, tokens, counters, pages)."""
        self.ledger.reset()
        self.received.clear()
        self.pages.clear()

    # --- public pages ------------------------------------------------------------------------

    def settle_pages(self) -> None:
        """Bring the page registry up to date with lazily changing state (review, adoption)."""
        return None  # platforms whose state changes lazily override this

    def serve_page(self, **_: Any) -> Response:
        """The view for an article page: the registry's answer for the requested URL."""
        self.settle_pages()
        return self.pages.respond(self.request_url())

    def serve_image(self, mime: str, data: bytes) -> Response:
        """Answer the requested image, through the faults of the page that shows it."""
        return self.pages.image_response(self.request_url(), mime, data)

    def live_pages(self) -> list[dict[str, Any]]:
        self.settle_pages()
        return self.pages.snapshot()

    def alter_page(self, url: str, **knobs: Any) -> dict[str, Any]:
        """Put faults on the live page at `url` (see `live/`); raises `KnobInvalid`,
        `PageUnknown`. E.g. `sim.alter_page(url, replace=["延时", "暂停"], hang_s=0.5)`."""
        self.settle_pages()
        return self.pages.alter(url, knobs)

    def restore_page(self, url: str) -> dict[str, Any]:
        return self.alter_page(url, restore=True)

    # --- the back-end of assisted mode (platforms with `cms_columns`) ------------------------

    def cms_store_image(self, filename: str, mime: str, data: bytes) -> str:
        """Store one image uploaded in the back-end; its public URL."""
        raise NotImplementedError(f"{self.display_name}没有内容管理后台")

    def cms_publish(self, post: CmsPost) -> LivePage:
        """Publish what the clerk entered, as the API would; its page."""
        raise NotImplementedError(f"{self.display_name}没有内容管理后台")

    def cms_take_down(self, article_id: str) -> bool:
        """Take an article down from the back-end; False if there is no such article."""
        raise NotImplementedError(f"{self.display_name}没有内容管理后台")

    @abstractmethod
    def routes(self, app: Flask) -> None:
        """Register the platform's endpoints."""

    @abstractmethod
    def client_settings(self, base_url: str) -> dict[str, Any]:
        """Settings values that point the channel adapter at this simulator (with its creds)."""

    def snapshot(self) -> dict[str, Any]:
        """The operator view of this platform."""
        return {
            "name": self.name,
            "display_name": self.display_name,
            "faults": self.faults.config.model_dump(mode="json"),
            "ledger": self.ledger.snapshot(),
            "duplicates": self.ledger.duplicates(),
            "received": list(self.received)[-50:],
            "pages": [
                {"url": p["url"], "title": p["title"], "state": p["state"], "faults": p["faults"]}
                for p in self.pages.snapshot()
            ],
            "cms": bool(self.cms_columns),
        }

    def create_app(self) -> Flask:
        app = Flask(f"sanshen-sim-{self.name}")
        app.json.ensure_ascii = False  # type: ignore[attr-defined]
        app.register_blueprint(admin_blueprint(self))
        if self.cms_columns:
            app.register_blueprint(cms_blueprint(self))
        self.routes(app)
        return app
