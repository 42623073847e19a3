"""What 微信公众号 (`channels.wechat`) and 企业微信 (`orchestrator.notify.wecom`) share on wechatpy.

wechatpy 1.8.18 is only the transport for both: its client sends through `Transport` (so every
request goes through `channels.http.call`, with a timeout, and requests' errors are mapped in
the project's one place), and the access token lives in a wechatpy session storage
(`TokenCache`: memory, or Redis to share it between workers). `with_fresh_token` makes one call,
and when the platform says the token is bad, fetches a new one and calls once more, no more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import requests
from wechatpy.exceptions import WeChatClientException

from channels.http import call

_T = TypeVar("_T")


class Transport:
    """wechatpy's `_http`: every request goes through `channels.http.call`, with a timeout.

    Callers pass `changes_state` through wechatpy's kwargs, so a lost reply is OutcomeUnknown
    only where the platform may have acted on it.
    """

    def __init__(self, timeout: tuple[float, float], *, channel: str) -> None:
        self._session = requests.Session()
        self._timeout = timeout
        self._channel = channel

    def request(
        self, method: str, url: str, *, changes_state: bool = True, **kwargs: Any
    ) -> requests.Response:
        timeout = kwargs.pop("timeout", None) or self._timeout
        return call(
            self._session,
            method.upper(),
            url,
            channel=self._channel,
            changes_state=changes_state,
            timeout=timeout,
            **kwargs,
        )


class TokenCache:
    """The access token in a wechatpy session storage, fetched again `margin` s before expiry.

    `fetch` asks the platform for a token; `lock` serialises fetches; `unreadable` is the error
    for an answer without a token.
    """

    def __init__(
        self,
        storage: Any,
        key: str,
        *,
        margin: int,
        fetch: Callable[[], Any],
        lock: Callable[[], AbstractContextManager[object]],
        unreadable: Callable[[], Exception],
    ) -> None:
        self._storage = storage
        self._key = key
        self._margin = margin
        self._fetch = fetch
        self._lock = lock
        self._unreadable = unreadable

    def _fresh(self) -> str | None:
        record = self._storage.get(self._key)
        if isinstance(record, dict) and record.get("expires_at", 0) - time.time() > self._margin:
            return str(record["token"])
        return None

    def current(self) -> str:
        token = self._fresh()
        if token is not None:
            return token
        with self._lock():
            return self._fresh() or self._store(self._fetch())

    def refresh(self, rejected: str) -> str:
        """A token other than `rejected`: another worker's newer one, or a new fetch."""
        with self._lock():
            token = self._fresh()
            if token is not None and token != rejected:
                return token
            return self._store(self._fetch())

    def _store(self, answer: Any) -> str:
        token = answer.get("access_token") if isinstance(answer, Mapping) else None
        if not isinstance(token, str) or not token:
            raise self._unreadable()
        expires_in = int(answer.get("expires_in", 7200))
        record = {"token": token, "expires_at": time.time() + expires_in}
        self._storage.set(self._key, record, expires_in)
        return token


def with_fresh_token(
    tokens: TokenCache, send: Callable[[str], _T], refresh_codes: Collection[int]
) -> _T:
    """`send(token)`; when the platform answers one of `refresh_codes` (the token is invalid or
    expired), once more with another token, and no more."""
    token = tokens.current()
    try:
        return send(token)
    except WeChatClientException as exc:
        if exc.errcode not in refresh_codes:
            raise
        return send(tokens.refresh(rejected=token))
