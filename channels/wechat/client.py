"""One Official Account's API (`WeChatApi`): wechatpy's client pointed at `base_url`, the token
request included, without its unbounded retry (`auto_retry` off: its own retry on 40001 never
stops); the access token, shared through Redis when configured; one call at a time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from channels.errors import ChannelError
from channels.wechat.errors import NAME, REFRESH_CODES, garbage, translate
from channels.wechat.settings import WeChatSettings
from channels.wechat.store import shared_redis, shared_store, token_lock
from channels.wechatpy_client import TokenCache, Transport, with_fresh_token


class _Transport(Transport):
    """The shared transport, keeping the app secret out of an error's causes."""

    def request(
        self, method: str, url: str, *, changes_state: bool = True, **kwargs: Any
    ) -> requests.Response:
        try:
            return super().request(method, url, changes_state=changes_state, **kwargs)
        except ChannelError as exc:
            if "secret" in (kwargs.get("params") or {}):
                raise exc from None  # the cause's text holds the URL, and the secret in it
            raise


class _WeChatClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client at `base_url`, tokens included, without its unbounded retry."""

    def __init__(self, settings: WeChatSettings) -> None:
        super().__init__(
            settings.app_id,
            settings.app_secret.get_secret_value(),
            timeout=settings.timeout,
            auto_retry=False,
        )
        self.API_BASE_URL = f"{settings.api_root}/cgi-bin/"
        self._http = _Transport(settings.timeout, channel=NAME)
        self._stable = settings.use_stable_token

    def __repr__(self) -> str:
        return f"<_WeChatClient {self.appid} {self.API_BASE_URL}>"

    def fetch_access_token(self) -> Any:
        # wechatpy hard-codes https://api.weixin.qq.com/cgi-bin/token here; `access_token: None`
        # keeps it from adding a token to the token request (requests drops None params).
        if self._stable:
            body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
            return self.post(
                "stable_token",
                params={"access_token": None},
                data=body | {"force_refresh": False},
                changes_state=False,
            )
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        return self.get("token", params=params | {"access_token": None}, changes_state=False)


class WeChatApi:
    """One account's API calls, with its access token and the storage workers share."""

    def __init__(self, settings: WeChatSettings) -> None:
        self.client = _WeChatClient(settings)
        self.redis = shared_redis(settings)
        self.storage = RedisStorage(self.redis, "sanshen:wechat") if self.redis else MemoryStorage()
        self.scope = f"{settings.api_root}|{settings.app_id}"
        self._tokens = TokenCache(
            self.storage,
            f"{self.scope}:access_token",
            margin=settings.token_refresh_margin_s,
            fetch=self.client.fetch_access_token,
            lock=token_lock(self.redis, f"sanshen:wechat:{self.scope}:token_lock"),
            unreadable=lambda: garbage(changes_state=False),
        )

    def _send(self, path: str, token: str, changes_state: bool, **kw: Any) -> Any:
        params = dict(kw.pop("params", {})) | {"access_token": token}
        answer = self.client.post(path, params=params, changes_state=changes_state, **kw)
        if not isinstance(answer, dict):
            raise garbage(changes_state)
        return answer

    def call(self, path: str, *, changes_state: bool, **kw: Any) -> dict[str, Any]:
        """One API call; a token error refreshes the token once and retries once, no more."""

        def send(token: str) -> dict[str, Any]:
            return dict(self._send(path, token, changes_state, **kw))

        try:
            with shared_store():  # the token's storage; the call itself touches no Redis
                return with_fresh_token(self._tokens, send, REFRESH_CODES)
        except WeChatClientException as exc:
            raise translate(exc, changes_state=changes_state) from exc

    @staticmethod
    def field(answer: Mapping[str, Any], name: str, *, changes_state: bool) -> str:
        """`answer[name]`, which the API documents as always there."""
        value = answer.get(name)
        if value in (None, ""):
            raise garbage(changes_state)
        return str(value)
