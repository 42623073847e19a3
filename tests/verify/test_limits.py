"""What the network and the server may do: hosts, schemes, redirects, time and size limits."""

from __future__ import annotations

import socket
import time

import pytest
from werkzeug.wrappers import Response

from orchestrator.verify import Limits, Verdict, check
from tests.verify.conftest import Article, serve_article

FAST = Limits(connect_timeout=0.5, read_timeout=0.4, total_seconds=1.0)


def test_a_host_not_allowed_is_never_contacted(site, article, session) -> None:
    url = serve_article(site, article)
    outcome = check(url, article.signed, allowed_hosts=["www.shqp.gov.cn"], session=session)
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "host_not_allowed")
    assert site.hits == {}
    assert "127.0.0.1" in outcome.reason


def test_the_same_host_on_another_port_is_not_allowed(site, article, session) -> None:
    url = serve_article(site, article)
    outcome = check(url, article.signed, allowed_hosts=["127.0.0.1"], session=session)
    assert outcome.code == "host_not_allowed"
    assert site.hits == {}


def test_a_redirect_to_a_host_not_allowed_is_not_followed(site, article, session) -> None:
    serve_article(site, article)
    port = site.host.rsplit(":", 1)[1]
    elsewhere = f"http://localhost:{port}/a/1.html"  # same server, a name not on the list
    site.routes["/moved"] = lambda request: Response(status=302, headers={"Location": elsewhere})
    outcome = check(site.url("/moved"), article.signed, allowed_hosts=[site.host], session=session)
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "host_not_allowed")
    assert site.hits == {"/moved": 1}
    assert outcome.final_url == site.url("/moved") and outcome.http_status == 302


def test_a_redirect_within_allowed_hosts_is_followed(site, article, session) -> None:
    url = serve_article(site, article)
    site.routes["/old"] = lambda request: Response(status=301, headers={"Location": "/a/1.html"})
    outcome = check(site.url("/old"), article.signed, allowed_hosts=[site.host], session=session)
    assert outcome.verdict is Verdict.CONSISTENT, outcome.reason
    assert outcome.final_url == url and outcome.url == site.url("/old")


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/a.html", "file:///etc/passwd", "javascript:alert(1)", "a.html"]
)
def test_only_http_and_https_are_fetched(article, session, url) -> None:
    outcome = check(url, article.signed, allowed_hosts=["127.0.0.1"], session=session)
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "bad_scheme")


def test_a_redirect_to_another_scheme_is_refused(site, article, session) -> None:
    site.routes["/x"] = lambda request: Response(
        status=302, headers={"Location": "file:///etc/passwd"}
    )
    outcome = check(site.url("/x"), article.signed, allowed_hosts=[site.host], session=session)
    assert outcome.code == "bad_scheme"


def test_a_redirect_loop_is_detected(site, article, session) -> None:
    site.routes["/a"] = lambda request: Response(status=302, headers={"Location": "/b"})
    site.routes["/b"] = lambda request: Response(status=302, headers={"Location": "/a"})
    outcome = check(site.url("/a"), article.signed, allowed_hosts=[site.host], session=session)
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "redirect_loop")
    assert site.hits == {"/a": 1, "/b": 1}


def test_a_page_redirecting_to_itself_is_a_loop(site, article, session) -> None:
    site.routes["/self"] = lambda request: Response(status=302, headers={"Location": "/self"})
    outcome = check(site.url("/self"), article.signed, allowed_hosts=[site.host], session=session)
    assert outcome.code == "redirect_loop"
    assert site.hits == {"/self": 1}


def test_too_many_redirects_stop(site, article, session) -> None:
    for n in range(10):
        site.routes[f"/r{n}"] = lambda request, n=n: Response(
            status=307, headers={"Location": f"/r{n + 1}"}
        )
    limits = Limits(max_redirects=3)
    outcome = check(
        site.url("/r0"), article.signed, allowed_hosts=[site.host], session=session, limits=limits
    )
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "too_many_redirects")
    assert sorted(site.hits) == ["/r0", "/r1", "/r2", "/r3"]


@pytest.mark.timeout(15)  # a broken deadline would hang, not fail
def test_a_server_that_never_answers_times_out(silent_server, article, session) -> None:
    started = time.monotonic()
    outcome = check(
        f"http://{silent_server.host}/a.html",
        article.signed,
        allowed_hosts=[silent_server.host],
        session=session,
        limits=FAST,
    )
    elapsed = time.monotonic() - started
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "timeout")
    assert silent_server.accepted >= 1
    assert elapsed < FAST.total_seconds + 0.5


@pytest.mark.timeout(15)
def test_a_silent_server_is_asked_once_not_again_after_the_read_timeout(
    silent_server, article, session
) -> None:
    limits = Limits(connect_timeout=0.5, read_timeout=0.3, total_seconds=5.0)
    started = time.monotonic()
    outcome = check(
        f"http://{silent_server.host}/a.html",
        article.signed,
        allowed_hosts=[silent_server.host],
        session=session,
        limits=limits,
    )
    assert outcome.code == "timeout"
    assert time.monotonic() - started < 0.9
    assert silent_server.accepted == 1


