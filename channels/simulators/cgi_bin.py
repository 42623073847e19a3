"""What the two Tencent platforms (微信公众号, 企业微信) share on loopback: `/cgi-bin` calls
counted per API, access tokens that expire, and the admin endpoints over both.

    POST /_sim/expire_tokens   every token issued so far expires now
    GET  /_sim/state           calls per API and what the platform holds (`state()`)
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from channels.simulators.base import Simulator
from channels.simulators.faults import FaultKind


class TokenApiSimulator(Simulator):
    """A platform whose API calls carry an access token, each call counted by its API name."""

    view_prefix: ClassVar[str]  # names the Flask views, e.g. "wechat" -> wechat_draft_add

    calls: Counter[str]
    _tokens: dict[str, float]  # token -> expires_at

    def _clear_tokens(self) -> None:
        self.calls = Counter()
        self._tokens = {}

    def expire_tokens(self) -> None:
        with self._lock:
            now = time.time()
            self._tokens = {token: min(at, now) for token, at in self._tokens.items()}

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """What `GET /_sim/state` shows."""

    def snapshot(self) -> dict[str, Any]:
        return super().snapshot() | {"calls": dict(self.calls)}

    def counted_view(
        self, api: str, answer: Callable[[FaultKind | None], ResponseReturnValue]
    ) -> Callable[[], ResponseReturnValue]:
        """The view of one API: faults drawn, the call counted, then `answer(fault drawn)`."""

        def view() -> ResponseReturnValue:
            kind = self.inject()
            with self._lock:
                self.calls[api] += 1
            if kind is FaultKind.RESET:
                return "", 500  # nobody is listening any more
            return answer(kind)

        view.__name__ = f"{self.view_prefix}_{api.replace('/', '_')}"
        return view

    def token_admin_routes(self, app: Flask) -> None:
        @app.post("/_sim/expire_tokens")
        def expire_tokens() -> ResponseReturnValue:
            self.expire_tokens()
            return jsonify({"ok": True})

        @app.get("/_sim/state")
        def get_state() -> ResponseReturnValue:
            return jsonify(self.state())
