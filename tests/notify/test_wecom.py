"""企业微信 application messages over real HTTP on loopback, against the WeCom simulator."""

from __future__ import annotations

import json
import socket
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from channels.simulators.server import SimulatorServer
from channels.simulators.wecom_app import ERRCODES, WeComAppServer, WeComAppSimulator
from orchestrator.notify.errors import NotifyError
from orchestrator.notify.wecom import (
    DESCRIPTION_MAX_BYTES,
    ERRORS,
    REFRESH_CODES,
    TITLE_MAX_BYTES,
    WeComApp,
    truncate_utf8,
)

USERS = ("zhangsan", "lisi", "wangwu")
TITLE = "稿件 12《青浦区秋季征兵工作动员会召开》等待您终审"
DESCRIPTION = (
    "送审人：李四（区融媒体中心）\n送审时间：2026-12-07 14:05\n请在 2 个工作日内完成终审。"
)
URL = "http://127.0.0.1:8000/console/items/12?stage=final"


@pytest.fixture(scope="module")
def server() -> Iterator[WeComAppServer]:
    with WeComAppServer(WeComAppSimulator(users=USERS)) as running:
        yield running


@pytest.fixture
def sim(server: WeComAppServer) -> WeComAppSimulator:
    server.simulator.reset()
    return server.simulator


def client(
    server: WeComAppServer, *, timeout: tuple[float, float] = (2.0, 5.0), **options: Any
) -> WeComApp:
    """A client for the simulator; `corp_id`, `secret`, `agent_id`, `base_url` override."""
    settings = server.client_settings()
    given = {name: options.pop(name, settings[name]) for name in settings}
    return WeComApp(
        given["corp_id"],
        given["secret"],
        given["agent_id"],
        base_url=given["base_url"],
        timeout=timeout,
        **options,
    )


def send(app: WeComApp, users: list[str] | None = None, /, **card: str) -> Any:
    content = {"title": TITLE, "description": DESCRIPTION, "url": URL} | card
    return app.send_card(users or ["zhangsan"], **content)


# --- delivery and the token ----------------------------------------------------------------


def test_a_card_arrives_with_its_chinese_text_intact(
    server: WeComAppServer, sim: WeComAppSimulator
) -> None:
    result = send(client(server))

    assert result.msgid and result.invalid_users == []
    [message] = sim.messages("zhangsan")
    assert message["textcard"] == {
        "title": TITLE,
        "description": DESCRIPTION,
        "url": URL,
        "btntxt": "详情",
    }
    assert message["msgid"] == result.msgid and message["truncated"] is False


def test_the_token_is_fetched_once_and_reused(
    server: WeComAppServer, sim: WeComAppSimulator
) -> None:
    app = client(server)
    for n in range(3):
        send(app, title=f"{TITLE}（{n}）")

    assert sim.calls == {"gettoken": 1, "send": 3}
    assert len(sim.messages("zhangsan")) == 3


def test_clients_sharing_a_session_storage_share_the_token(
    server: WeComAppServer, sim: WeComAppSimulator
) -> None:
    storage = MemoryStorage()
    send(client(server, session=storage), title="一")
    send(client(server, session=storage), title="二")

    assert sim.calls["gettoken"] == 1


def test_an_expired_token_is_refreshed_and_the_message_delivered_once(
    server: WeComAppServer, sim: WeComAppSimulator
) -> None:
    app = client(server)
    send(app, title="第一条")
    sim.expire_tokens()

    result = send(app, title="第二条")

    assert sim.calls == {"gettoken": 2, "send": 3}  # the 42001, then the one delivered
    titles = [m["textcard"]["title"] for m in sim.messages("zhangsan")]
    assert titles == ["第一条", "第二条"] and result.msgid
    assert sim.ledger.duplicates() == {}


@pytest.mark.parametrize("errcode", sorted(REFRESH_CODES))
def test_a_token_refused_again_after_one_refresh_is_not_retried_further(
    server: WeComAppServer, sim: WeComAppSimulator, errcode: int
) -> None:
    sim.fail(times=3, errcode=errcode)

    with pytest.raises(NotifyError) as caught:
        send(client(server))

    assert caught.value.platform_code == errcode
    assert sim.calls == {"gettoken": 2, "send": 2}
    assert sim.messages() == []


