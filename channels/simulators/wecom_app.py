"""企业微信 (WeCom) application messages on loopback: a 自建应用's token and message/send.

    GET  /cgi-bin/gettoken?corpid=ID&corpsecret=SECRET   {"access_token", "expires_in": 7200}
    POST /cgi-bin/message/send?access_token=TOKEN        text, textcard or markdown to touser

As documented (gettoken https://developer.work.weixin.qq.com/document/path/91039, message/send
/90236, global codes /90313): gettoken answers 40013 for a wrong corpid and 40001 for a wrong
secret, and the same token again while it is valid. message/send answers 41001 without a
token, 40014 for an unknown one, 42001 for an expired one, 40056 for a wrong agentid, 40008
for another msgtype, 44004 for empty text, 45002 for text over 2,048 bytes, 41016/41010 for a
card without title/url. A card's title over 128 bytes and description over 512 bytes are cut
by the platform (the doc: "超过会自动截断"), here byte-wise as a careless server would: a
character split at the cut comes out as U+FFFD, and the delivery is marked `truncated`.
Recipients match case-insensitively; unknown ones come back lowercased in `invaliduser` (errcode
0 while one is valid, 81013 when none is). `enable_duplicate_check`: the same request body
within `duplicate_check_interval` seconds (default 1,800) is answered again but not delivered.

Every delivery is stored per recipient (`inbox`) and in the shared operator log, so the shared
`GET /_sim/received` lists them, one entry per recipient. Admin, besides the shared /_sim ones:
    POST /_sim/fault          {"times": n, "errcode": X} | {"times": n, "status": Y}, optionally
                              "target": "send" (default) or "gettoken", "hang_s": s (answer
                              late), "drop_reply": true (deliver, then cut the connection)
    POST /_sim/expire_tokens  every token issued so far expires now
    GET  /_sim/users          the known userids (null: any well-formed userid is accepted)
    POST /_sim/users          {"users": ["zhangsan", ...]} or {"users": null}
    GET  /_sim/state          calls per API, tokens issued, inbox per user

Alone in a test: `with WeComAppServer() as wecom: ...` (127.0.0.1, a free port); in the
all-in-one simulator server it is mounted at `/wecom-app` (`SimulatorServer.wecom_app`).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from channels.simulators.base import FaultConfig, FaultKind, Simulator, cut_connection

MOUNT = "/wecom-app"  # where SimulatorServer serves it
TITLE_MAX_BYTES = 128
DESCRIPTION_MAX_BYTES = 512
BUTTON_MAX_CHARS = 4
TEXT_MAX_BYTES = 2048
MAX_RECIPIENTS = 1000
DUPLICATE_CHECK_DEFAULT_S = 1800
DUPLICATE_CHECK_MAX_S = 4 * 3600
USERID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")

# Every errcode this simulator answers with, and what the platform means by it.
ERRCODES: dict[int, str] = {
    -1: "system busy",
    40001: "invalid credential (corpsecret)",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40032: "invalid userid list size",
    40056: "invalid agentid",
    40058: "invalid parameter",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41010: "url missing",
    41011: "agentid missing",
    41016: "title missing",
    42001: "access_token expired",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "api freq out of limit",
    81013: "user & party & tag all invalid",
    82001: "user & party & tag all empty",
}
TARGETS = frozenset({"send", "gettoken"})


def _error(code: int, **extra: Any) -> Response:
    hint = secrets.token_hex(12)
    more = f"https://open.work.weixin.qq.com/devtool/query?e={code}"
    message = (
        f"{ERRCODES[code]}, hint: [{hint}], from ip: {request.remote_addr}, more info at {more}"
    )
    return jsonify({"errcode": code, "errmsg": message, **extra})


def _cut_bytes(text: str, limit: int) -> tuple[str, bool]:
    data = text.encode()
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", "replace"), True


def _split(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split("|") if part.strip()]


@dataclass
class Fault:
    """The next `times` calls to `target` fail this way (errcode first, then HTTP status)."""

    times: int
    target: str = "send"
    errcode: int | None = None
    status: int | None = None
    hang_s: float = 0.0
    drop_reply: bool = False


class WeComAppSimulator(Simulator):
    """One 企业微信 corp with one 自建应用; not a channel, so not in the channel registry."""

    name: ClassVar[str] = "wecom_app"
    display_name: ClassVar[str] = "企业微信应用消息"

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
        self.calls: Counter[str] = Counter()
        self.users: frozenset[str] | None = self._initial_users  # None: any well-formed id
        self.inbox: dict[str, deque[dict[str, Any]]] = {}
        self._tokens: dict[str, float] = {}  # token -> expires_at
        self._current = ""
        self._faults: list[Fault] = []
        self._answered: dict[str, tuple[float, dict[str, Any]]] = {}  # body digest -> answer

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

    def expire_tokens(self) -> None:
        with self._lock:
            now = time.time()
            self._tokens = {token: min(at, now) for token, at in self._tokens.items()}

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

    def snapshot(self) -> dict[str, Any]:
        return super().snapshot() | {"calls": dict(self.calls)}

    # --- routes -----------------------------------------------------------------------------

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

        @app.post("/_sim/expire_tokens")
        def post_expire_tokens() -> ResponseReturnValue:
            self.expire_tokens()
            return jsonify({"ok": True})

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

        @app.get("/_sim/state")
        def get_state() -> ResponseReturnValue:
            return jsonify(self.state())

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
        def view() -> ResponseReturnValue:
            kind = self.inject()
            with self._lock:
                self.calls[target] += 1
            if kind is FaultKind.RESET:
                return "", 500  # nobody is listening any more
            fault = self._take_fault(target)
            if fault is not None and fault.hang_s:
                time.sleep(fault.hang_s)
            if fault is not None and fault.errcode is not None:
                return _error(fault.errcode)
            if fault is not None and fault.status is not None:
                page = f"<html><body><h1>{fault.status}</h1>模拟故障</body></html>"
                return Response(page, fault.status, mimetype="text/html")
            answer = self._random_fault(target, kind)
            if answer is None:
                answer = handler()
            if (fault is not None and fault.drop_reply) or self.faults.drop_reply():
                cut_connection()
                return "", 500
            return answer

        view.__name__ = f"wecom_{target}"
        return view

    def _random_fault(self, target: str, kind: FaultKind | None) -> Response | None:
        if kind is FaultKind.SERVER_ERROR:
            return _error(-1)
        if kind is FaultKind.RATE_LIMIT:
            return _error(45009)
        if kind is FaultKind.TOKEN_EXPIRED and target == "send":
            return _error(42001)
        if kind is FaultKind.CONTENT_REJECTED and target == "send":
            return _error(45002)
        return None

    def _gettoken(self) -> Response:
        corp_id = request.args.get("corpid", "")
        secret = request.args.get("corpsecret", "")
        if not corp_id:
            return _error(41002)
        if not secret:
            return _error(41004)
        if corp_id != self.corp_id:
            return _error(40013)
        if secret != self.secret:
            return _error(40001)
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

    def _token_error(self) -> Response | None:
        token = request.args.get("access_token", "")
        if not token:
            return _error(41001)
        with self._lock:
            expires_at = self._tokens.get(token)
        if expires_at is None:
            return _error(40014)
        return _error(42001) if expires_at <= time.time() else None

    def _send(self) -> Response:
        refusal = self._token_error()
        if refusal is not None:
            return refusal
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return _error(40058)
        if body.get("agentid") in (None, ""):
            return _error(41011)
        if str(body["agentid"]) != str(self.agent_id):
            return _error(40056)
        content = _content(body)
        if isinstance(content, int):
            return _error(content)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        earlier = self._duplicate(body, digest)
        if earlier is not None:
            return jsonify(earlier)
        answer = self._deliver(body, content)
        if answer["errcode"] != 0:
            return _error(answer["errcode"], **{k: v for k, v in answer.items() if k != "errcode"})
        if body.get("enable_duplicate_check") in (1, "1", True):
            with self._lock:
                self._answered[digest] = (time.time(), answer)
        return jsonify(answer)

    def _duplicate(self, body: dict[str, Any], digest: str) -> dict[str, Any] | None:
        if body.get("enable_duplicate_check") not in (1, "1", True):
            return None
        interval = body.get("duplicate_check_interval") or DUPLICATE_CHECK_DEFAULT_S
        interval = min(max(int(interval), 0), DUPLICATE_CHECK_MAX_S)
        with self._lock:
            at, answer = self._answered.get(digest, (0.0, None))
        return answer if answer is not None and time.time() - at < interval else None

    def _deliver(self, body: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        named = _split(body.get("touser"))
        parties, tags = _split(body.get("toparty")), _split(body.get("totag"))
        if not (named or parties or tags):
            return {"errcode": 82001}
        if len(named) > MAX_RECIPIENTS:
            return {"errcode": 40032}
        valid, invalid = self._recipients(named)
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid)}
        if parties:  # the simulated corp has no departments or tags
            answer["invalidparty"] = "|".join(parties)
        if tags:
            answer["invalidtag"] = "|".join(tags)
        if not valid:
            del answer["errmsg"]
            return answer | {"errcode": 81013}
        answer["msgid"] = secrets.token_urlsafe(24)
        at = datetime.now(UTC).isoformat()
        msgtype = str(body["msgtype"])
        fingerprint = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        with self._lock:
            for userid in valid:
                delivery = {
                    "at": at,
                    "operation": "message/send",
                    "userid": userid,
                    "msgid": answer["msgid"],
                    "agentid": body["agentid"],
                    "msgtype": msgtype,
                    **content,
                }
                self.inbox.setdefault(userid, deque(maxlen=500)).append(delivery)
                self.received.append(delivery)
                self.ledger.published(f"{userid}|{fingerprint[:16]}")
        return answer

    def _recipients(self, named: list[str]) -> tuple[list[str], list[str]]:
        """(valid, invalid) userids, lowercased as the platform answers them."""
        with self._lock:
            known = self.users
        if named == ["@all"]:
            return (sorted(known) if known is not None else ["@all"]), []
        valid: list[str] = []
        invalid: list[str] = []
        for userid in dict.fromkeys(u.lower() for u in named):
            ok = USERID.fullmatch(userid) and (known is None or userid in known)
            (valid if ok else invalid).append(userid)
        return valid, invalid


def _content(body: dict[str, Any]) -> dict[str, Any] | int:
    """The message part as delivered (`truncated` marks a cut), or the errcode refusing it."""
    msgtype = body.get("msgtype")
    part = body.get(msgtype) if isinstance(msgtype, str) else None
    if msgtype not in ("text", "textcard", "markdown"):
        return 40008
    if not isinstance(part, dict):
        return 40058
    if msgtype in ("text", "markdown"):
        text = str(part.get("content") or "")
        if not text:
            return 44004
        if len(text.encode()) > TEXT_MAX_BYTES:
            return 45002
        return {msgtype: {"content": text}, "truncated": False}
    title = str(part.get("title") or "")
    if not title:
        return 41016
    if not part.get("url"):
        return 41010
    if not part.get("description"):
        return 44004
    title, cut_title = _cut_bytes(title, TITLE_MAX_BYTES)
    description, cut_description = _cut_bytes(str(part["description"]), DESCRIPTION_MAX_BYTES)
    card = {
        "title": title,
        "description": description,
        "url": str(part["url"]),
        "btntxt": str(part.get("btntxt") or "详情")[:BUTTON_MAX_CHARS],
    }
    return {"textcard": card, "truncated": cut_title or cut_description}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class WeComAppServer:
    """The simulator alone on 127.0.0.1 (port 0: any free one), in a thread; a context manager.

    `url` is the API root to give the client (`WeComApp(base_url=server.url, ...)`).
    """

    def __init__(
        self, simulator: WeComAppSimulator | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.simulator = simulator or WeComAppSimulator()
        self._server: BaseWSGIServer = make_server(
            host,
            port,
            self.simulator.create_app(),
            threaded=True,
            request_handler=_QuietHandler,
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def client_settings(self) -> dict[str, Any]:
        """base_url, corp_id, secret and agent_id pointing a client at this server."""
        return self.simulator.client_settings(self.url)

    def start(self) -> WeComAppServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="wecom-app-simulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> WeComAppServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(port: int = 8902) -> None:
    """Serve the simulator alone until Ctrl-C (`python -m channels.simulators.wecom_app`)."""
    with WeComAppServer(port=port) as server:
        settings = server.client_settings()
        print(f"企业微信应用消息模拟器：{server.url}（CorpID {settings['corp_id']}，", end="")
        print(f"AgentId {settings['agent_id']}）；收到的消息：{server.url}/_sim/received")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
