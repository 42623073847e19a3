"""A loopback receiver for the alert webhooks: a 企业微信 group robot and a generic JSON hook.

    POST /wecom/send?key=K   the robot: {"msgtype": "markdown"|"text", ...} -> {"errcode": 0}
    POST /hook               any JSON object -> 200 {"ok": true}
    GET  /_received          what arrived, as JSON

`python -m channels.simulators.webhook --port 8901` runs it alone and prints what arrives.

Faults are set from Python (`fail`): the next n requests to a target answer with an HTTP status,
or, for the robot, with HTTP 200 and an errcode (the robot's way of refusing). Robot reference:
https://developer.work.weixin.qq.com/document/path/91770
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.simulators.background import BackgroundServer

WECOM_KEY = "sim-robot-key"
WECOM_MAX_BYTES = 4096
ERRCODE_BAD_KEY = 93000  # invalid webhook url
ERRCODE_BAD_TYPE = 40008  # invalid message type
ERRCODE_TOO_LONG = 40058  # content exceeds the limit


@dataclass
class Fault:
    times: int
    status: int = 500
    errcode: int | None = None


@dataclass
class _State:
    received: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, Fault] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, target: str) -> Fault | None:
        with self.lock:
            fault = self.faults.get(target)
            if fault is None or fault.times <= 0:
                return None
            fault.times -= 1
            return fault


def _wecom_errcode(query: dict[str, list[str]], body: Any) -> int:
    if query.get("key") != [WECOM_KEY]:
        return ERRCODE_BAD_KEY
    if not isinstance(body, dict) or body.get("msgtype") not in ("markdown", "text"):
        return ERRCODE_BAD_TYPE
    part = body.get(body["msgtype"])
    content = part.get("content") if isinstance(part, dict) else None
    if not isinstance(content, str) or not content:
        return ERRCODE_BAD_TYPE
    return ERRCODE_TOO_LONG if len(content.encode()) > WECOM_MAX_BYTES else 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/_received":
            return self._reply(404, {"error": "not found"})
        with self.server.state.lock:
            self._reply(200, list(self.server.state.received))

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        target = {"/wecom/send": "wecom", "/hook": "webhook"}.get(url.path)
        if target is None:
            return self._reply(404, {"error": "not found"})
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            return self._reply(400, {"error": "body is not JSON"})
        state = self.server.state
        fault = state.take_fault(target)
        if fault is not None and fault.errcode is None:
            return self._reply(fault.status, {"error": "injected fault"})
        if target == "wecom":
            code = fault.errcode if fault is not None and fault.errcode else 0
            code = code or _wecom_errcode(parse_qs(url.query), body)
            if code == 0:
                with state.lock:
                    state.received.append({"target": target, "body": body})
            return self._reply(200, {"errcode": code, "errmsg": "ok" if code == 0 else "refused"})
        with state.lock:
            state.received.append({"target": target, "body": body})
        return self._reply(200, {"ok": True})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class WebhookReceiver(BackgroundServer[_Server]):
    """The receiver on 127.0.0.1 (port 0: any free one), in a thread; a context manager."""

    thread_name = "webhook-receiver"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(_Server((host, port), _Handler))
        self._server.state = _State()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def wecom_url(self) -> str:
        return f"{self.url}/wecom/send?key={WECOM_KEY}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/hook"

    def received(self, target: str | None = None) -> list[dict[str, Any]]:
        """The bodies accepted so far (refused ones are not kept), oldest first."""
        state = self._server.state
        with state.lock:
            return [r["body"] for r in state.received if target in (None, r["target"])]

    def fail(
        self, target: str, times: int, *, status: int = 500, errcode: int | None = None
    ) -> None:
        """The next `times` requests to `target` ("wecom" or "webhook") fail."""
        with self._server.state.lock:
            self._server.state.faults[target] = Fault(times, status, errcode)

    def reset(self) -> None:
        state = self._server.state
        with state.lock:
            state.received.clear()
            state.faults.clear()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="告警 Webhook 接收端（仅限本机回环）")
    parser.add_argument("--port", type=int, default=8901)
    args = parser.parse_args(argv)
    with WebhookReceiver(port=args.port) as receiver:
        print(f"企业微信机器人：{receiver.wecom_url}\n通用 Webhook：{receiver.webhook_url}")
        shown = 0
        try:
            while True:
                time.sleep(0.5)
                arrived = receiver.received()
                for body in arrived[shown:]:
                    print(json.dumps(body, ensure_ascii=False), flush=True)
                shown = len(arrived)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
