"""The checks every 微信公众号 API call goes through (faults, token, daily quota), and the
token endpoints that hand tokens out."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue

from channels.simulators.cgi_bin import TokenApiSimulator
from channels.simulators.faults import FaultKind
from channels.simulators.pages import LOCAL_TZ
from channels.simulators.wechat.protocol import (
    CONTENT_APIS,
    Job,
    PublishedArticle,
    WeChatSimConfig,
    error,
    new_id,
)


class WeChatCalls(TokenApiSimulator):
    """The state every part of the 微信公众号 simulator shares, and the checks before each call."""

    view_prefix: ClassVar[str] = "wechat"
    app_id: ClassVar[str]
    app_secret: ClassVar[str]
    callback_token: ClassVar[str]
    account: ClassVar[str]

    config: WeChatSimConfig
    callback_url: str
    _daily: Counter[tuple[str, str]]
    _stable: str
    _materials: dict[str, bytes]  # thumb media_id -> JPEG
    _images: dict[str, tuple[str, bytes]]  # image id -> (mime, data)
    drafts: dict[str, dict[str, Any]]  # media_id -> {"news_item", "update_time"}
    jobs: dict[str, Job]
    articles: dict[str, PublishedArticle]
    _timers: list[threading.Timer]
    _seq: int

    def _guard(
        self, api: str, handler: Callable[[], ResponseReturnValue]
    ) -> Callable[[], ResponseReturnValue]:
        def answer(kind: FaultKind | None) -> ResponseReturnValue:
            fault = self._fault(api, kind)
            if fault is not None:
                return fault
            if api in self.config.html_reply:
                html_page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
                return Response(html_page, 200, mimetype="text/html")
            return handler()

        return self.counted_view(api, answer)

    def _fault(self, api: str, kind: FaultKind | None) -> ResponseReturnValue | None:
        if kind is FaultKind.SERVER_ERROR:
            return error(-1, "system error")
        if kind is FaultKind.RATE_LIMIT:
            if api.startswith("freepublish/"):
                return error(53501, "frequencey limit of publish")
            return error(45011, "api minute-quota reach limit mustslower retry next minute")
        if kind is FaultKind.TOKEN_EXPIRED and api not in ("token", "stable_token"):
            with self._lock:
                self._tokens.pop(request.args.get("access_token", ""), None)
            return error(42001, "access_token expired")
        if kind is FaultKind.CONTENT_REJECTED and api in CONTENT_APIS:
            return error(45166, "invalid content")
        return None

    def _with_token(
        self, api: str, handler: Callable[[], ResponseReturnValue]
    ) -> Callable[[], ResponseReturnValue]:
        def checked() -> ResponseReturnValue:
            token = request.args.get("access_token", "")
            with self._lock:
                expires_at = self._tokens.get(token)
            if not token:
                return error(41001, "access_token missing")
            if expires_at is None or self.config.reject_tokens:
                return error(40001, "invalid credential, access_token is invalid or not latest")
            if expires_at <= time.time():
                return error(42001, "access_token expired")
            return self._counted(api) or handler()

        return checked

    def _counted(self, api: str) -> ResponseReturnValue | None:
        limit = self.config.quotas.get(api)
        with self._lock:
            key = (api, datetime.now(LOCAL_TZ).date().isoformat())
            self._daily[key] += 1
            over = limit is not None and self._daily[key] > limit
        return error(45009, "reach max api daily quota limit") if over else None

    # --- tokens ---------------------------------------------------------------------------

    def _credentials(self, grant: str, appid: str, secret: str) -> ResponseReturnValue | None:
        if grant != "client_credential":
            return error(40002, "invalid grant_type")
        if appid != self.app_id:
            return error(40013, "invalid appid")
        if secret != self.app_secret:
            return error(40125, "invalid appsecret")
        return None

    def _issue(self, *, stable: bool, force: bool = False) -> ResponseReturnValue:
        with self._lock:
            now = time.time()
            current = self._tokens.get(self._stable, 0.0)
            if stable and not force and current > now:
                return jsonify({"access_token": self._stable, "expires_in": int(current - now)})
            token = new_id("sim_")
            if stable:
                self._tokens.pop(self._stable, None)
                self._stable = token
            else:  # a new classic token leaves the previous ones five minutes
                self._tokens = {t: min(at, now + 300) for t, at in self._tokens.items()}
            self._tokens[token] = now + self.config.token_ttl_s
        return jsonify({"access_token": token, "expires_in": self.config.token_ttl_s})

    def _token(self) -> ResponseReturnValue:
        args = request.args
        self.note("token", appid=args.get("appid", ""))
        denied = self._credentials(
            args.get("grant_type", ""), args.get("appid", ""), args.get("secret", "")
        )
        return denied or self._counted("token") or self._issue(stable=False)

    def _stable_token(self) -> ResponseReturnValue:
        body = request.get_json(force=True, silent=True) or {}
        self.note("stable_token", appid=body.get("appid", ""), force=body.get("force_refresh"))
        denied = self._credentials(
            str(body.get("grant_type", "")), str(body.get("appid", "")), str(body.get("secret", ""))
        )
        force = bool(body.get("force_refresh", False))
        return denied or self._counted("stable_token") or self._issue(stable=True, force=force)
