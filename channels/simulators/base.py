"""What every platform simulator shares: fault knobs, the publish ledger, the operator log.

A simulator is a Flask app speaking one platform's API. `Simulator.inject()` is called at the
top of each platform endpoint: it applies latency, hangs (timeout) or cuts the connection
(reset) by itself, and returns the remaining fault kinds for the simulator to answer in the
platform's own error format. `Ledger` counts how many times each article was really published:
the ground truth for duplicate checks in tests and benchmarks.

Every published article has a public page on loopback, rendered through its platform's
template, with faults of its own (`live.py`): `serve_page` and `serve_image` answer through
them. URLs made outside a request (timers, lazy adoption) start from `public_root`, which
`SimulatorServer` sets; inside a request the request's own host is the fallback. A simulator
with `cms_columns` also serves the back-end form of assisted mode (`cms.py`).

Admin endpoints under each simulator's prefix:
    GET  /_sim/faults   current knobs            PUT /_sim/faults   change some knobs (JSON)
    GET  /_sim/ledger   publish counts, dups     POST /_sim/reset   forget everything
    GET  /_sim/received the last requests (operator view)
    GET  /_sim/pages    the live pages           PUT /_sim/pages    {"url": ..., knob: value}
"""

from __future__ import annotations

import contextlib
import enum
import random
import socket
import struct
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from datetime import UTC, datetime
from typing import Any, ClassVar

from flask import Blueprint, Flask, Response, has_request_context, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from channels.simulators.cms import CmsPost, cms_blueprint
from channels.simulators.live import KnobInvalid, LivePage, LivePages, PageUnknown


class FaultKind(enum.StrEnum):
    SERVER_ERROR = "5xx"
    TIMEOUT = "timeout"  # hang for `hang_s` before answering
    RESET = "reset"  # cut the connection without answering
    RATE_LIMIT = "rate_limit"  # platform's rate-limit answer with retry-after
    TOKEN_EXPIRED = "token_expired"
    CONTENT_REJECTED = "content_rejected"


class FaultConfig(BaseModel):
    """Fault knobs; each rate is the chance (0..1) that one request gets that fault."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    rates: dict[FaultKind, float] = Field(default_factory=dict)
    latency_ms: float = Field(default=0.0, ge=0)
    hang_s: float = Field(default=30.0, ge=0)
    retry_after_s: int = Field(default=2, ge=0)
    confirm_delay_s: float = Field(default=0.0, ge=0)  # async result (callback / adoption) delay
    drop_reply_rate: float = Field(default=0.0, ge=0, le=1)  # act on the request, then cut
    seed: int | None = None

    @field_validator("rates")
    @classmethod
    def _rates_are_chances(cls, rates: dict[FaultKind, float]) -> dict[FaultKind, float]:
        if any(not 0 <= rate <= 1 for rate in rates.values()):
            raise ValueError("每种故障的概率须在 0 到 1 之间")
        if sum(rates.values()) > 1:
            raise ValueError("各种故障的概率之和不能超过 1")
        return rates


class Faults:
    """Thread-safe fault decisions for one simulator."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._config = config or FaultConfig()
        self._rng = random.Random(self._config.seed)

    @property
    def config(self) -> FaultConfig:
        return self._config

    def update(self, changes: dict[str, Any]) -> FaultConfig:
        """Apply a partial change; raises pydantic.ValidationError on a bad value."""
        with self._lock:
            merged = self._config.model_dump() | changes
            self._config = FaultConfig.model_validate(merged)
            if "seed" in changes:
                self._rng = random.Random(self._config.seed)
            return self._config

    def draw(self) -> FaultKind | None:
        with self._lock:
            roll = self._rng.random()
            for kind, rate in self._config.rates.items():
                if roll < rate:
                    return kind
                roll -= rate
            return None

    def drop_reply(self) -> bool:
        with self._lock:
            rate = self._config.drop_reply_rate
            return rate > 0 and self._rng.random() < rate


class Ledger:
    """How many times each article key was actually published on this platform."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def published(self, key: str) -> int:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]

    def count(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.snapshot().items() if n > 1}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def cut_connection() -> None:
    """Close the client's socket with a reset; the client sees the connection die."""
    sock = request.environ.get("werkzeug.socket")
    if sock is None:  # not under werkzeug's server (e.g. Flask test client)
        raise ConnectionAbortedError("connection cut by simulator")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # werkzeug's reader and writer hold the descriptor open: shut it down, then close.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


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
        """Put faults on the live page at `url` (see `live.py`); raises `KnobInvalid`,
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
        app.register_blueprint(self._admin())
        if self.cms_columns:
            app.register_blueprint(cms_blueprint(self))
        self.routes(app)
        return app

    def _admin(self) -> Blueprint:
        admin = Blueprint("sim_admin", __name__, url_prefix="/_sim")

        @admin.get("/faults")
        def get_faults() -> ResponseReturnValue:
            return jsonify(self.faults.config.model_dump(mode="json"))

        @admin.put("/faults")
        def put_faults() -> ResponseReturnValue:
            try:
                config = self.faults.update(request.get_json(force=True) or {})
            except (ValidationError, TypeError) as exc:
                return jsonify({"error": "bad_fault_config", "message": str(exc)}), 400
            return jsonify(config.model_dump(mode="json"))

        @admin.get("/ledger")
        def get_ledger() -> ResponseReturnValue:
            return jsonify(
                {"counts": self.ledger.snapshot(), "duplicates": self.ledger.duplicates()}
            )

        @admin.get("/received")
        def get_received() -> ResponseReturnValue:
            return jsonify(list(self.received))

        @admin.post("/reset")
        def post_reset() -> ResponseReturnValue:
            self.reset()
            return jsonify({"ok": True})

        @admin.get("/pages")
        def get_pages() -> ResponseReturnValue:
            return jsonify(self.live_pages())

        @admin.put("/pages")
        def put_pages() -> ResponseReturnValue:
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or not isinstance(body.get("url"), str):
                message = "请求体须为 JSON 对象，并以 url 指明页面的完整地址"
                return jsonify({"error": "bad_page_knob", "message": message}), 400
            knobs = {k: v for k, v in body.items() if k != "url"}
            try:
                return jsonify(self.alter_page(body["url"], **knobs))
            except KnobInvalid as exc:
                return jsonify({"error": "bad_page_knob", "message": exc.message}), 400
            except PageUnknown as exc:
                return jsonify({"error": "page_unknown", "message": exc.message}), 404

        return admin