# --- recipients --------------------------------------------------------------------------------


def test_unknown_users_are_reported_and_the_others_served(
    server: WeComAppServer, sim: WeComAppSimulator
) -> None:
    result = send(client(server), ["ZhangSan", "Nobody", "lisi", "zhangsan"])

    assert result.invalid_users == ["Nobody"]  # as the caller spelled it, not lowercased
    assert len(sim.messages("zhangsan")) == 1 and len(sim.messages("lisi")) == 1


def test_no_valid_user_at_all_is_a_permanent_error(
    server: WeComAppServer, sim: WeComAppSimulator
) -> None:
    with pytest.raises(NotifyError) as caught:
        send(client(server), ["nobody", "zhaoliu"])

    error = caught.value
    assert (error.code, error.permanent, error.platform_code) == ("recipients_invalid", True, 81013)
    assert sim.messages() == []


def test_an_empty_recipient_list_is_refused_before_any_request(
    server: WeComAppServer, sim: WeComAppSimulator
) -> None:
    with pytest.raises(NotifyError) as caught:
        send(client(server), [" ", ""])

    assert (caught.value.code, caught.value.permanent) == ("recipients_empty", True)
    assert sim.calls == {}
    with pytest.raises(TypeError):
        client(server).send_card("zhangsan", TITLE, DESCRIPTION, URL)


# --- errors: transient or permanent ------------------------------------------------------------


@pytest.mark.parametrize(("errcode", "code"), [(-1, "busy"), (45009, "rate_limited")])
def test_busy_and_rate_limited_are_transient(
    server: WeComAppServer, sim: WeComAppSimulator, errcode: int, code: str
) -> None:
    app = client(server)
    sim.fail(times=1, errcode=errcode)

    with pytest.raises(NotifyError) as caught:
        send(app)

    assert (caught.value.code, caught.value.permanent) == (code, False)
    assert caught.value.platform_code == errcode
    assert send(app).msgid  # the fault was for one call only
    assert len(sim.messages("zhangsan")) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_an_http_server_error_is_transient(
    server: WeComAppServer, sim: WeComAppSimulator, status: int
) -> None:
    sim.fail(times=1, status=status)

    with pytest.raises(NotifyError) as caught:
        send(client(server))

    assert (caught.value.code, caught.value.permanent) == ("unavailable", False)


