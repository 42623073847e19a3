"""What a bounded GET is asked (`Request`), what it answers (`Fetched`) and how it fails
(`Unfetchable`, a stable code and a Chinese reason); `translate` is the one place where
requests' and urllib3's errors are mapped."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)

from orchestrator.verify.hosts import short
from orchestrator.verify.model import Limits
from orchestrator.verify.outcome import Code
from orchestrator.verify.watch import Watch


class Unfetchable(Exception):
    def __init__(
        self,
        code: Code,
        reason: str,
        *,
        final_url: str = "",
        status: int | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.final_url = final_url
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class Fetched:
    final_url: str
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Request:
    what: str  # "页面", "第2张图片": the subject of the Chinese reasons
    accept: str
    max_bytes: int
    connect_timeout: float
    read_timeout: float
    max_redirects: int

    @classmethod
    def within(cls, limits: Limits, *, what: str, accept: str, max_bytes: int) -> Request:
        """A GET of `what` keeping to the timeouts and the redirects `limits` allow."""
        return cls(
            what=what,
            accept=accept,
            max_bytes=max_bytes,
            connect_timeout=limits.connect_timeout,
            read_timeout=limits.read_timeout,
            max_redirects=limits.max_redirects,
        )


def timed_out(request: Request, watch: Watch, url: str, status: int | None = None) -> Unfetchable:
    return Unfetchable(
        Code.TIMEOUT,
        f"{request.what}在 {watch.seconds:g} 秒内未能读完（服务器响应过慢），已停止等待",
        final_url=url,
        status=status,
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend((current.__cause__, current.__context__, getattr(current, "reason", None)))
        stack.extend(current.args)


def translate(
    exc: Exception, request: Request, watch: Watch, url: str, status: int | None = None
) -> Unfetchable:
    """The one place where a requests, urllib3 or socket error becomes an Unfetchable."""
    what = request.what
    if watch.expired:
        return timed_out(request, watch, url, status)
    causes = list(_chain(exc))

    def has(*kinds: type[BaseException]) -> bool:
        return any(isinstance(cause, kinds) for cause in causes)

    def problem(code: Code, reason: str) -> Unfetchable:
        return Unfetchable(code, reason, final_url=url, status=status)

    if has(NameResolutionError, socket.gaierror):
        return problem(Code.CONNECTION_FAILED, f"{what}的域名无法解析")
    if has(ConnectionRefusedError):
        return problem(Code.CONNECTION_FAILED, f"{what}所在服务器拒绝连接")
    if has(NewConnectionError):  # urllib3 derives it from ConnectTimeoutError: test it first
        return problem(Code.CONNECTION_FAILED, f"无法连接{what}所在服务器（网络不可达）")
    if has(requests.ConnectTimeout, ConnectTimeoutError):
        return problem(Code.TIMEOUT, f"连接{what}所在服务器超时（{request.connect_timeout:g} 秒）")
    if has(requests.ReadTimeout, ReadTimeoutError, TimeoutError, socket.timeout):
        return problem(
            Code.TIMEOUT, f"{what}所在服务器在 {request.read_timeout:g} 秒内没有应答，已停止等待"
        )
    if has(requests.exceptions.SSLError):
        return problem(Code.TLS_FAILED, f"与{what}所在服务器的安全连接（TLS）失败：证书或握手有误")
    if has(requests.exceptions.ContentDecodingError):
        return problem(Code.CONNECTION_FAILED, f"{what}的压缩数据已损坏，无法解压")
    if has(requests.exceptions.InvalidURL, LocationParseError):
        return problem(Code.BAD_URL, f"{what}的地址无法解析：{short(url)}")
    if has(ConnectionResetError, http.client.RemoteDisconnected, urllib3.exceptions.ProtocolError):
        return problem(Code.CONNECTION_FAILED, f"{what}所在服务器中断了连接")
    return problem(Code.CONNECTION_FAILED, f"无法连接{what}所在服务器（{type(exc).__name__}）")
