"""HMAC request signing: what the client sends is what the verifier accepts, and nothing else."""

from __future__ import annotations

import hashlib

import pytest
import requests
from pydantic import SecretStr
from werkzeug.test import EnvironBuilder

from channels.signing import (
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HmacAuth,
    SignatureFailure,
    SignatureRejected,
    SignatureVerifier,
    request_target,
    string_to_sign,
)

SECRET = SecretStr("s3cret-for-tests")
NOW = 1_715_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def signed(
    method: str = "POST",
    url: str = "https://gw.example.cn/api/v1/articles?x=1",
    body: bytes | str | None = '{"title": "标题"}'.encode(),
    *,
    key: str = "app",
    secret: SecretStr = SECRET,
    now: float = NOW,
) -> requests.PreparedRequest:
    prepared = requests.Request(method, url, data=body).prepare()
    return HmacAuth(key, secret, clock=Clock(now))(prepared)


def verify(
    prepared: requests.PreparedRequest,
    verifier: SignatureVerifier | None = None,
    *,
    now: float = NOW,
) -> str:
    verifier = verifier or SignatureVerifier({"app": SECRET}, clock=Clock(now))
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body or b""
    return verifier.verify(
        prepared.method or "", request_target(prepared.url or ""), prepared.headers, body
    )


def test_a_signed_request_verifies() -> None:
    assert verify(signed()) == "app"


def test_the_string_to_sign_is_five_lines() -> None:
    body = b"{}"
    lines = string_to_sign("post", "/a?b=1", "1", "n", body).decode().split("\n")

    assert lines == ["POST", "/a?b=1", "1", "n", hashlib.sha256(body).hexdigest()]


@pytest.mark.parametrize(
    "change",
    [
        lambda r: setattr(r, "body", '{"title": "改过"}'.encode()),
        lambda r: setattr(r, "method", "PUT"),
        lambda r: setattr(r, "url", "https://gw.example.cn/api/v1/articles?x=2"),
        lambda r: setattr(r, "url", "https://gw.example.cn/api/v1/other?x=1"),
        lambda r: r.headers.__setitem__(HEADER_NONCE, "another-nonce"),
        lambda r: r.headers.__setitem__(HEADER_TIMESTAMP, str(int(NOW) + 1)),
    ],
    ids=["body", "method", "query", "path", "nonce", "timestamp"],
)
def test_any_change_breaks_the_signature(change: object) -> None:
    prepared = signed()
    change(prepared)  # type: ignore[operator]

    with pytest.raises(SignatureRejected) as caught:
        verify(prepared)
    assert caught.value.failure is SignatureFailure.INVALID


def test_a_wrong_secret_or_unknown_key_is_refused() -> None:
    with pytest.raises(SignatureRejected) as wrong:
        verify(signed(secret=SecretStr("other")))
    with pytest.raises(SignatureRejected) as unknown:
        verify(signed(key="stranger"))

    assert wrong.value.failure is SignatureFailure.INVALID
    assert unknown.value.failure is SignatureFailure.APP_KEY_UNKNOWN


def test_missing_headers_are_refused() -> None:
    prepared = signed()
    del prepared.headers[HEADER_SIGNATURE]

    with pytest.raises(SignatureRejected) as caught:
        verify(prepared)
    assert caught.value.failure is SignatureFailure.MISSING


@pytest.mark.parametrize(
    ("skew", "ok"), [(0, True), (300, True), (-300, True), (301, False), (-301, False)]
)
def test_the_window_is_300_seconds_either_way(skew: int, ok: bool) -> None:
    prepared = signed(now=NOW + skew)

    if ok:
        assert verify(prepared) == "app"
        return
    with pytest.raises(SignatureRejected) as caught:
        verify(prepared)
    assert caught.value.failure is SignatureFailure.EXPIRED


def test_a_replayed_nonce_is_refused_then_forgotten_when_it_could_not_verify_anyway() -> None:
    clock = Clock()
    verifier = SignatureVerifier({"app": SECRET}, clock=clock)
    first = signed()
    verify(first, verifier)

    with pytest.raises(SignatureRejected) as caught:
        verify(first, verifier)
    assert caught.value.failure is SignatureFailure.NONCE_REUSED

    clock.now = NOW + 601  # past twice the window the nonce is forgotten ...
    verify(signed(now=clock.now), verifier)
    with pytest.raises(SignatureRejected) as late:
        verify(first, verifier)
    assert late.value.failure is SignatureFailure.EXPIRED  # ... and its timestamp refused


def test_bodies_of_every_kind_are_signed() -> None:
    assert verify(signed(body=None, method="GET")) == "app"
    assert verify(signed(body="标题=青浦")) == "app"
    files = requests.Request(
        "POST", "https://gw.example.cn/up", files={"file": ("a.png", b"\x89PNG", "image/png")}
    ).prepare()
    assert verify(HmacAuth("app", SECRET, clock=Clock())(files)) == "app"


def test_a_streamed_body_cannot_be_signed() -> None:
    prepared = requests.Request("POST", "https://gw.example.cn/up").prepare()
    prepared.body = iter([b"chunk"])  # type: ignore[assignment]

    with pytest.raises(TypeError):
        HmacAuth("app", SECRET)(prepared)


def test_header_names_are_case_insensitive() -> None:
    prepared = signed()
    lowered = {name.lower(): value for name, value in prepared.headers.items()}
    body = prepared.body if isinstance(prepared.body, bytes) else b""
    verifier = SignatureVerifier({"app": SECRET}, clock=Clock())

    target = request_target(prepared.url or "")
    assert verifier.verify("POST", target, lowered, body) == "app"


def test_wsgi_requests_verify_with_and_without_the_raw_target() -> None:
    prepared = signed(url="https://gw.example.cn/gov_website/api/v1/articles?idempotency_key=k%201")
    headers = {k: v for k, v in prepared.headers.items() if k.startswith("X-")}
    body = prepared.body if isinstance(prepared.body, bytes) else b""
    environ = EnvironBuilder(
        path="/api/v1/articles",
        base_url="https://gw.example.cn/gov_website/",
        query_string="idempotency_key=k%201",
        method="POST",
        headers=headers,
        data=body,
    ).get_environ()
    environ.pop("RAW_URI", None)
    environ.pop("REQUEST_URI", None)

    verifier = SignatureVerifier({"app": SECRET}, clock=Clock())
    assert verifier.verify_wsgi(environ, body) == "app"
    environ["RAW_URI"] = "/gov_website/api/v1/articles?idempotency_key=k%201"
    again = SignatureVerifier({"app": SECRET}, clock=Clock())
    assert again.verify_wsgi(environ, body) == "app"


def test_the_secret_never_shows() -> None:
    auth = HmacAuth("app", SECRET)
    prepared = signed()

    assert "s3cret" not in repr(auth) + str(auth)
    assert all("s3cret" not in value for value in prepared.headers.values())
    with pytest.raises(SignatureRejected) as caught:
        verify(signed(secret=SecretStr("other")))
    assert "s3cret" not in str(caught.value) + repr(caught.value)