def test_a_wrong_api_address_is_permanent(server: WeComAppServer, sim: WeComAppSimulator) -> None:
    with pytest.raises(NotifyError) as caught:
        send(client(server, base_url=f"{server.url}/elsewhere"))

    assert (caught.value.code, caught.value.permanent) == ("http_error", True)


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = WeComApp("wwcorp", "secret-x", 1000002, base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(NotifyError) as caught:
        send(app)

    assert (caught.value.code, caught.value.permanent) == ("unavailable", False)


def test_a_hung_server_is_a_transient_error_after_the_read_timeout(
    server: WeComAppServer, sim: WeComAppSimulator
) -> None:
    app = client(server, timeout=(2.0, 0.3))
    send(app, title="先取得令牌")
    sim.fail(times=1, hang_s=1.0, errcode=-1)

    started = time.monotonic()
    with pytest.raises(NotifyError) as caught:
        send(app)

    assert time.monotonic() - started < 0.9
    assert (caught.value.code, caught.value.permanent) == ("outcome_unknown", False)


def test_a_lost_reply_retried_is_shown_once(server: WeComAppServer, sim: WeComAppSimulator) -> None:
    app = client(server)
    sim.fail(times=1, drop_reply=True)  # delivered, then the connection is cut

    with pytest.raises(NotifyError) as caught:
        send(app)
    retried = send(app)

    assert (caught.value.code, caught.value.permanent) == ("outcome_unknown", False)
    [delivered] = sim.messages("zhangsan")  # the duplicate check kept the retry from showing
    assert retried.msgid == delivered["msgid"]
    assert sim.ledger.duplicates() == {}


@pytest.mark.parametrize(
    ("setting", "value", "code", "errcode"),
    [
        ("agent_id", 1000099, "agent_id_invalid", 40056),
        ("secret", "not-the-secret-at-all", "secret_invalid", 40001),
        ("corp_id", "wwsomeoneelse", "corp_id_invalid", 40013),
    ],
)
def test_wrong_configuration_is_permanent(
    server: WeComAppServer,
    sim: WeComAppSimulator,
    setting: str,
    value: Any,
    code: str,
    errcode: int,
) -> None:
    with pytest.raises(NotifyError) as caught:
        send(client(server, **{setting: value}))

    assert (caught.value.code, caught.value.permanent) == (code, True)
    assert caught.value.platform_code == errcode
    assert sim.messages() == []


def test_the_secret_never_shows_in_errors_or_reprs(server: WeComAppServer) -> None:
    secret = "very-secret-value-0123456789"
    app = client(server, secret=secret)
    closed = client(server, secret=secret, base_url="http://127.0.0.1:9")

    for failing in (app, closed):
        with pytest.raises(NotifyError) as caught:
            send(failing)
        shown = "".join(traceback.format_exception(caught.value))
        assert secret not in shown + str(caught.value) + repr(caught.value)
    assert secret not in repr(app) and secret[:10] not in repr(app)


# --- content limits ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("审稿", 6, "审稿"),
        ("审稿人", 6, "审…"),  # 9 bytes: 3 left after the ellipsis' 3
        ("ab审稿", 7, "ab…"),  # "审" would need 3 bytes, only 1 left after "ab": not split
        ("a😀bc", 6, "a…"),  # 7 bytes; the 4-byte character is not split either
        ("稿 " * 10, 9, "稿…"),  # no space left dangling before the ellipsis
    ],
)
def test_truncation_keeps_characters_whole(text: str, limit: int, expected: str) -> None:
    cut = truncate_utf8(text, limit)

    assert cut == expected and len(cut.encode()) <= limit


def test_content_over_the_byte_limits_is_cut_at_a_character_boundary(
    server: WeComAppServer, sim: WeComAppSimulator
) -> None:
    title = "关于" + "青浦区" * 60 + "的通知"
    description = "终审意见：" + "稿件内容详见附件，请审核。" * 40

    send(client(server), title=title, description=description)

    [message] = sim.messages("zhangsan")
    card = message["textcard"]
    assert message["truncated"] is False  # the platform did not have to cut anything
    assert len(card["title"].encode()) <= TITLE_MAX_BYTES
    assert len(card["description"].encode()) <= DESCRIPTION_MAX_BYTES
    assert card["title"].endswith("…") and card["description"].endswith("…")
    assert title.startswith(card["title"][:-1]) and description.startswith(card["description"][:-1])
    assert "\ufffd" not in card["title"] + card["description"]


def test_the_platform_itself_cuts_bytes_and_splits_characters(
    server: WeComAppServer, sim: WeComAppSimulator
) -> None:
    """Why the client cuts first: what the simulator does, as the doc says the platform does."""
    settings = server.client_settings()
    token = requests.get(
        f"{server.url}/cgi-bin/gettoken",
        params={"corpid": settings["corp_id"], "corpsecret": settings["secret"]},
        timeout=5,
    ).json()["access_token"]
    card = {"title": "审" * 50, "description": "稿" * 200, "url": URL}
    body = {
        "touser": "lisi",
        "msgtype": "textcard",
        "agentid": settings["agent_id"],
        "textcard": card,
    }

    answer = requests.post(
        f"{server.url}/cgi-bin/message/send",
        params={"access_token": token},
        data=json.dumps(body, ensure_ascii=False).encode(),
        timeout=5,
    ).json()

    assert answer["errcode"] == 0
    [message] = sim.messages("lisi")
    assert message["truncated"] is True and message["textcard"]["title"].endswith("\ufffd")


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ({"title": "  "}, "title_missing"),
        ({"description": ""}, "content_empty"),
        ({"url": "javascript:alert(1)"}, "url_invalid"),
    ],
)
def test_a_card_that_cannot_be_sent_is_refused_before_any_request(
    server: WeComAppServer, sim: WeComAppSimulator, card: dict[str, str], code: str
) -> None:
    with pytest.raises(NotifyError) as caught:
        send(client(server), **card)

    assert (caught.value.code, caught.value.permanent) == (code, True)
    assert sim.calls == {}


