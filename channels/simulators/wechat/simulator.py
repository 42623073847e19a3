"""The 微信公众号 simulator: its account, its routes, its admin endpoints."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, ClassVar

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import ValidationError

from channels.simulators.wechat.media import WeChatMedia
from channels.simulators.wechat.protocol import WeChatSimConfig
from channels.simulators.wechat.publishing import WeChatPublishing


class WeChatSimulator(WeChatMedia, WeChatPublishing):
    name: ClassVar[str] = "wechat"
    display_name: ClassVar[str] = "微信公众号"

    app_id = "wx5a1b2c3d4e5f6a7b"
    app_secret = "sim-wechat-secret-0123456789abcdef"
    callback_token = "sim-wechat-callback-token"
    account = "gh_5a1b2c3d4e5f"  # 青浦政务服务

    def __init__(self, faults: Any = None) -> None:
        super().__init__(faults)
        self.config = WeChatSimConfig()
        self.callback_url = ""
        self._clear()

    def _clear(self) -> None:
        self._clear_tokens()
        self._daily = Counter()
        self._stable = ""
        self._materials = {}
        self._images = {}
        self.drafts = {}
        self.jobs = {}
        self.articles = {}
        self._timers = []
        self._seq = 2247483000

    def reset(self) -> None:
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._clear()
            self.config = WeChatSimConfig()
            self.callback_url = ""
        super().reset()

    def client_settings(self, base_url: str) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "base_url": base_url,
            "app_id": self.app_id,
            "app_secret": self.app_secret,
            "callback_token": self.callback_token,
        }
        if self.config.encoding_aes_key:
            settings["encoding_aes_key"] = self.config.encoding_aes_key
        return settings

    # --- routes ---------------------------------------------------------------------------

    def routes(self, app: Flask) -> None:
        app.add_url_rule("/cgi-bin/token", "token", self._guard("token", self._token))
        app.add_url_rule(
            "/cgi-bin/stable_token",
            "stable_token",
            self._guard("stable_token", self._stable_token),
            methods=["POST"],
        )
        apis: dict[str, Callable[[], ResponseReturnValue]] = {
            "material/add_material": self._add_material,
            "media/uploadimg": self._uploadimg,
            "draft/add": self._draft_add,
            "draft/batchget": self._draft_batchget,
            "freepublish/submit": self._submit,
            "freepublish/get": self._get,
            "freepublish/batchget": self._publish_batchget,
            "freepublish/getarticle": self._getarticle,
            "freepublish/delete": self._delete,
        }
        for path, handler in apis.items():
            view = self._guard(path, self._with_token(path, handler))
            app.add_url_rule(f"/cgi-bin/{path}", path, view, methods=["POST"])
        app.add_url_rule("/mmbiz/<image_id>", "mmbiz", self._image)
        app.add_url_rule("/s/<article>", "page", self.serve_page)
        self._admin_routes(app)

    def _admin_routes(self, app: Flask) -> None:
        @app.get("/_sim/config")
        def get_config() -> ResponseReturnValue:
            return jsonify(self.config.model_dump())

        @app.put("/_sim/config")
        def put_config() -> ResponseReturnValue:
            try:
                with self._lock:
                    changes = request.get_json(force=True) or {}
                    self.config = WeChatSimConfig.model_validate(self.config.model_dump() | changes)
            except (ValidationError, TypeError) as exc:
                return jsonify({"error": "bad_config", "message": str(exc)}), 400
            return jsonify(self.config.model_dump())

        @app.put("/_sim/callback")
        def put_callback() -> ResponseReturnValue:
            self.callback_url = str((request.get_json(force=True) or {}).get("url", ""))
            return jsonify({"url": self.callback_url})

        @app.post("/_sim/finish_jobs")
        def finish_jobs() -> ResponseReturnValue:
            return jsonify({"finished": self.finish_jobs()})

        self.token_admin_routes(app)

    def finish_jobs(self) -> int:
        """Make every running job due now and finish it; how many there were."""
        with self._lock:
            running = [job for job in self.jobs.values() if job.status == 1]
            for job in running:
                job.due_at = time.time()
        for job in running:
            self._finish(job)
        return len(running)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(self.calls),
                "drafts": self.drafts,
                "jobs": {k: asdict(v) for k, v in self.jobs.items()},
                "articles": {k: asdict(v) for k, v in self.articles.items()},
                "callback_url": self.callback_url,
            }