@pytest.mark.timeout(15)  # a broken deadline would hang, not fail
def test_a_server_dripping_its_headers_is_cut_at_the_deadline(
    silent_server, article, session
) -> None:
    # A byte every 50 ms never lets the 0.4 s read timeout fire; only the deadline stops it.
    silent_server.prefix = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: " + b"a" * 400
    started = time.monotonic()
    outcome = check(
        f"http://{silent_server.host}/a.html",
        article.signed,
        allowed_hosts=[silent_server.host],
        session=session,
        limits=FAST,
    )
    elapsed = time.monotonic() - started
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "timeout"), outcome.reason
    assert FAST.total_seconds - 0.1 < elapsed < FAST.total_seconds + 0.5


@pytest.mark.timeout(15)  # a broken deadline would hang, not fail
def test_a_server_dripping_its_body_is_cut_at_the_deadline(site, article, session) -> None:
    def drip(request):
        def body():
            yield b"<html><body><p>"
            while not site.release.wait(0.05):
                yield "政".encode()

        return Response(body(), content_type="text/html; charset=utf-8")

    site.routes["/drip.html"] = drip
    started = time.monotonic()
    outcome = check(
        site.url("/drip.html"),
        article.signed,
        allowed_hosts=[site.host],
        session=session,
        limits=FAST,
    )
    elapsed = time.monotonic() - started
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "timeout"), outcome.reason
    assert elapsed < FAST.total_seconds + 0.5


@pytest.mark.timeout(15)  # a broken deadline would hang, not fail
def test_a_50_mb_page_is_cut_off_at_the_cap(site, article, session) -> None:
    sent = []
    chunk = b"<p>" + "政务服务".encode() * 5000 + b"</p>\n"

    def huge(request):
        def body():
            yield b"<html><body>"
            while len(sent) * len(chunk) < 50 * 1024 * 1024:
                sent.append(1)
                yield chunk

        return Response(body(), content_type="text/html; charset=utf-8")

    site.routes["/huge.html"] = huge
    outcome = check(
        site.url("/huge.html"), article.signed, allowed_hosts=[site.host], session=session
    )
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "too_large")
    assert outcome.page_sha256 == "" and outcome.snapshot == b""
    time.sleep(0.2)  # let the server notice the closed connection
    assert len(sent) * len(chunk) < 20 * 1024 * 1024, "the whole page was sent"


@pytest.mark.timeout(15)  # a broken deadline would hang, not fail
def test_a_declared_length_over_the_cap_is_not_read(silent_server, article, session) -> None:
    silent_server.drip = 0
    silent_server.prefix = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 52428800\r\n\r\n<html>"
    )
    started = time.monotonic()
    outcome = check(
        f"http://{silent_server.host}/big.html",
        article.signed,
        allowed_hosts=[silent_server.host],
        session=session,
        limits=FAST,
    )
    assert outcome.code == "too_large", outcome.reason
    assert "52,428,800" in outcome.reason
    assert time.monotonic() - started < 0.5


def test_a_refused_connection_is_unreachable(article, session) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = f"127.0.0.1:{port}"
    outcome = check(f"http://{host}/a.html", article.signed, allowed_hosts=[host], session=session)
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "connection_failed")
    assert "拒绝连接" in outcome.reason


@pytest.mark.timeout(15)  # a broken deadline would hang, not fail
def test_the_deadline_of_one_check_does_not_cut_the_next(site, silent_server, session) -> None:
    from tests.verify.conftest import make_article

    article: Article = make_article()
    check(
        f"http://{silent_server.host}/a.html",
        article.signed,
        allowed_hosts=[silent_server.host],
        session=session,
        limits=FAST,
    )
    url = serve_article(site, article)
    outcome = check(url, article.signed, allowed_hosts=[site.host], session=session)
    assert outcome.verdict is Verdict.CONSISTENT, outcome.reason


HOSTILE = {
    "an empty body": (lambda: Response(b"", content_type="text/html"), "title_changed"),
    "bytes that are not UTF-8 though declared so": (
        lambda: Response(bytes(range(256)) * 40, content_type="text/html; charset=utf-8"),
        "undecodable",
    ),
    "nesting 100,000 deep": (
        lambda: Response(b"<div>" * 100_000 + b"x" + b"</div>" * 100_000, content_type="text/html"),
        "title_changed",
    ),
    "broken gzip": (
        lambda: Response(
            b"not gzip" * 50, headers={"Content-Encoding": "gzip"}, content_type="text/html"
        ),
        "connection_failed",
    ),
    "a redirect to a scheme-relative address elsewhere": (
        lambda: Response(status=302, headers={"Location": "//evil.example/x"}),
        "host_not_allowed",
    ),
    "a redirect without a target": (
        lambda: Response(status=302, headers={"Location": ""}),
        "http_error",
    ),
    "a UTF-16 page with its byte-order mark": (
        lambda: Response("<p>政务</p>".encode("utf-16"), content_type="text/html"),
        "title_changed",
    ),
}


@pytest.mark.parametrize(("answer", "code"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_answers_become_outcomes(site, article, session, answer, code) -> None:
    site.routes["/h"] = lambda request: answer()
    outcome = check(site.url("/h"), article.signed, allowed_hosts=[site.host], session=session)
    assert outcome.code == code, outcome.reason
    assert outcome.reason.endswith("。")
