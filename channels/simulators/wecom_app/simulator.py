"""The 企业微信 simulator: one corp with one 自建应用, its token endpoint, its test knobs.

The faults a test sets (`fail`, `POST /_sim/fault`) come before the random fault knobs of the
shared base; message/send itself is `delivery.py`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from channels.simulators.faults import FaultConfig, FaultKind, cut_connection
from channels.simulators.wecom_app.delivery import MessageDelivery
from channels.simulators.wecom_app.messages import ERRCODES, TARGETS, error

MOUNT = "/wecom-app"  # where SimulatorServer serves it


@dataclass
class Fault:
    """The next `times` calls to `target` fail this way (errcode first, then HTTP status)."""

    times: int
    target: str = "send"
    errcode: int | None = None
    status: int | None = None
    hang_s: float = 0.0
    drop_reply: bool = False


class WeComAppSimulator(MessageDelivery):
    """One 企业微信 corp with one 自建应用; not a channel, so not in the channel registry."""

    name: ClassVar[str] = "wecom_app"
    display_name: ClassVar[str] = "企业微信应用消息"
    view_prefix: ClassVar[str] = "wecom"

    corp_id: ClassVar[str] = "wwsim5a1b2c3d4e5f6a7b"
    secret: ClassVar[str] = "sim-wecom-app-secret-0123456789abcdefghijklmn"
    agent_id: ClassVar[int] = 1000002

    def __init__(
        self,
        faults: FaultConfig | None = None,
        *,
        users: Iterable[str] | None = None,
        token_ttl_s: int = 7200,
    ) -> None:
        super().__init__(faults)
        self.token_ttl_s = token_ttl_s
        self._initial_users = None if users is None else frozenset(u.lower() for u in users)
        self._clear()

    def _clear(self) -> None:
        self._clear_tokens()
        self.users = self._initial_users
        self.inbox = {}
        self._current = ""
        self._faults: list[Fault] = []
        self._answered = {}

    def reset(self) -> None:
        with self._lock:
            self._clear()
        super().reset()

    def client_settings(self, base_url: str) -> dict[str, Any]:
        return {
            "base_url": base_url,
            "corp_id": self.corp_id,
            "secret": self.secret,
            "agent_id": self.agent_id,
        }

    # --- what tests and the admin endpoints change ------------------------------------------

    def fail(self, times: int = 1, **how: Any) -> None:
        """The next `times` calls fail: `errcode=45009`, `status=500`, `hang_s=2`, ..."""
        fault = Fault(times=times, **how)
        if not (isinstance(fault.times, int) and fault.times >= 0):
            raise ValueError("times 须为非负整数")
        if not (isinstance(fault.hang_s, int | float) and fault.hang_s >= 0):
            raise ValueError("hang_s 须为非负秒数")
        if fault.status is not None and not (
            isinstance(fault.status, int) and 100 <= fault.status < 600
        ):
            raise ValueError("status 须为 HTTP 状态码")
        if fault.target not in TARGETS:
            raise ValueError(f"target 须为 {'、'.join(sorted(TARGETS))} 之一")
        if fault.errcode is not None and fault.errcode not in ERRCODES:
            raise ValueError(f"模拟器不认识 errcode {fault.errcode}")
        with self._lock:
            self._faults.append(fault)

    def set_users(self, users: Iterable[str] | None) -> None:
        with self._lock:
            self.users = None if users is None else frozenset(u.lower() for u in users)

    def messages(self, userid: str | None = None) -> list[dict[str, Any]]:
        """What was delivered (to `userid`, or to anyone), oldest first."""
        with self._lock:
            if userid is not None:
                return list(self.inbox.get(userid.lower(), ()))
            return [m for m in self.received if m.get("operation") == "message/send"]

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(self.calls),
                "tokens_issued": len(self._tokens),
                "users": None if self.users is None else sorted(self.users),
                "inbox": {user: list(box) for user, box in self.inbox.items()},
                "faults": [vars(f) for f in self._faults],
            }

    def routes(self, app: Flask) -> None:
        app.add_url_rule("/cgi-bin/gettoken", "gettoken", self._guard("gettoken", self._gettoken))
        send = self._guard("send", self._send)
        app.add_url_rule("/cgi-bin/message/send", "message_send", send, methods=["POST"])
        self._admin_routes(app)

    def _admin_routes(self, app: Flask) -> None:
        @app.post("/_sim/fault")
        def post_fault() -> ResponseReturnValue:
            body = request.get_json(silent=True)
            try:
                if not isinstance(body, dict):
                    raise TypeError("请求体须为 JSON 对象")
                self.fail(**body)
            except (TypeError, ValueError) as exc:
                return jsonify({"error": "bad_fault", "message": str(exc)}), 400
            return jsonify({"faults": self.state()["faults"]})

        @app.get("/_sim/users")
        def get_users() -> ResponseReturnValue:
            return jsonify({"users": self.state()["users"]})

        @app.post("/_sim/users")
        def post_users() -> ResponseReturnValue:
            body = request.get_json(silent=True)
            users = body.get("users", ()) if isinstance(body, dict) else ()
            if users is not None and not (
                isinstance(users, list) and all(isinstance(u, str) for u in users)
            ):
                message = '请求体须为 {"users": [userid, ...]} 或 {"users": null}'
                return jsonify({"error": "bad_users", "message": message}), 400
            self.set_users(users)
            return jsonify({"users": self.state()["users"]})

        self.token_admin_routes(app)

    # --- faults, then the API ---------------------------------------------------------------

    def _take_fault(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.target == target and fault.times > 0:
                    fault.times -= 1
                    return fault
            return None

    def _guard(
        self, target: str, handler: Callable[[], Response]
    ) -> Callable[[], ResponseReturnValue]:
        def answer(kind: FaultKind | None) -> ResponseReturnValue:
            fault = self._take_fault(target)
            if fault is not None and fault.hang_s:
                time.sleep(fault.hang_s)
            if fault is not None and fault.errcode is not None:
                return error(fault.errcode)
            if fault is not None and fault.status is not None:
                page = f"<html><body><h1>{fault.status}</h1>模拟故障</body></html>"
                return Response(page, fault.status, mimetype="text/html")
            answered = self._random_fault(target, kind)
            if answered is None:
                answered = handler()
            if (fault is not None and fault.drop_reply) or self.faults.drop_reply():
                cut_connection()
                return "", 500
            return answered

        return self.counted_view(target, answer)

    def _random_fault(self, target: str, kind: FaultKind | None) -> Response | None:
        if kind is FaultKind.SERVER_ERROR:
            return error(-1)
        if kind is FaultKind.RATE_LIMIT:
            return error(45009)
        if kind is FaultKind.TOKEN_EXPIRED and target == "send":
            return error(42001)
        if kind is FaultKind.CONTENT_REJECTED and target == "send":
            return error(45002)
        return None

    def _gettoken(self) -> Response:
        corp_id = request.args.get("corpid", "")
        secret = request.args.get("corpsecret", "")
        if not corp_id:
            return error(41002)
        if not secret:
            return error(41004)
        if corp_id != self.corp_id:
            return error(40013)
        if secret != self.secret:
            return error(40001)
        with self._lock:
            now = time.time()
            expires_at = self._tokens.get(self._current, 0.0)
            if expires_at <= now:  # a valid token is handed out again, as the doc says
                self._current = "simwecom_" + secrets.token_urlsafe(48)
                expires_at = self._tokens[self._current] = now + self.token_ttl_s
            token, expires_in = self._current, int(expires_at - now)
        return jsonify(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": expires_in}
        )
