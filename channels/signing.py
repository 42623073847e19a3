"""HMAC-SHA256 request signing shared by the office's own platforms (政府网站, 随申办旗舰店).

The client signs, the platform (or its simulator) verifies. The string to sign is five lines::

    METHOD
    /request/target?with=query      (exactly as sent: path and query, percent-encoded)
    TIMESTAMP                       (Unix seconds)
    NONCE                           (random, never reused within the window)
    hex(SHA-256(body))              (of the empty string when there is no body)

and the signature is hex(HMAC-SHA256(app secret, string to sign)), sent in `X-Signature` with
`X-App-Key`, `X-Timestamp` and `X-Nonce`. The secret never leaves a `SecretStr`.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from pydantic import SecretStr

HEADER_APP_KEY = "X-App-Key"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"
WINDOW_S = 300


def string_to_sign(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), target, timestamp, nonce, digest]).encode()


def signature(secret: SecretStr, message: bytes) -> str:
    key = secret.get_secret_value().encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def request_target(url: str) -> str:
    """The path and query of a URL, as they go on the request line."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _body_bytes(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    raise TypeError("签名需要完整的请求体，不支持流式上传")


class HmacAuth(requests.auth.AuthBase):
    """Signs each request of a `requests.Session`; its repr shows the app key only."""

    def __init__(
        self, app_key: str, app_secret: SecretStr, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.app_key = app_key
        self._secret = app_secret
        self._clock = clock

    def __repr__(self) -> str:
        return f"<HmacAuth app_key={self.app_key!r}>"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        timestamp = str(int(self._clock()))
        nonce = secrets.token_hex(16)
        message = string_to_sign(
            r.method or "GET", request_target(r.url or ""), timestamp, nonce, _body_bytes(r.body)
        )
        r.headers[HEADER_APP_KEY] = self.app_key
        r.headers[HEADER_TIMESTAMP] = timestamp
        r.headers[HEADER_NONCE] = nonce
        r.headers[HEADER_SIGNATURE] = signature(self._secret, message)
        return r


class SignatureFailure(enum.StrEnum):
    MISSING = "missing"  # a signing header is absent or malformed
    APP_KEY_UNKNOWN = "app_key_unknown"
    EXPIRED = "expired"  # timestamp outside the window
    NONCE_REUSED = "nonce_reused"
    INVALID = "invalid"  # the signature does not match


class SignatureRejected(Exception):
    def __init__(self, failure: SignatureFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


class SignatureVerifier:
    """Server side: checks signatures, the time window and nonce reuse. Thread-safe."""

    def __init__(
        self,
        credentials: Mapping[str, SecretStr],
        *,
        window_s: int = WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = dict(credentials)
        self._window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()
        self._order: deque[tuple[float, tuple[str, str]]] = deque()

    def verify(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> str:
        """The verified app key, or raise `SignatureRejected`. Header names in any case."""
        lowered = {name.lower(): value for name, value in headers.items()}
        app_key, timestamp, nonce, given = (
            lowered.get(name.lower(), "")
            for name in (HEADER_APP_KEY, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)
        )
        if not (app_key and timestamp.isdigit() and nonce and given):
            raise SignatureRejected(SignatureFailure.MISSING)
        secret = self._credentials.get(app_key)
        if secret is None:
            raise SignatureRejected(SignatureFailure.APP_KEY_UNKNOWN)
        expected = signature(secret, string_to_sign(method, target, timestamp, nonce, body))
        if not hmac.compare_digest(expected, given):
            raise SignatureRejected(SignatureFailure.INVALID)
        now = self._clock()
        if abs(now - int(timestamp)) > self._window_s:
            raise SignatureRejected(SignatureFailure.EXPIRED)
        self._remember(app_key, nonce, now)
        return app_key

    def verify_wsgi(self, environ: Mapping[str, Any], body: bytes) -> str:
        """`verify` for a WSGI request (what a simulator receives)."""
        headers = {
            name: str(environ.get("HTTP_" + name.upper().replace("-", "_"), ""))
            for name in (HEADER_APP_KEY, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)
        }
        return self.verify(
            str(environ.get("REQUEST_METHOD", "")), _wsgi_target(environ), headers, body
        )

    def _remember(self, app_key: str, nonce: str, now: float) -> None:
        # A nonce older than twice the window cannot come back: its timestamp would be refused.
        with self._lock:
            while self._order and self._order[0][0] < now - 2 * self._window_s:
                self._seen.discard(self._order.popleft()[1])
            if (app_key, nonce) in self._seen:
                raise SignatureRejected(SignatureFailure.NONCE_REUSED)
            self._seen.add((app_key, nonce))
            self._order.append((now, (app_key, nonce)))


def _wsgi_target(environ: Mapping[str, Any]) -> str:
    """The request target as the client sent it, which is what it signed."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw)
    path = quote(str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")))
    query = str(environ.get("QUERY_STRING", ""))
    return path + (f"?{query}" if query else "")
