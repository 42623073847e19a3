"""政府网站 specifics against its simulator over real HTTP (the shared contract runs it too)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from pydantic import SecretStr
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from channels.base import Channel, Receipt, RemoteState
from channels.errors import (
    ConfigurationInvalid,
    ContentRejected,
    OutcomeUnknown,
    Permanent,
    RateLimited,
)
from channels.gov_website import DOCUMENTED_ERROR_CODES, GovWebsiteChannel
from channels.item import Attachment, Image, Item, Source
from channels.signing import HmacAuth
from channels.simulators.base import FaultKind
from channels.simulators.gov_website import GovWebsiteSimulator
from channels.simulators.server import SimulatorServer
from tests.channels.conftest import FIGURE

CHANNEL = "gov_website"


@pytest.fixture
def sim(simulator: GovWebsiteSimulator) -> GovWebsiteSimulator:
    assert isinstance(simulator, GovWebsiteSimulator)
    return simulator


@pytest.fixture
def gov(adapter: Channel) -> GovWebsiteChannel:
    assert isinstance(adapter, GovWebsiteChannel)
    return adapter


def _page(receipt: Receipt) -> str:
    response = requests.get(receipt.url, timeout=5)
    response.raise_for_status()
    return response.text


def test_the_published_page_shows_uploaded_images_and_clean_html(
    gov: GovWebsiteChannel, make_item: Callable[..., Item]
) -> None:
    body = f'<p>正文</p><script>alert(1)</script><p><img src="{FIGURE.src}" onerror="x()"></p>'
    receipt = gov.publish(make_item(body_html=body), "k-page")

    page = _page(receipt)
    assert "正文" in page
    assert "sanshen-image:" not in page and "<script>" not in page and "onerror" not in page
    image_url = page.split('<img src="')[1].split('"')[0]
    assert requests.get(image_url, timeout=5).content == FIGURE.data


def test_a_repost_carries_its_source_line(
    gov: GovWebsiteChannel, make_item: Callable[..., Item]
) -> None:
    source = Source(
        "学习强国", "https://www.xuexi.cn/lgpage/1.html", datetime(2024, 5, 6, tzinfo=UTC)
    )
    receipt = gov.publish(make_item(source=source), "k-repost")

    page = _page(receipt)
    assert "来源：学习强国" in page
    assert "https://www.xuexi.cn/lgpage/1.html" in page
    assert "发布日期：2024-05-06" in page


def test_validate_reports_every_problem_at_once(gov: GovWebsiteChannel) -> None:
    gif_as_png = Image("c" * 64, "动图.png", "image/png", b"GIF89a....")
    item = Item(
        reference="r",
        title="长" * 81,
        body_html=f'<img src="sanshen-image:{"d" * 64}"><img src="{gif_as_png.src}">',
        images=(gif_as_png,),
        digest="摘" * 201,
        attachments=(Attachment("表.exe", "application/x-msdownload", b"MZ"),),
        source=Source("学习强国", "www.xuexi.cn/1", datetime(2024, 5, 6, tzinfo=UTC)),
    )

    codes = {p.code for p in gov.validate(item)}

    assert codes == {
        "title_too_long",
        "image_missing",
        "image_type",
        "digest_too_long",
        "attachment_type",
        "source_url_invalid",
    }


def test_an_invalid_item_is_refused_before_any_request(
    gov: GovWebsiteChannel, sim: GovWebsiteSimulator, make_item: Callable[..., Item]
) -> None:
    with pytest.raises(ContentRejected) as caught:
        gov.publish(make_item(title=""), "k-invalid")

    assert [p.code for p in caught.value.problems] == ["title_missing"]
    assert list(sim.received) == []


def test_attachments_are_uploaded_and_linked(
    gov: GovWebsiteChannel, sim: GovWebsiteSimulator, make_item: Callable[..., Item]
) -> None:
    pdf = Attachment("通知.pdf", "application/pdf", b"%PDF-1.4 test")

    gov.publish(make_item(attachments=(pdf,)), "k-attach")

    uploads = [r["filename"] for r in sim.received if r["operation"] == "upload"]
    assert "通知.pdf" in uploads


def test_a_lost_create_leaves_a_draft_that_publish_finishes(
    make_channel: Callable[..., Channel],
    sim: GovWebsiteSimulator,
    sims: SimulatorServer,
    make_item: Callable[..., Item],
) -> None:
    item = make_item(images=(), body_html="<p>只有文字</p>", cover=None)
    gov = make_channel(read_timeout=0.5)
    sim.faults.update({"rates": {FaultKind.TIMEOUT: 1.0}, "hang_s": 1.0})

    with pytest.raises(OutcomeUnknown):
        gov.publish(item, "k-lost-create")  # the only request is the create: it hangs

    sim.faults.update({"rates": {}})
    assert sims.wait_idle(timeout=30)
    draft = gov.find("k-lost-create")
    assert draft is not None and draft.state is RemoteState.SUBMITTED
    assert sim.ledger.count("k-lost-create") == 0

    receipt = gov.publish(item, "k-lost-create")
    assert receipt.state is RemoteState.PUBLISHED and receipt.external_id == draft.external_id
    assert sim.ledger.count("k-lost-create") == 1


def test_a_withdrawn_article_is_never_republished_under_its_key(
    gov: GovWebsiteChannel, sim: GovWebsiteSimulator, item: Item
) -> None:
    receipt = gov.publish(item, "k-withdrawn")
    gov.retract(receipt, "内容需更正")

    again = gov.publish(item, "k-withdrawn")

    assert again.state is RemoteState.RETRACTED
    assert gov.status(receipt).reason == "内容需更正"
    assert sim.ledger.count("k-withdrawn") == 1


def test_unknown_articles_read_as_not_found(gov: GovWebsiteChannel) -> None:
    ghost = Receipt(CHANNEL, "k-ghost", "art_missing", RemoteState.PUBLISHED)

    assert gov.status(ghost).state is RemoteState.NOT_FOUND
    assert gov.retract(ghost, "撤").state is RemoteState.NOT_FOUND


def test_rate_limits_pass_on_the_platforms_wait(
    gov: GovWebsiteChannel, sim: GovWebsiteSimulator, item: Item
) -> None:
    sim.faults.update({"rates": {FaultKind.RATE_LIMIT: 1.0}, "retry_after_s": 7})

    with pytest.raises(RateLimited) as caught:
        gov.publish(item, "k-limited")

    assert caught.value.retry_after == 7
    assert caught.value.platform_code == "RATE_LIMITED"


def test_the_platforms_problems_reach_the_reviewer(
    gov: GovWebsiteChannel, sim: GovWebsiteSimulator, item: Item
) -> None:
    sim.faults.update({"rates": {FaultKind.CONTENT_REJECTED: 1.0}})

    with pytest.raises(ContentRejected) as caught:
        gov.publish(item, "k-rejected")

    assert [(p.field, p.code) for p in caught.value.problems] == [("content", "sensitive_word")]


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"app_key": "unknown-app"}, "APP_KEY_UNKNOWN"),
        ({"app_secret": "wrong-secret"}, "INVALID_SIGNATURE"),
        ({"column_id": "other-column"}, "PERMISSION_DENIED"),
    ],
)
def test_configuration_errors_name_the_platform_code(
    make_channel: Callable[..., Channel], item: Item, override: dict[str, Any], code: str
) -> None:
    with pytest.raises(ConfigurationInvalid) as caught:
        make_channel(**override).publish(item, "k-config")

    assert caught.value.platform_code == code
    assert DOCUMENTED_ERROR_CODES[code] in str(caught.value)


def test_the_simulator_refuses_a_replayed_request(
    sims: SimulatorServer, sim: GovWebsiteSimulator
) -> None:
    settings = sims.client_settings(CHANNEL)
    session = requests.Session()
    url = f"{settings['base_url']}/api/v1/articles?idempotency_key=k"
    prepared = session.prepare_request(
        requests.Request(
            "GET", url, auth=HmacAuth(settings["app_key"], SecretStr(settings["app_secret"]))
        )
    )

    first = session.send(prepared, timeout=5)
    replay = session.send(prepared, timeout=5)

    assert first.status_code == 200
    assert (replay.status_code, replay.json()["code"]) == (401, "NONCE_REUSED")


# --- answers the simulator never gives -----------------------------------------------------


@pytest.fixture
def fake_platform() -> Iterator[Callable[[Callable[[Request], Response]], str]]:
    """Serve one handler on loopback; returns its base URL."""
    servers = []

    def serve(handler: Callable[[Request], Response]) -> str:
        app = Request.application(handler)  # type: ignore[arg-type]
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
        Response("<html>网关错误页</html>", content_type="text/html"),
        Response('{"id": "art_1"}', content_type="application/json"),  # no state
        Response("[]", content_type="application/json"),
    ],
    ids=["html", "incomplete", "not-an-object"],
)
def test_a_garbage_answer_to_create_is_outcome_unknown(
    make_channel: Callable[..., Channel],
    make_item: Callable[..., Item],
    fake_platform: Callable[[Callable[[Request], Response]], str],
    answer: Response,
) -> None:
    url = fake_platform(lambda request: answer)
    gov = make_channel(base_url=url)

    with pytest.raises(OutcomeUnknown):
        gov.publish(make_item(images=(), body_html="<p>文字</p>", cover=None), "k-garbage")


def test_an_unknown_platform_code_still_raises_a_channel_error(
    make_channel: Callable[..., Channel],
    item: Item,
    fake_platform: Callable[[Callable[[Request], Response]], str],
) -> None:
    body = '{"code": "SOMETHING_NEW", "message": "新错误"}'
    url = fake_platform(lambda request: Response(body, status=418, content_type="application/json"))

    with pytest.raises(Permanent) as caught:
        make_channel(base_url=url).publish(item, "k-new-code")

    assert type(caught.value) is Permanent
    assert caught.value.platform_code == "SOMETHING_NEW"
