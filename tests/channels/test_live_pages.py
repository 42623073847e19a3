"""Every platform's public article page over real HTTP: its template, charset, images, what
trafilatura makes of it, and every live-page fault knob (`/_sim/pages`)."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import trafilatura
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from channels.base import RemoteState
from channels.simulators.live import KnobInvalid, PageUnknown
from channels.simulators.pages import PLATFORMS, PageArticle, render_page
from channels.simulators.server import SimulatorServer
from tests.channels.conftest import CHANNELS, FIGURE, sample_item

PARAGRAPHS = (
    "为方便企业和群众办事，区政务服务中心自下月起在周六上午提供延时服务，办理事项涵盖社保、医保、"
    "不动产登记等高频事项。",
    "延时服务期间，中心综合窗口、企业服务专区和自助服务区正常开放，工作人员将提供咨询、帮办代办等服务。",
    "据介绍，今年以来区政务服务中心持续推进“一网通办”改革，线上办件比例已超过八成，群众满意度不断提升。",
    "下一步，区政务服务中心将根据群众需求，进一步优化服务时间和服务方式，让企业和群众办事更方便、更快捷。",
)
LONG_BODY = (
    f"<p>{PARAGRAPHS[0]}</p><p>{PARAGRAPHS[1]}</p>"
    f'<p><img src="{FIGURE.src}" alt="服务大厅"></p>'
    f"<p>{PARAGRAPHS[2]}</p><p>{PARAGRAPHS[3]}</p>"
)
DECLARED = {"gov_website": "gb2312"} | {
    name: "utf-8" for name in PLATFORMS if name != "gov_website"
}
CHROME_EVERYWHERE = (
    "版权所有",
    "ICP备",
    "主办单位",
    "来源：",
    "编辑：",
    "发布时间：",
    "本站为测试用模拟站点",
)
CHROME_OWN = {
    "gov_website": (
        "上海市青浦区人民政府",
        "当前位置",
        "浏览次数",
        "相关文章",
        "分享到",
        "政务服务",
    ),
    "suishenban": ("随申办", "青浦旗舰店", "资讯详情", "浏览次数", "更多资讯", "分享"),
    "wechat": ("js_content", "青浦政务服务", "阅读", "喜欢此内容的人还喜欢", "微信扫一扫"),
    "xuexi": ("学习强国", "您的位置", "浏览次数", "相关推荐", "分享到"),
    "lvse_qingpu": ("绿色青浦", "当前位置", "浏览次数", "相关新闻", "热门新闻", "分享到"),
}


def live(sims: SimulatorServer, name: str, key: str, **item: Any) -> str:
    """Publish through `name`'s adapter until the article is live; its public URL."""
    cls = CHANNELS[name]
    channel = cls(cls.settings_model.model_validate(sims.client_settings(name)))
    status = channel.status(channel.publish(sample_item(**({"body_html": LONG_BODY} | item)), key))
    assert status.state is RemoteState.PUBLISHED, status
    return status.url


def text(response: requests.Response) -> str:
    return response.content.decode(
        "gb18030" if "gb2312" in response.headers["Content-Type"] else "utf-8"
    )


def images_of(page: str) -> list[str]:
    return re.findall(r'<img[^>]*\bsrc="([^"]+)"', page)


