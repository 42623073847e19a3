"""Bounded GETs: only allowed hosts, redirects by hand, a byte cap and a wall-clock deadline.

Every hop (the address, each redirect) is prepared as requests will send it and its scheme and
host are checked against the allow-list before anything is sent, so neither a recorded address
nor a redirect can make the server fetch anything else.

The deadline is kept by a watchdog thread: each request's connection is registered with the
watch of the call making it (`WatchedAdapter`), and when the deadline passes the watchdog shuts
that socket down, which wakes a read blocked on a server that sends one byte at a time (a read
timeout alone never fires on such a server, and urllib3 waits for a whole chunk). Connecting
is bounded by the connect timeout, capped at the time left. Name resolution is the system's and
has no timeout of its own.

`fetch` raises `Unfetchable` (a stable code, a Chinese reason) for everything the network or the
server does; `request.translate` is the one place where requests' and urllib3's errors are mapped.

The parts: `hosts` (the allow-list), `watch` (the deadline), `sessions` (the watched adapters),
`request` (what is asked, answered, and how it fails).
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urljoin

import requests
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from orchestrator.verify.hosts import DEFAULT_PORTS, host_allowed, origin_of, short, visit_key
from orchestrator.verify.outcome import Code
from orchestrator.verify.request import Fetched, Request, Unfetchable, timed_out, translate
from orchestrator.verify.watch import Watch

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


def _prepared_url(url: str, allowed_hosts: Collection[str], what: str) -> str:
    """`url` as requests will send it, after checking its scheme and host."""
    scheme = url.strip().partition(":")[0].lower() if ":" in url else ""
    if scheme not in DEFAULT_PORTS:
        raise Unfetchable(Code.BAD_SCHEME, f"{what}不是 http 或 https 地址：{short(url)}")
    try:
        prepared = requests.Request("GET", url.strip()).prepare().url or ""
    except (requests.RequestException, LocationParseError, UnicodeError, ValueError):
        raise Unfetchable(Code.BAD_URL, f"{what}无法解析：{short(url)}") from None
    if origin_of(prepared) is None:
        raise Unfetchable(Code.BAD_URL, f"{what}无法解析：{short(url)}")
    if not host_allowed(prepared, allowed_hosts):
        host = parse_url(prepared).netloc or ""
        raise Unfetchable(
            Code.HOST_NOT_ALLOWED, f"{what}的主机 {host} 不在允许访问的主机列表中，未访问"
        )
    return prepared


def fetch(
    session: requests.Session,
    url: str,
    allowed_hosts: Collection[str],
    request: Request,
    watch: Watch,
) -> Fetched:
    """GET `url`, following redirects by hand; the answer of the last hop, whatever its status.
    Raises Unfetchable."""
    current = _prepared_url(url, allowed_hosts, request.what)
    visited = [visit_key(current)]
    while True:
        response = _send(session, current, request, watch)
        status = response.status_code
        if status not in REDIRECTS:
            return _read(response, current, request, watch)
        location = session.get_redirect_target(response)
        response.close()
        if not location:
            raise Unfetchable(
                Code.HTTP_ERROR,
                f"{request.what}返回跳转（HTTP {status}）却没有给出跳转地址",
                final_url=current,
                status=status,
            )
        try:
            target = _prepared_url(
                urljoin(current, location), allowed_hosts, f"{request.what}跳转到的地址"
            )
        except Unfetchable as problem:
            problem.final_url, problem.status = current, status
            raise
        if visit_key(target) in visited:
            raise Unfetchable(
                Code.REDIRECT_LOOP,
                f"{request.what}的跳转形成循环（{short(target)} 已访问过）",
                final_url=current,
                status=status,
            )
        if len(visited) > request.max_redirects:
            raise Unfetchable(
                Code.TOO_MANY_REDIRECTS,
                f"{request.what}跳转超过 {request.max_redirects} 次，已停止跟随",
                final_url=current,
                status=status,
            )
        visited.append(visit_key(target))
        current = target


def _send(session: requests.Session, url: str, request: Request, watch: Watch) -> requests.Response:
    left = watch.remaining()
    if left <= 0 or watch.expired:
        raise timed_out(request, watch, url)
    timeout = (min(request.connect_timeout, left), min(request.read_timeout, left))
    try:
        return session.get(
            url,
            stream=True,
            allow_redirects=False,
            timeout=timeout,
            headers={"Accept": request.accept},
        )
    except Exception as exc:  # every requests/urllib3/socket error: translate sorts them
        raise translate(exc, request, watch, url) from exc


def _read(response: requests.Response, url: str, request: Request, watch: Watch) -> Fetched:
    status = response.status_code
    content_type = response.headers.get("Content-Type", "")
    cap = request.max_bytes if 200 <= status < 300 else min(request.max_bytes, 256 * 1024)
    declared = response.headers.get("Content-Length", "")
    if 200 <= status < 300 and declared.isdigit() and int(declared) > cap:
        response.close()
        raise Unfetchable(
            Code.TOO_LARGE,
            f"{request.what}大小为 {int(declared):,} 字节，超过上限 {cap:,} 字节，未读取",
            final_url=url,
            status=status,
        )
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > cap:
                if 200 <= status < 300:
                    raise Unfetchable(
                        Code.TOO_LARGE,
                        f"{request.what}超过上限 {cap:,} 字节，已停止读取",
                        final_url=url,
                        status=status,
                    )
                chunks.append(chunk[: cap - (size - len(chunk))])
                break
            if watch.expired:
                break
            chunks.append(chunk)
    except Unfetchable:
        raise
    except Exception as exc:
        raise translate(exc, request, watch, url, status) from exc
    finally:
        response.close()
    if watch.expired:  # a cut connection can look like the end of a body without a length
        raise timed_out(request, watch, url, status)
    return Fetched(url, status, content_type, b"".join(chunks))