# --- the error table, the token store, the simulator's admin and its mount ---------------------


def test_the_duplicate_check_window_is_the_platforms() -> None:
    for seconds in (0, 4 * 3600 + 1):
        with pytest.raises(ValueError):
            WeComApp("wwcorp", "secret-x", 1000002, duplicate_check_interval=seconds)


def test_without_the_duplicate_check_a_repeated_card_is_shown_again(
    server: WeComAppServer, sim: WeComAppSimulator
) -> None:
    app = client(server, duplicate_check_interval=None)
    send(app)
    send(app)

    assert len(sim.messages("zhangsan")) == 2


def test_every_code_the_simulator_answers_is_mapped() -> None:
    documented = set(ERRCODES) | {45033, 48002, 60020, 301002, 40003, 40031, 40063}
    assert documented <= set(ERRORS)
    assert all(ERRORS[code][1] is False for code in (-1, 45009, 45033, 40014, 42001))
    assert all(ERRORS[code][1] is True for code in (40001, 40013, 40056, 60020, 81013, 45002))


class _DictRedis:
    """Enough of a Redis client for wechatpy's RedisStorage."""

    def __init__(self, fail: bool = False) -> None:
        self.data: dict[str, Any] = {}
        self.fail = fail

    def get(self, key: str) -> Any:
        if self.fail:
            raise redis.ConnectionError("connection refused")
        return self.data.get(key)

    def set(self, key: str, value: Any, ex: int | None = None) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


def test_the_token_can_live_in_redis(server: WeComAppServer, sim: WeComAppSimulator) -> None:
    store = _DictRedis()
    for title in ("一", "二"):
        send(client(server, session=RedisStorage(store, "sanshen:wecom")), title=title)

    assert sim.calls["gettoken"] == 1
    [key] = store.data
    assert key.startswith("sanshen:wecom:") and server.simulator.secret[:10] not in key


def test_redis_down_is_transient(server: WeComAppServer, sim: WeComAppSimulator) -> None:
    app = client(server, session=RedisStorage(_DictRedis(fail=True), "sanshen:wecom"))

    with pytest.raises(NotifyError) as caught:
        send(app)

    assert (caught.value.code, caught.value.permanent) == ("token_store_unavailable", False)


def test_the_admin_endpoints(server: WeComAppServer, sim: WeComAppSimulator) -> None:
    admin = f"{server.url}/_sim"
    assert requests.post(f"{admin}/users", json={"users": ["Zhaoliu"]}, timeout=5).ok
    assert requests.post(f"{admin}/fault", json={"times": 1, "errcode": 45009}, timeout=5).ok
    refused = requests.post(f"{admin}/fault", json={"times": 1, "meteor": 1}, timeout=5)
    app = client(server)

    with pytest.raises(NotifyError):
        send(app, ["zhaoliu"])
    send(app, ["zhaoliu"])
    received = requests.get(f"{admin}/received", timeout=5).json()
    assert requests.post(f"{admin}/expire_tokens", timeout=5).ok
    send(app, ["zhaoliu"], title="令牌过期后")
    assert requests.post(f"{admin}/reset", timeout=5).ok

    assert refused.status_code == 400
    assert [(r["userid"], r["textcard"]["title"]) for r in received] == [("zhaoliu", TITLE)]
    assert sim.users == frozenset(USERS) and sim.messages() == []


def test_the_all_in_one_simulator_server_mounts_it() -> None:
    with SimulatorServer([]) as sims:
        settings = sims.wecom_app.client_settings(sims.wecom_app_url)
        app = WeComApp(
            settings["corp_id"],
            settings["secret"],
            settings["agent_id"],
            base_url=sims.wecom_app_url,
        )
        send(app, ["zhangsan"])

        assert sims.wecom_app_url.endswith("/wecom-app") and sims.names == []
        assert [m["userid"] for m in sims.wecom_app.messages()] == ["zhangsan"]
        sims.reset()
        assert sims.wecom_app.messages() == []