def admin(sims: SimulatorServer, name: str, method: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{sims.base_url(name)}/_sim/pages", json=body, timeout=5)


# --- every platform -----------------------------------------------------------------------------


def test_the_article_page_is_served_on_loopback_through_the_platforms_template(
    sims: SimulatorServer, adapter_name: str
) -> None:
    url = live(sims, adapter_name, "k-page")

    assert url.startswith(sims.base_url(adapter_name) + "/")
    response = requests.get(url, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"text/html; charset={DECLARED[adapter_name]}"
    page = text(response)
    if adapter_name == "gov_website":
        assert '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />' in page
        assert response.content.decode("gbk")  # GBK bytes, not UTF-8
        with pytest.raises(UnicodeDecodeError):
            response.content.decode("utf-8")
    else:
        assert '<meta charset="utf-8">' in page
    assert sample_item().title in page and PARAGRAPHS[2] in page
    for chrome in CHROME_EVERYWHERE + CHROME_OWN[adapter_name]:
        assert chrome in page, chrome
    [image] = images_of(page)
    assert image.startswith(sims.base_url(adapter_name) + "/")
    assert requests.get(image, timeout=5).content == FIGURE.data


def test_trafilatura_finds_the_article_and_leaves_the_chrome(
    sims: SimulatorServer, adapter_name: str
) -> None:
    live(sims, adapter_name, "k-other", title="青浦区开展营商环境专题调研")
    url = live(sims, adapter_name, "k-main")

    page = requests.get(url, timeout=5)
    extracted = trafilatura.extract(page.content) or ""

    for paragraph in PARAGRAPHS:
        assert paragraph in extracted
    for chrome in (
        "ICP备",
        "版权所有",
        "主办单位",
        "青浦区开展营商环境专题调研",
        "浏览次数",
        "分享",
    ):
        assert chrome not in extracted, chrome


def test_a_short_article_needs_trafilaturas_precision_mode(
    sims: SimulatorServer, adapter_name: str
) -> None:
    """Under 250 characters trafilatura's default rescues text from the whole page, chrome
    included; `favor_precision=True` keeps to the article (the verifier should use it)."""
    url = live(sims, adapter_name, "k-short", body_html=f"<p>{PARAGRAPHS[0]}</p>")

    page = requests.get(url, timeout=5).content

    assert trafilatura.extract(page, favor_precision=True) == PARAGRAPHS[0]


def test_each_fetch_counts_a_view_and_other_articles_are_related(
    sims: SimulatorServer, adapter_name: str
) -> None:
    live(sims, adapter_name, "k-older", title="青浦区开展营商环境专题调研")
    url = live(sims, adapter_name, "k-newer")
    sim = sims.simulator(adapter_name)

    before = next(p["views"] for p in sim.live_pages() if p["url"] == url)
    page = text(requests.get(url, timeout=5))
    after = next(p["views"] for p in sim.live_pages() if p["url"] == url)

    assert after == before + 1 and str(after) in page
    assert "青浦区开展营商环境专题调研" in page


# --- the platform takes a page down -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status"), [("gov_website", 404), ("suishenban", 404), ("wechat", 410)]
)
def test_a_retracted_article_is_gone(sims: SimulatorServer, name: str, status: int) -> None:
    cls = CHANNELS[name]
    channel = cls(cls.settings_model.model_validate(sims.client_settings(name)))
    receipt = channel.publish(sample_item(body_html=LONG_BODY), "k-gone")
    url = channel.status(receipt).url
    assert requests.get(url, timeout=5).status_code == 200

    channel.retract(receipt, "信息有误，撤下")

    gone = requests.get(url, timeout=5)
    assert gone.status_code == status and "删除" in gone.text
    [listed] = sims.simulator(name).live_pages()
    assert (listed["state"], listed["status"]) == ("gone", status)


def test_a_page_in_review_is_not_served_until_it_is_online(sims: SimulatorServer) -> None:
    zsb = sims.simulator("suishenban")
    zsb.faults.update({"confirm_delay_s": 0.3})
    cls = CHANNELS["suishenban"]
    channel = cls(cls.settings_model.model_validate(sims.client_settings("suishenban")))
    receipt = channel.publish(sample_item(), "k-review")
    url = f"{sims.base_url('suishenban')}/info/{receipt.external_id}.html"

    assert requests.get(url, timeout=5).status_code == 404 and zsb.live_pages() == []
    time.sleep(0.35)
    assert requests.get(url, timeout=5).status_code == 200
    assert channel.status(receipt).url == url


def test_urls_made_outside_a_request_use_the_public_root(sims: SimulatorServer) -> None:
    wechat = sims.simulator("wechat")
    assert wechat.public_root == sims.base_url("wechat")
    wechat.faults.update({"confirm_delay_s": 0.2})  # the job finishes in a timer thread
    cls = CHANNELS["wechat"]
    channel = cls(cls.settings_model.model_validate(sims.client_settings("wechat")))
    receipt = channel.publish(sample_item(), "k-timer")
    time.sleep(0.3)

    [page] = wechat.live_pages()
    assert page["url"].startswith(f"{sims.base_url('wechat')}/s/")
    assert channel.status(receipt).url == page["url"]
    assert requests.get(page["url"], timeout=5).status_code == 200


# --- fault knobs --------------------------------------------------------------------------------


def test_replace_append_and_drop_paragraph_alter_the_live_text(sims: SimulatorServer) -> None:
    url = live(sims, "xuexi", "k-edit")

    changed = admin(sims, "xuexi", "PUT", {"url": url, "replace": ["周六上午", "周日下午"]})
    admin(sims, "xuexi", "PUT", {"url": url, "append": "<p>本条为追加的内容。</p>"})
    admin(sims, "xuexi", "PUT", {"url": url, "drop_paragraph": 2})

    assert changed.status_code == 200
    page = requests.get(url, timeout=5).text
    assert "周日下午" in page and "周六上午" not in page
    assert "本条为追加的内容。" in page
    assert PARAGRAPHS[1] not in page and PARAGRAPHS[2] in page
    [listed] = admin(sims, "xuexi", "GET").json()
    assert listed["faults"]["edits"] == [
        {"replace": ["周六上午", "周日下午"]},
        {"append": "<p>本条为追加的内容。</p>"},
        {"drop_paragraph": 2},
    ]


def test_swap_image_serves_another_picture_of_the_same_size(sims: SimulatorServer) -> None:
    url = live(sims, "gov_website", "k-swap")
    [image] = images_of(text(requests.get(url, timeout=5)))

    sims.simulator("gov_website").alter_page(url, swap_image=1)

    swapped = requests.get(image, timeout=5)
    assert swapped.headers["Content-Type"].startswith("image/")
    assert swapped.content != FIGURE.data
    with (
        PILImage.open(io.BytesIO(swapped.content)) as picture,
        PILImage.open(io.BytesIO(FIGURE.data)) as original,
    ):
        assert picture.size == original.size
        assert picture.convert("RGBA").getpixel((0, 0)) != original.convert("RGBA").getpixel((0, 0))


def test_not_image_answers_bytes_that_are_not_an_image(sims: SimulatorServer) -> None:
    url = live(sims, "wechat", "k-notimage")
    [image] = images_of(requests.get(url, timeout=5).text)

    sims.simulator("wechat").alter_page(url, not_image=1)

    broken = requests.get(image, timeout=5)
    assert broken.status_code == 200 and broken.headers["Content-Type"] == "image/png"
    with pytest.raises(UnidentifiedImageError):
        PILImage.open(io.BytesIO(broken.content))


@pytest.mark.parametrize("status", [404, 410])
def test_remove_answers_the_status(sims: SimulatorServer, status: int) -> None:
    url = live(sims, "lvse_qingpu", f"k-remove-{status}")

    admin(sims, "lvse_qingpu", "PUT", {"url": url, "remove": status})

    assert requests.get(url, timeout=5).status_code == status


def test_hang_s_waits_before_answering(sims: SimulatorServer) -> None:
    url = live(sims, "suishenban", "k-hang")
    sims.simulator("suishenban").alter_page(url, hang_s=0.5)

    with pytest.raises(requests.ReadTimeout):
        requests.get(url, timeout=(2, 0.15))
    started = time.monotonic()
    assert requests.get(url, timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.45


def test_huge_mb_streams_a_page_of_that_size(sims: SimulatorServer) -> None:
    url = live(sims, "gov_website", "k-huge")
    sims.simulator("gov_website").alter_page(url, huge_mb=2)

    with requests.get(url, timeout=5, stream=True) as response:
        assert "Content-Length" not in response.headers
        assert response.headers["Transfer-Encoding"] == "chunked"
        chunks = response.iter_content(64 * 1024)
        first = next(chunks)
        size = len(first) + sum(len(chunk) for chunk in chunks)

    assert b"charset=gb2312" in first
    assert 2 * 1024 * 1024 <= size < 2 * 1024 * 1024 + 64 * 1024


def test_undeclared_drops_every_charset_declaration(sims: SimulatorServer) -> None:
    url = live(sims, "gov_website", "k-undeclared")
    sims.simulator("gov_website").alter_page(url, undeclared=True)

    response = requests.get(url, timeout=5)

    assert response.headers["Content-Type"] == "text/html"
    assert b"charset" not in response.content
    assert PARAGRAPHS[0] in response.content.decode("gbk")  # still GBK bytes


def test_redirect_loop_points_the_page_at_itself(sims: SimulatorServer) -> None:
    url = live(sims, "xuexi", "k-loop")
    sims.simulator("xuexi").alter_page(url, redirect_loop=True)

    first = requests.get(url, timeout=5, allow_redirects=False)
    assert first.status_code == 302 and first.headers["Location"] == url
    with pytest.raises(requests.TooManyRedirects):
        requests.get(url, timeout=5)


def test_restore_clears_every_fault(sims: SimulatorServer) -> None:
    url = live(sims, "wechat", "k-restore")
    sim = sims.simulator("wechat")
    original = requests.get(url, timeout=5).text
    [image] = images_of(original)
    sim.alter_page(url, replace=["周六上午", "周日"], swap_image=1, remove=410, undeclared=True)

    restored = admin(sims, "wechat", "PUT", {"url": url, "restore": True})

    assert restored.status_code == 200 and restored.json()["faults"] == {}
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "charset=utf-8" in page.headers["Content-Type"]
    assert "周六上午" in page.text
    assert requests.get(image, timeout=5).content == FIGURE.data


def test_reset_forgets_the_pages(sims: SimulatorServer) -> None:
    url = live(sims, "gov_website", "k-reset")

    requests.post(f"{sims.base_url('gov_website')}/_sim/reset", timeout=5)

    assert admin(sims, "gov_website", "GET").json() == []
    assert requests.get(url, timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"meteor": 1}, "不认识的设置"),
        ({}, "没有要改的设置"),
        ({"replace": ["不存在的原文", "新"]}, "正文中没有"),
        ({"replace": "周六"}, "replace 须为"),
        ({"append": ""}, "append 须为"),
        ({"drop_paragraph": 0}, "从 1 开始"),
        ({"drop_paragraph": 99}, "第 99 段不存在"),
        ({"swap_image": 2}, "第 2 张图片不存在"),
        ({"not_image": True}, "从 1 开始"),
        ({"remove": 500}, "404 或 410"),
        ({"hang_s": -1}, "hang_s 须为"),
        ({"huge_mb": 5000}, "huge_mb 须为"),
        ({"undeclared": "yes"}, "true 或 false"),
        ({"restore": False}, "restore 只能为 true"),
    ],
)
def test_a_bad_knob_is_refused_in_chinese(
    sims: SimulatorServer, knobs: dict[str, Any], message: str
) -> None:
    url = live(sims, "gov_website", "k-bad")

    answer = admin(sims, "gov_website", "PUT", {"url": url, **knobs})

    assert answer.status_code == 400 and answer.json()["error"] == "bad_page_knob"
    assert message in answer.json()["message"]
    with pytest.raises(KnobInvalid):
        sims.simulator("gov_website").alter_page(url, **knobs)


