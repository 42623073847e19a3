"""The back-end form of assisted mode: a clerk publishes by hand and takes an article down."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from markupsafe import escape
from playwright.sync_api import Browser, sync_playwright

from channels.base import RemoteState
from channels.simulators.cms import place_images
from channels.simulators.server import SimulatorServer
from tests.channels.conftest import CHANNELS, COVER, FIGURE, sample_item

CMS_PLATFORMS = ("gov_website", "suishenban", "xuexi", "lvse_qingpu")
CHROMIUM = Path("/usr/bin/chromium")
PASTED = (
    "<p>区政务服务中心自下月起在周六上午提供延时服务。</p>"
    '<p><img src="file:///C:/Users/clerk/Desktop/%E5%9B%BE1.png" alt="服务大厅"></p>'
    "<p>办理事项包括社保、医保、不动产登记等高频事项。</p>"
)


def cms(sims: SimulatorServer, name: str, path: str = "") -> str:
    return f"{sims.base_url(name)}/cms/{path}"


def publish(
    sims: SimulatorServer,
    name: str,
    *,
    title: str = "青浦区政务服务中心推出周末延时服务",
    body: str = PASTED,
    images: tuple[tuple[str, bytes, str], ...] = (
        ("图1.png", FIGURE.data, "image/png"),
        ("图2.jpg", COVER.data, "image/jpeg"),
    ),
    column: str | None = None,
) -> requests.Response:
    column = column or sims.simulator(name).cms_columns[0][0]
    form = {"column": column, "title": title, "body": body, "source": "区政务服务中心"}
    files = [("images", image) for image in images]
    return requests.post(cms(sims, name), data=form | {"editor": "张编辑"}, files=files, timeout=5)


def published(answer: requests.Response) -> tuple[str, str]:
    """The URL and id the 发布成功 page shows."""
    url = re.search(r'id="published-url" href="([^"]+)"', answer.text)
    article_id = re.search(r'id="published-id">([^<]+)<', answer.text)
    assert answer.status_code == 200 and "发布成功" in answer.text, answer.text
    assert url is not None and article_id is not None
    return html.unescape(url.group(1)), article_id.group(1)


def images_of(page: str) -> list[str]:
    return re.findall(r'<img[^>]*\bsrc="([^"]+)"', page)


@pytest.fixture(params=CMS_PLATFORMS)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_form_asks_for_everything_a_clerk_enters(sims: SimulatorServer, name: str) -> None:
    form = requests.get(cms(sims, name).rstrip("/"), timeout=5)  # without the slash too

    assert form.status_code == 200 and form.headers["Content-Type"] == "text/html; charset=utf-8"
    page = form.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert 'enctype="multipart/form-data"' in page
    for label in ("栏目", "标题", "正文", "图片", "来源", "编辑", "发布"):
        assert f">{label}<" in page, label
    assert '<select name="column"' in page and '<textarea name="body"' in page
    assert re.search(r'<input type="file" name="images"[^>]* multiple>', page)
    for code, label in sims.simulator(name).cms_columns:
        assert f'<option value="{code}"' in page and label in page


def test_wechat_has_no_back_end(sims: SimulatorServer) -> None:
    assert requests.get(cms(sims, "wechat"), timeout=5).status_code == 404


def test_the_form_publishes_like_the_api(sims: SimulatorServer, name: str) -> None:
    url, article_id = published(publish(sims, name))

    assert url.startswith(sims.base_url(name) + "/") and article_id in url
    page = requests.get(url, timeout=5)
    assert page.status_code == 200
    text = page.content.decode("gb18030" if name == "gov_website" else "utf-8")
    assert "青浦区政务服务中心推出周末延时服务" in text and "不动产登记" in text
    assert "来源：区政务服务中心" in text and "编辑：张编辑" in text
    first, second = images_of(text)  # the pasted image, then the one left over at the end
    assert requests.get(first, timeout=5).content == FIGURE.data
    assert requests.get(second, timeout=5).content == COVER.data
    assert "file:///" not in text
    sim = sims.simulator(name)
    assert sim.ledger.snapshot() == {f"cms:{article_id}": 1}
    [listed] = sim.live_pages()
    assert (listed["article_id"], listed["column"]) == (article_id, sim.cms_columns[0][0])


def test_images_go_at_the_end_of_a_body_without_any(sims: SimulatorServer) -> None:
    body = "<p>区政务服务中心自下月起在周六上午提供延时服务。</p>"
    url, _ = published(
        publish(sims, "lvse_qingpu", body=body, images=(("a.png", FIGURE.data, "image/png"),))
    )

    page = requests.get(url, timeout=5).text
    [image] = images_of(page)
    assert page.index("周六上午") < page.index(image)
    assert requests.get(image, timeout=5).content == FIGURE.data


@pytest.mark.parametrize(
    ("body", "urls", "expected"),
    [
        ("<p>文</p>", ["U1"], '<p>文</p><p><img src="U1" alt=""></p>'),
        ('<img src="C:\\a.png"><img src="b.png">', ["U1"], '<img src="U1"><img src="b.png">'),
        ('<img src="K/x.png"><img src="a.png">', ["U1"], '<img src="K/x.png"><img src="U1">'),
        (
            "<img src='a.png' alt=x>",
            ["U1", "U2"],
            '<img src=\'U1\' alt=x><p><img src="U2" alt=""></p>',
        ),
        ('<img alt="无地址">', ["U1"], '<img src="U1" alt="无地址">'),
        ("<p>文</p>", [], "<p>文</p>"),
    ],
    ids=["appended", "in_order", "known_kept", "left_over", "no_src", "nothing"],
)
def test_place_images(body: str, urls: list[str], expected: str) -> None:
    assert place_images(body, urls, known=lambda src: src.startswith("K/")) == expected


def test_the_form_refuses_what_is_missing_and_keeps_what_was_typed(sims: SimulatorServer) -> None:
    answer = publish(
        sims, "suishenban", title=" ", images=(("报告.png", b"%PDF-1.4", "image/png"),)
    )

    assert answer.status_code == 400
    assert "标题须为 1 至 80 个字" in answer.text and "不是 JPG、PNG 或 GIF 图片" in answer.text
    assert str(escape(PASTED)) in answer.text
    assert sims.simulator("suishenban").live_pages() == []


def test_the_article_list_takes_an_article_down(sims: SimulatorServer, name: str) -> None:
    url, article_id = published(publish(sims, name))
    listing = requests.get(cms(sims, name, "articles"), timeout=5).text
    assert f'id="article-{article_id}"' in listing and f'id="delete-{article_id}"' in listing
    action = re.search(
        rf'<form method="post" action="([^"]+)"><button[^>]*id="delete-{article_id}"', listing
    )
    assert action is not None

    answer = requests.post(f"{sims.url}{html.unescape(action.group(1))}", timeout=5)

    assert answer.status_code == 200 and f"已删除文章 {article_id}" in answer.text
    assert answer.history[0].status_code == 303
    assert requests.get(url, timeout=5).status_code == 404
    assert f'id="delete-{article_id}"' not in answer.text and "已删除" in answer.text
    [listed] = sims.simulator(name).live_pages()
    assert listed["state"] == "gone"


def test_an_article_published_through_the_api_can_be_taken_down_in_the_back_end(
    sims: SimulatorServer,
) -> None:
    cls = CHANNELS["gov_website"]
    channel = cls(cls.settings_model.model_validate(sims.client_settings("gov_website")))
    receipt = channel.publish(sample_item(), "k-api")

    taken = requests.post(
        cms(sims, "gov_website", f"articles/{receipt.external_id}/delete"), timeout=5
    )

    assert taken.status_code == 200
    assert channel.status(receipt).state is RemoteState.RETRACTED
    assert requests.get(receipt.url, timeout=5).status_code == 404


def test_taking_down_an_unknown_article_is_not_found(sims: SimulatorServer) -> None:
    answer = requests.post(cms(sims, "xuexi", "articles/MS000/delete"), timeout=5)

    assert answer.status_code == 404 and "没有文章 MS000" in answer.text


# --- in a browser, 360 px wide ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the back-end's browser test needs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


def test_a_clerk_publishes_and_takes_down_on_a_phone(
    sims: SimulatorServer, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    wide = "document.documentElement.scrollWidth"
    try:
        page.goto(cms(sims, "xuexi"))
        assert page.evaluate(wide) <= 360
        page.select_option("#column", "sh-qxdt")
        page.fill("#title", "青浦区政务服务中心推出周末延时服务")
        page.fill("#body", PASTED)
        page.set_input_files(
            "#images", [{"name": "图1.png", "mimeType": "image/png", "buffer": FIGURE.data}]
        )
        page.click("#publish")

        assert page.text_content("#result") == "发布成功"
        url = page.get_attribute("#published-url", "href")
        article_id = page.text_content("#published-id")
        assert url and article_id and page.evaluate(wide) <= 360
        assert requests.get(url, timeout=5).status_code == 200

        page.click("text=文章管理")
        assert page.evaluate(wide) <= 360
        page.click(f"#delete-{article_id}")
        assert f"已删除文章 {article_id}" in (page.text_content("#notice") or "")
        assert requests.get(url, timeout=5).status_code == 404
    finally:
        context.close()
