"""随申办旗舰店 specifics against its simulator over real HTTP (the shared contract runs it too)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from channels.base import Channel, Receipt, RemoteState
from channels.errors import ConfigurationInvalid, OutcomeUnknown, Permanent, RateLimited
from channels.item import Image, Item, Source
from channels.simulators.base import FaultKind
from channels.simulators.suishenban import SuishenbanSimulator
from channels.suishenban import DOCUMENTED_ERROR_CODES, SuishenbanChannel
from tests.channels.conftest import COVER

CHANNEL = "suishenban"


@pytest.fixture
def sim(simulator: SuishenbanSimulator) -> SuishenbanSimulator:
    assert isinstance(simulator, SuishenbanSimulator)
    return simulator


@pytest.fixture
def zsb(adapter: Channel) -> SuishenbanChannel:
    assert isinstance(adapter, SuishenbanChannel)
    return adapter


def test_the_store_may_keep_an_item_in_review(
    zsb: SuishenbanChannel, sim: SuishenbanSimulator, item: Item
) -> None:
    sim.faults.update({"confirm_delay_s": 3600})

    receipt = zsb.publish(item, "k-review")

    assert zsb.capabilities.async_confirmation
    assert receipt.state is RemoteState.SUBMITTED and receipt.url == ""
    assert zsb.status(receipt).state is RemoteState.SUBMITTED
    assert sim.ledger.count("k-review") == 1


def test_an_item_online_at_once_has_its_page(zsb: SuishenbanChannel, item: Item) -> None:
    receipt = zsb.publish(item, "k-online")

    assert receipt.state is RemoteState.PUBLISHED
    page = requests.get(receipt.url, timeout=5).text
    assert item.title in page and "sanshen-image:" not in page


def test_a_rejected_review_reads_as_rejected_with_the_reason(
    zsb: SuishenbanChannel, make_item: Callable[..., Item]
) -> None:
    receipt = zsb.publish(make_item(title="驳回测试：周末延时服务"), "k-review-rejected")

    status = zsb.status(receipt)
    assert status.state is RemoteState.REJECTED and status.reason
    with pytest.raises(Permanent) as caught:
        zsb.retract(receipt, "撤下")
    assert caught.value.platform_code == "40009"


def test_an_item_in_review_can_be_taken_down(
    zsb: SuishenbanChannel, sim: SuishenbanSimulator, item: Item
) -> None:
    sim.faults.update({"confirm_delay_s": 3600})
    receipt = zsb.publish(item, "k-pending-offline")

    assert zsb.retract(receipt, "暂缓发布").state is RemoteState.RETRACTED
    assert zsb.status(receipt) == zsb.retract(receipt, "再次下线")


def test_the_summary_is_the_digest_or_the_start_of_the_text(
    make_item: Callable[..., Item],
) -> None:
    long_text = "<p>" + "青浦" * 100 + "</p>"

    assert SuishenbanChannel.summary(make_item(digest="摘要")) == "摘要"
    derived = SuishenbanChannel.summary(make_item(digest="", body_html=long_text))
    assert len(derived) == 120 and derived.endswith("…")
    assert SuishenbanChannel.summary(make_item(digest="", body_html="<p> 短 文 </p>")) == "短 文"


def test_validate_follows_the_stores_limits(zsb: SuishenbanChannel) -> None:
    gif = Image("e" * 64, "封面.gif", "image/gif", b"GIF89a....")
    base = Item(reference="r", title="标题", body_html="<p>正文</p>", cover=COVER)

    def codes(**changes: Any) -> set[str]:
        fields = {f: getattr(base, f) for f in base.__slots__} | changes
        return {p.code for p in zsb.validate(Item(**fields))}

    assert codes() == set()
    assert codes(title="长" * 41) == {"title_too_long"}
    assert codes(cover=None) == {"cover_missing"}
    assert codes(cover=gif) == {"image_type"}
    assert codes(digest="摘" * 121) == {"digest_too_long"}


def test_a_repost_sends_its_source(
    zsb: SuishenbanChannel, sim: SuishenbanSimulator, make_item: Callable[..., Item]
) -> None:
    source = Source(
        "绿色青浦", "https://www.lvseqingpu.cn/n/1.html", datetime(2024, 5, 6, tzinfo=UTC)
    )

    receipt = zsb.publish(make_item(source=source), "k-repost")

    page = requests.get(receipt.url, timeout=5).text
    assert "来源：绿色青浦" in page and "https://www.lvseqingpu.cn/n/1.html" in page


def test_unknown_items_read_as_not_found(zsb: SuishenbanChannel) -> None:
    ghost = Receipt(CHANNEL, "k-ghost", "I-missing", RemoteState.PUBLISHED)

    assert zsb.status(ghost).state is RemoteState.NOT_FOUND


def test_rate_limits_pass_on_the_gateways_wait(
    zsb: SuishenbanChannel, sim: SuishenbanSimulator, item: Item
) -> None:
    sim.faults.update({"rates": {FaultKind.RATE_LIMIT: 1.0}, "retry_after_s": 9})

    with pytest.raises(RateLimited) as caught:
        zsb.publish(item, "k-limited")

    assert (caught.value.retry_after, caught.value.platform_code) == (9, "42900")


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"app_key": "unknown-app"}, "20001"),
        ({"app_secret": "wrong-secret"}, "20002"),
        ({"column_code": "other-column"}, "20005"),
    ],
)
def test_configuration_errors_name_the_platform_code(
    make_channel: Callable[..., Channel], item: Item, override: dict[str, Any], code: str
) -> None:
    with pytest.raises(ConfigurationInvalid) as caught:
        make_channel(**override).publish(item, "k-config")

    assert caught.value.platform_code == code
    assert DOCUMENTED_ERROR_CODES[code] in str(caught.value)


# --- answers the simulator never gives -----------------------------------------------------


@pytest.fixture
def store_that_garbles_the_push() -> Iterator[Callable[[bytes], str]]:
    """A store answering uploads properly and the push with the given bytes."""
    servers = []

    def serve(push_answer: bytes) -> str:
        @Request.application  # type: ignore[arg-type]
        def app(request: Request) -> Response:
            if request.path.endswith("/file/upload"):
                data = {"fileId": "F1", "url": "https://zsb.example.cn/files/F1.png"}
                return Response(json.dumps({"code": "0", "msg": "成功", "data": data}))
            return Response(push_answer, content_type="application/json")

        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "answer",
    [
        "<html>维护中</html>".encode(),
        b'{"code": "0", "msg": "ok", "data": {}}',
        b'{"code": "0", "msg": "ok"}',
        b'{"msg": "no code"}',
    ],
    ids=["html", "no-info-id", "no-data", "no-code"],
)
def test_a_garbage_answer_to_the_push_is_outcome_unknown(
    make_channel: Callable[..., Channel],
    item: Item,
    store_that_garbles_the_push: Callable[[bytes], str],
    answer: bytes,
) -> None:
    zsb = make_channel(base_url=store_that_garbles_the_push(answer))

    with pytest.raises(OutcomeUnknown):
        zsb.publish(item, "k-garbage")