def test_a_knob_for_an_unknown_page_or_without_url_is_refused(sims: SimulatorServer) -> None:
    live(sims, "gov_website", "k-known")
    missing = f"{sims.base_url('gov_website')}/articles/art_missing.html"

    unknown = admin(sims, "gov_website", "PUT", {"url": missing, "remove": 404})
    no_url = admin(sims, "gov_website", "PUT", {"remove": 404})

    assert unknown.status_code == 404 and "没有这个页面" in unknown.json()["message"]
    assert no_url.status_code == 400 and "url" in no_url.json()["message"]
    with pytest.raises(PageUnknown):
        sims.simulator("gov_website").alter_page(missing, remove=404)


def test_a_refused_knob_leaves_the_page_as_it_was(sims: SimulatorServer) -> None:
    url = live(sims, "gov_website", "k-atomic")

    refused = admin(sims, "gov_website", "PUT", {"url": url, "append": "<p>新段</p>", "remove": 1})
    refused_image = admin(sims, "gov_website", "PUT", {"url": url, "swap_image": 1, "hang_s": -1})

    assert refused.status_code == 400 and refused_image.status_code == 400
    [listed] = admin(sims, "gov_website", "GET").json()
    assert listed["faults"] == {}
    assert "新段" not in text(requests.get(url, timeout=5))


