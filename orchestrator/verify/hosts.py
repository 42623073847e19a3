"""The allow-list of hosts a check may fetch from, and the forms of an address it compares."""

from __future__ import annotations

from collections.abc import Collection

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

DEFAULT_PORTS = {"http": 80, "https": 443}


def host_key(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host and not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    return host


def _entry(entry: str) -> tuple[str, int | None]:
    entry = entry.strip()
    if entry.startswith("["):  # [IPv6] or [IPv6]:port
        host, _, rest = entry.partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host_key(host + "]"), int(port) if port.isdigit() else None
    host, colon, port = entry.rpartition(":")
    if colon and port.isdigit() and ":" not in host:
        return host_key(host), int(port)
    return host_key(entry), None


def origin_of(url: str) -> tuple[str, str, int] | None:
    try:
        parts = parse_url(url)
    except LocationParseError:
        return None
    scheme = (parts.scheme or "").lower()
    if scheme not in DEFAULT_PORTS or not parts.host:
        return None
    return scheme, host_key(parts.host), parts.port or DEFAULT_PORTS[scheme]


def host_allowed(url: str, allowed_hosts: Collection[str]) -> bool:
    """Whether `url` is http(s) on an allowed host. An entry "host" allows the scheme's default
    port (80, 443); "host:port" allows that port. Case and a trailing dot do not matter;
    non-ASCII names are compared in their IDNA form."""
    origin = origin_of(url)
    if origin is None:
        return False
    scheme, host, port = origin
    for entry in allowed_hosts:
        allowed_host, allowed_port = _entry(entry)
        if allowed_host == host and (allowed_port or DEFAULT_PORTS[scheme]) == port:
            return True
    return False


def visit_key(url: str) -> str:
    parts = parse_url(url)
    scheme = (parts.scheme or "").lower()
    port = parts.port or DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host_key(parts.host or '')}:{port}{parts.request_uri}"


def short(url: str, limit: int = 120) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"
