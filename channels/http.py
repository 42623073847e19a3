"""HTTP calls for adapters, with requests' exceptions mapped to our error tree in one place.

A failure before the request left (refused, connect timeout) is `Unavailable`. A failure after
it may have arrived (read timeout, connection cut) is `OutcomeUnknown` for a call that changes
something on the platform, and `Unavailable` for a read-only one, which is safe to repeat.
A platform's own error answer becomes the class its code table names (`platform_error`).
"""

from __future__ import annotations

from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from channels.errors import (
    ChannelError,
    ContentRejected,
    OutcomeUnknown,
    Problem,
    RateLimited,
    Unavailable,
)


def _never_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason: Any = exc.args[0] if exc.args else None
    seen = set()
    while reason is not None and id(reason) not in seen:
        seen.add(id(reason))
        if isinstance(reason, NewConnectionError | ConnectionRefusedError):
            return True
        reason = getattr(reason, "reason", None) or reason.__cause__ or reason.__context__
    return False


def call(
    session: requests.Session,
    method: str,
    url: str,
    *,
    channel: str,
    changes_state: bool,
    timeout: tuple[float, float],
    **kwargs: Any,
) -> requests.Response:
    """Send one request; never hangs past `timeout`, never leaks a requests exception."""
    try:
        return session.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        if _never_sent(exc) or not changes_state:
            raise Unavailable(f"无法连接平台：{type(exc).__name__}", channel=channel) from exc
        raise OutcomeUnknown(
            f"请求已发出，未收到答复（{type(exc).__name__}）", channel=channel
        ) from exc


def json_body(response: requests.Response, *, channel: str, changes_state: bool) -> Any:
    """The JSON answer; garbage (HTML, truncated text) is not trusted as success or failure."""
    if response.status_code >= 500:
        raise Unavailable(f"平台服务错误 HTTP {response.status_code}", channel=channel)
    try:
        return response.json()
    except ValueError as exc:
        message = f"平台返回了无法解析的内容（HTTP {response.status_code}，非 JSON）"
        if changes_state:
            raise OutcomeUnknown(message, channel=channel) from exc
        raise Unavailable(message, channel=channel) from exc


def retry_after(response: requests.Response, default: float = 60.0) -> float:
    """Seconds a rate-limited answer asks us to wait (Retry-After in seconds), else `default`."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return default
    return max(seconds, 1.0)


def platform_error(
    kind: type[ChannelError],
    message: str,
    *,
    response: requests.Response,
    channel: str,
    platform_code: str | int,
    problems: tuple[Problem, ...] = (),
    plain_code: str | int | None = None,
) -> ChannelError:
    """A platform's error answer as the class its code table names (`kind`).

    A rate limit waits what the answer's Retry-After says; a refusal carries the platform's
    `problems`. `plain_code` is the code any other error carries, when not `platform_code`.
    """
    if issubclass(kind, RateLimited):
        return kind(
            message, retry_after=retry_after(response), platform_code=platform_code, channel=channel
        )
    if issubclass(kind, ContentRejected):
        return kind(message, problems=problems, platform_code=platform_code, channel=channel)
    code = platform_code if plain_code is None else plain_code
    return kind(message, platform_code=code, channel=channel)


def problems_from(raw: Any) -> tuple[Problem, ...]:
    """The `problems` list of a platform's refusal (code, message, field each), else ()."""
    if not isinstance(raw, list):
        return ()
    return tuple(
        Problem(str(p.get("code", "")), str(p.get("message", "")), str(p.get("field", "")))
        for p in raw
        if isinstance(p, dict)
    )