# --- render_page itself -------------------------------------------------------------------------

ARTICLE = PageArticle(
    title="朱镕基同志题写的牌匾修复完成",  # 镕 is GBK but not GB2312
    body_html="<p>修复工作历时三个月。😀</p>",  # the emoji is not even GBK
    published_at=datetime(2024, 5, 6, 2, 30, tzinfo=UTC),
    source="青浦区文化和旅游局",
    editor="张编辑",
    views=1234,
    related=("青浦区博物馆夜场开放",),
)


def test_render_page_knows_every_registered_platform() -> None:
    assert set(PLATFORMS) == set(CHANNELS)
    with pytest.raises(KeyError):
        render_page("weibo", ARTICLE)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_render_page_shows_the_meta_line_in_local_time(platform: str) -> None:
    data, _ = render_page(platform, ARTICLE)
    page = data.decode("gb18030" if platform == "gov_website" else "utf-8")

    assert "来源：青浦区文化和旅游局" in page and "编辑：张编辑" in page
    assert "2024-05-06 10:30" in page or "2024年05月06日 10:30" in page
    assert "1234" in page and "青浦区博物馆夜场开放" in page


def test_the_gov_page_is_gbk_with_character_references_beyond_it() -> None:
    data, content_type = render_page("gov_website", ARTICLE)

    assert content_type == "text/html; charset=gb2312"
    assert "朱镕基".encode("gbk") in data and b"&#128512;" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("gb2312")  # as declared, strictly: 镕 is not GB2312; decode as GB18030


def test_render_page_is_fast() -> None:
    for platform in PLATFORMS:
        render_page(platform, ARTICLE)
    started = time.perf_counter()
    for _ in range(100):
        for platform in PLATFORMS:
            render_page(platform, ARTICLE)
    per_page = (time.perf_counter() - started) / (100 * len(PLATFORMS))

    assert per_page < 0.002
