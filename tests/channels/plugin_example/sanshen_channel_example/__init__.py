"""示例平台: the smallest complete third-party channel (adapter + loopback simulator).

The platform: `Authorization: Bearer <token>`; `POST /posts` {key, title, html} publishes once
per key; `GET /posts/<id>`; `GET /posts?key=K`; `POST /posts/<id>/delete`. Errors are
`{"error": code}` with the HTTP status. Registered by pyproject.toml in `sanshen.channels`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import requests
from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import SecretStr

from channels import rendering
from channels.base import (
    Capabilities,
    Channel,
    ChannelKind,
    ChannelSettings,
    Receipt,
    RemoteState,
    Status,
)
from channels.errors import (
    ChannelError,
    ConfigurationInvalid,
    ContentRejected,
    CredentialsExpired,
    OutcomeUnknown,
    Permanent,
    Problem,
    RateLimited,
    Unavailable,
)
from channels.http import call, json_body
from channels.item import Item
from channels.simulators.base import FaultKind, Simulator, cut_connection

DOCUMENTED_ERROR_CODES: Mapping[str, str] = {
    "bad_token": "令牌无效",
    "token_expired": "令牌已过期",
    "rejected": "内容被拒绝",
    "slow_down": "请求过于频繁",
    "not_found": "文章不存在",
    "busy": "平台繁忙",
}
STATES = {"published": RemoteState.PUBLISHED, "deleted": RemoteState.RETRACTED}


class ExampleSettings(ChannelSettings):
    token: SecretStr


class ExampleChannel(Channel):
    name: ClassVar[str] = "example"
    display_name: ClassVar[str] = "示例平台"
    kind: ClassVar[ChannelKind] = ChannelKind.OWN
    capabilities: ClassVar[Capabilities] = Capabilities()
    settings_model: ClassVar[type[ChannelSettings]] = ExampleSettings
    settings: ExampleSettings
    error_codes: ClassVar[Mapping[str | int, type[ChannelError]]] = {
        "bad_token": ConfigurationInvalid,
        "token_expired": CredentialsExpired,
        "rejected": ContentRejected,
        "slow_down": RateLimited,
        "not_found": Permanent,
        "busy": Unavailable,
    }
    simulator: ClassVar[str | None] = "sanshen_channel_example:ExampleSimulator"

    def __init__(self, settings: ExampleSettings) -> None:
        super().__init__(settings)
        self._session = requests.Session()

    def validate(self, item: Item) -> list[Problem]:
        return rendering.title_problems(item.title, max_chars=32) + rendering.body_problems(
            item.body_html
        )

    def publish(self, item: Item, idempotency_key: str) -> Receipt:
        if problems := self.validate(item):
            raise ContentRejected(
                "稿件不符合示例平台的要求", problems=tuple(problems), channel=self.name
            )
        html = rendering.clean_html(item.body_html)
        post = {"key": idempotency_key, "title": item.title, "html": html}
        return self._receipt(self._call("POST", "/posts", True, json=post))

    def status(self, receipt: Receipt) -> Status:
        try:
            post = self._call("GET", f"/posts/{receipt.external_id}", False)
        except Permanent as exc:
            if exc.platform_code == "not_found":
                return Status(RemoteState.NOT_FOUND)
            raise
        return Status(STATES[post["state"]], url=post["url"])

    def retract(self, receipt: Receipt, reason: str) -> Status:
        post = self._call("POST", f"/posts/{receipt.external_id}/delete", True)
        return Status(STATES[post["state"]], url=post["url"])

    def find(self, idempotency_key: str, since: datetime | None = None) -> Receipt | None:
        found = self._call("GET", "/posts", False, params={"key": idempotency_key})["items"]
        return self._receipt(found[0]) if found else None

    def _receipt(self, post: Mapping[str, Any]) -> Receipt:
        state = STATES[post["state"]]
        return Receipt(self.name, post["key"], post["id"], state, url=post["url"])

    def _call(self, method: str, path: str, changes: bool, **kw: Any) -> dict[str, Any]:
        token = self.settings.token.get_secret_value()
        response = call(
            self._session,
            method,
            self.settings.api_root + path,
            channel=self.name,
            changes_state=changes,
            timeout=self.settings.timeout,
            headers={"Authorization": f"Bearer {token}"},
            **kw,
        )
        body = json_body(response, channel=self.name, changes_state=changes)
        if not isinstance(body, dict):
            kind = OutcomeUnknown if changes else Unavailable
            raise kind("示例平台的答复无法识别", channel=self.name)
        if response.status_code < 400:
            return body
        code = str(body.get("error"))
        cls = self.error_codes.get(code, Permanent)
        if cls is RateLimited:
            wait = float(response.headers.get("Retry-After", "60"))
            raise RateLimited(retry_after=wait, platform_code=code, channel=self.name)
        raise cls(DOCUMENTED_ERROR_CODES.get(code), platform_code=code, channel=self.name)


class ExampleSimulator(Simulator):
    name: ClassVar[str] = "example"
    display_name: ClassVar[str] = "示例平台"
    token = "example-sim-token"

    def __init__(self, faults: Any = None) -> None:
        super().__init__(faults)
        self.posts: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def client_settings(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "token": self.token}

    def reset(self) -> None:
        super().reset()
        self.posts.clear()

    def routes(self, app: Flask) -> None:
        app.before_request(self._guard)
        app.post("/posts")(self._publish)
        app.get("/posts")(self._find)
        app.get("/posts/<post_id>")(self._get)
        app.post("/posts/<post_id>/delete")(self._delete)

    def _guard(self) -> ResponseReturnValue | None:
        if request.path.startswith("/_sim"):
            return None
        fault = self.inject()
        answers = {
            FaultKind.SERVER_ERROR: ("busy", 503),
            FaultKind.RATE_LIMIT: ("slow_down", 429),
            FaultKind.TOKEN_EXPIRED: ("token_expired", 401),
            FaultKind.CONTENT_REJECTED: ("rejected", 422),
        }
        if fault is FaultKind.RESET:
            return Response(status=204)
        if fault is not None:
            code, status = answers[fault]
            headers = {"Retry-After": str(self.faults.config.retry_after_s)}
            return jsonify({"error": code}), status, headers
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return jsonify({"error": "bad_token"}), 401
        return None

    def _publish(self) -> ResponseReturnValue:
        body = request.get_json()
        with self._lock:
            post = next((p for p in self.posts.values() if p["key"] == body["key"]), None)
            if post is None:
                post_id = str(next(self._ids))
                url = f"{request.host_url}{request.script_root.lstrip('/')}/p/{post_id}"
                post = {"id": post_id, "key": body["key"], "state": "published", "url": url}
                self.posts[post_id] = post
                self.ledger.published(body["key"])
            self.note("publish", key=body["key"], title=body["title"])
        if self.faults.drop_reply():
            cut_connection()
            return Response(status=204)
        return jsonify(post)

    def _find(self) -> ResponseReturnValue:
        key = request.args.get("key")
        return jsonify({"items": [p for p in self.posts.values() if p["key"] == key]})

    def _get(self, post_id: str) -> ResponseReturnValue:
        post = self.posts.get(post_id)
        return jsonify(post) if post else (jsonify({"error": "not_found"}), 404)

    def _delete(self, post_id: str) -> ResponseReturnValue:
        with self._lock:
            if post_id not in self.posts:
                return jsonify({"error": "not_found"}), 404
            self.posts[post_id]["state"] = "deleted"
            return jsonify(self.posts[post_id])
