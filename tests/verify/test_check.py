"""check() end to end against pages served on loopback: what is consistent and what is not."""

from __future__ import annotations

import gzip
import hashlib
import re

import pytest
import requests
from werkzeug.wrappers import Response

from orchestrator.verify import Limits, Signed, Verdict, check, signed_text
from orchestrator.verify.text import normalise
from tests.verify.conftest import (
    PARAGRAPHS,
    TITLE,
    Article,
    Site,
    encoded,
    make_article,
    page_of,
    picture,
    serve_article,
)


def run(site: Site, url: str, article: Article, session: requests.Session, **kwargs: object):
    return check(url, article.signed, allowed_hosts=[site.host], session=session, **kwargs)  # type: ignore[arg-type]


# -- consistent pages -------------------------------------------------------------------------


def test_a_utf8_page_with_its_chrome_is_consistent(site, article, session) -> None:
    url = serve_article(
        site,
        article,
        platform="wechat",
        source="青浦区政务服务办公室",
        editor="张三",
        views=1024,
        related=("区领导调研政务服务中心窗口建设", "青浦区召开优化营商环境大会"),
    )
    outcome = run(site, url, article, session)
    assert (outcome.verdict, outcome.code) == (Verdict.CONSISTENT, "ok"), outcome.reason
    assert outcome.verdict.label == "一致"
    assert outcome.similarity == 1.0 and outcome.diff == ()
    assert outcome.images.expected == outcome.images.found == outcome.images.compared == 2
    assert outcome.images.mismatched == () and outcome.images.unfetchable == ()
    served = site.routes["/a/1.html"](None).get_data()  # type: ignore[arg-type]
    assert outcome.page_sha256 == hashlib.sha256(served).hexdigest()
    assert gzip.decompress(outcome.snapshot) == served
    assert outcome.http_status == 200 and outcome.final_url == url
    assert outcome.reason == "页面与签发版本一致。"


def test_a_gb2312_declared_page_holding_gbk_characters_is_consistent(site, session) -> None:
    # 喆 and 堃 are in GBK but not in GB2312: a strict gb2312 decoder fails on this page.
    first = PARAGRAPHS[0] + "区政务服务办公室主任王喆、副主任李堃出席会议。"
    article = make_article((first, *PARAGRAPHS[1:]))
    url = serve_article(site, article, platform="gov_website", editor="王喆")
    data = site.routes["/a/1.html"](None).get_data()  # type: ignore[arg-type]
    assert b"charset=gb2312" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("gb2312")
    outcome = run(site, url, article, session)
    assert outcome.verdict is Verdict.CONSISTENT, outcome.reason
    assert outcome.images.compared == 2


@pytest.mark.parametrize("platform", ["gov_website", "suishenban", "xuexi", "lvse_qingpu"])
def test_every_platform_template_is_consistent(site, article, session, platform) -> None:
    url = serve_article(site, article, platform=platform, editor="王五", views=7)
    outcome = run(site, url, article, session)
    assert outcome.verdict is Verdict.CONSISTENT, outcome.reason


SHORT_BODY = "<p>自下月起周六上午提供延时服务。</p>"


@pytest.mark.parametrize(
    "platform", ["gov_website", "suishenban", "wechat", "xuexi", "lvse_qingpu"]
)
def test_a_one_sentence_article_is_consistent_and_a_sentence_added_to_it_is_not(
    site, session, platform
) -> None:
    """An extractor tuned for recall takes the page's chrome for a very short article's own
    text (found by the pipeline's walk with one sentence on the 政府网站 template)."""
    signed = Signed(TITLE, SHORT_BODY, {})
    added = SHORT_BODY + "<p>据悉，该服务将于年底前覆盖全区各街镇。</p>"
    for path, body, verdict in (
        ("/s/1.html", SHORT_BODY, Verdict.CONSISTENT),
        ("/s/2.html", added, Verdict.MISMATCH),
    ):
        data, content_type = page_of(platform, body)
        site.routes[path] = lambda _request, d=data, t=content_type: Response(d, content_type=t)
        outcome = check(site.url(path), signed, allowed_hosts=[site.host], session=session)
        assert outcome.verdict is verdict, (platform, path, outcome.reason)


def test_the_default_session_works_too(site, article) -> None:
    url = serve_article(site, article)
    outcome = check(url, article.signed, allowed_hosts=[site.host])
    assert outcome.verdict is Verdict.CONSISTENT, outcome.reason


# -- benign differences -----------------------------------------------------------------------

META_LINE = (
    "<p>来源：青浦区政务服务办公室　编辑：张三　发布时间：2024-05-06 10:30　浏览次数：1024</p>"
)
TOOLS = "<p>【字号 大 中 小】【打印本页】【关闭窗口】</p>"
SHARE = "<p>分享到：微信 微博 QQ空间</p><p>责任编辑：李四</p>"


def _spaced(body: str) -> str:
    return body.replace("，", "， \n ").replace("<p>", "<p>&nbsp;&nbsp;\u3000\u3000")


def _half_width(body: str) -> str:
    """Commas and colons half-width, percent signs and the digit 2 full-width, in the text."""
    table = str.maketrans({"，": ",", "%": "％", "2": "２", "：": ":"})
    return re.sub(r">[^<]+<", lambda text: text.group().translate(table), body)


BENIGN = {
    "whitespace and indentation": lambda body: _spaced(body),
    "punctuation and digit width": lambda body: _half_width(body),
    "source, editor and views line at the top": lambda body: META_LINE + body,
    "font size, print and close tools": lambda body: TOOLS + body,
    "share buttons and editor in charge at the end": lambda body: body + SHARE,
    "curly quotes as straight quotes": lambda body: body.replace("“", '"').replace("”", '"'),
}


@pytest.mark.parametrize("change", BENIGN.values(), ids=BENIGN.keys())
@pytest.mark.parametrize("platform", ["gov_website", "wechat"])
def test_benign_differences_are_consistent(site, article, session, change, platform) -> None:
    url = serve_article(site, article, platform=platform, body_html=change(article.body()))
    outcome = run(site, url, article, session)
    assert outcome.verdict is Verdict.CONSISTENT, outcome.reason


def test_recompressed_and_resized_images_are_the_same_pictures(site, article, session) -> None:
    smaller = tuple(encoded(picture(seed).resize((320, 210)), quality=55) for seed in (1, 2))
    as_png = (encoded(picture(1), "PNG"), smaller[1])
    for images in (smaller, as_png):
        url = serve_article(site, article, images=images)
        outcome = run(site, url, article, session)
        assert outcome.verdict is Verdict.CONSISTENT, outcome.reason
        assert outcome.images.compared == 2
        assert all(
            d is not None and d <= Limits().image_similarity for d in outcome.images.distances
        )


# -- alterations ------------------------------------------------------------------------------


def _replace(old: str, new: str):
    def change(body: str) -> str:
        assert old in body
        return body.replace(old, new, 1)

    return change


ADDED = "<p>据悉，本次会议共有80余名窗口工作人员参加。</p>"
ALTERED = {
    "one character changed": (_replace("总结前期工作", "总结前段工作"), "前段"),
    "a number changed": (_replace("12.6万件", "12.8万件"), "12.8"),
    "a date changed": (_replace("6月30日前", "7月30日前"), "7月30日"),
    "a sentence added at the start": (lambda body: ADDED + body, "据悉"),
    "a sentence added in the middle": (_replace("<h2>", ADDED + "<h2>"), "据悉"),
    "a sentence added at the end": (lambda body: body + ADDED, "据悉"),
    "a sentence added inside the last paragraph": (
        _replace("“免申即享”。", "“免申即享”。此项工作已全部完成。"),
        "全部完成",
    ),
    "a paragraph dropped": (_replace(f"<p>{PARAGRAPHS[2]}</p>", ""), "删去"),
    "the last paragraph dropped": (_replace(f"<p>{PARAGRAPHS[3]}</p>", ""), "删去"),
    "a subheading dropped": (_replace("<h2>持续优化营商环境</h2>", ""), "持续优化营商环境"),
}


@pytest.mark.parametrize(("change", "shown"), ALTERED.values(), ids=ALTERED.keys())
@pytest.mark.parametrize("platform", ["gov_website", "wechat"])
def test_altered_text_is_a_mismatch(site, article, session, change, shown, platform) -> None:
    url = serve_article(site, article, platform=platform, body_html=change(article.body()))
    outcome = run(site, url, article, session)
    assert (outcome.verdict, outcome.code) == (Verdict.MISMATCH, "text_changed")
    assert outcome.verdict.label == "不一致"
    assert shown in outcome.reason
    assert outcome.similarity < 1.0
    assert any(kind != "equal" for kind, _ in outcome.diff)


def test_a_changed_number_shows_in_the_diff(site, article, session) -> None:
    url = serve_article(site, article, body_html=_replace("12.6万件", "12.8万件")(article.body()))
    outcome = run(site, url, article, session)
    assert ("delete", "6") in outcome.diff and ("insert", "8") in outcome.diff
    html = outcome.diff_html()
    assert "<del>6</del><ins>8</ins>" in html
    assert "“12.6万件" not in outcome.reason and "12.8万件" in outcome.reason


def test_a_changed_title_is_a_mismatch(site, article, session) -> None:
    url = serve_article(site, article, title=TITLE.replace("第二季度", "第三季度"))
    outcome = run(site, url, article, session)
    assert (outcome.verdict, outcome.code) == (Verdict.MISMATCH, "title_changed")


def test_a_swapped_image_is_a_mismatch(site, article, session) -> None:
    url = serve_article(site, article, images=(article.images[0], encoded(picture(99))))
    outcome = run(site, url, article, session)
    assert (outcome.verdict, outcome.code) == (Verdict.MISMATCH, "image_changed")
    assert outcome.images.mismatched == (1,)
    assert "第 2 张图片" in outcome.reason


def test_an_image_address_answering_a_web_page_is_a_mismatch(site, article, session) -> None:
    url = serve_article(site, article)
    site.routes["/img/2.jpg"] = lambda request: Response(
        "<html><body>502 Bad Gateway</body></html>", content_type="text/html"
    )
    outcome = run(site, url, article, session)
    assert (outcome.verdict, outcome.code) == (Verdict.MISMATCH, "image_not_image")
    assert outcome.images.not_image == (1,)
    assert "第 2 张图片" in outcome.reason and "text/html" in outcome.reason


def test_an_image_missing_from_the_article_is_a_count_mismatch(site, article, session) -> None:
    body = article.body().replace('<p><img src="/img/2.jpg"></p>', "")
    url = serve_article(site, article, body_html=body)
    outcome = run(site, url, article, session)
    assert (outcome.verdict, outcome.code) == (Verdict.MISMATCH, "image_count_changed")
    assert (outcome.images.expected, outcome.images.found) == (2, 1)


def test_an_image_answering_404_is_a_mismatch(site, article, session) -> None:
    url = serve_article(site, article)
    del site.routes["/img/1.jpg"]
    outcome = run(site, url, article, session)
    assert (outcome.verdict, outcome.code) == (Verdict.MISMATCH, "image_missing")
    assert outcome.images.missing == (0,)


def test_an_image_that_cannot_be_fetched_is_reported_not_a_mismatch(site, article, session) -> None:
    url = serve_article(site, article)

    def hang(request):
        site.release.wait(10)
        return Response(b"", content_type="image/jpeg")

    site.routes["/img/2.jpg"] = hang
    limits = Limits(read_timeout=0.3, image_seconds=0.5)
    outcome = run(site, url, article, session, limits=limits)
    assert outcome.verdict is Verdict.CONSISTENT, outcome.reason
    assert [(u.position, u.code) for u in outcome.images.unfetchable] == [(1, "timeout")]
    assert outcome.images.compared == 1
    assert "第 2 张图片未能比对" in outcome.reason


def test_an_image_on_a_host_not_allowed_is_not_fetched_and_is_a_mismatch(
    site, article, session
) -> None:
    """Not fetched (the allow-list), so not compared: a picture swapped for one served from
    elsewhere must not pass as 一致."""
    body = article.body().replace("/img/2.jpg", "http://images.example.com/2.jpg")
    url = serve_article(site, article, body_html=body)
    outcome = run(site, url, article, session)
    assert (outcome.verdict, outcome.code) == (Verdict.MISMATCH, "image_host_changed")
    assert "第 2 张图片不在该渠道的发布地址上" in outcome.reason
    assert outcome.images.unfetchable == ()


# -- gone and errors --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410])
def test_a_page_answering_404_or_410_is_removed(site, article, session, status) -> None:
    site.routes["/gone.html"] = lambda request: Response("该内容已被删除", status=status)
    outcome = run(site, site.url("/gone.html"), article, session)
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.REMOVED, "gone", status)
    assert outcome.verdict.label == "已删除"
    assert gzip.decompress(outcome.snapshot).decode() == "该内容已被删除"


def test_a_server_error_is_unreachable(site, article, session) -> None:
    site.routes["/err.html"] = lambda request: Response("oops", status=503)
    outcome = run(site, site.url("/err.html"), article, session)
    assert (outcome.verdict, outcome.code, outcome.http_status) == (
        Verdict.UNREACHABLE,
        "http_error",
        503,
    )
    assert outcome.verdict.label == "无法访问"


def test_an_answer_that_is_not_a_page_is_unreachable(site, article, session) -> None:
    site.routes["/a.pdf"] = lambda request: Response(b"%PDF-1.4", content_type="application/pdf")
    outcome = run(site, site.url("/a.pdf"), article, session)
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "not_html")


# -- encodings --------------------------------------------------------------------------------


def test_a_page_without_any_declared_encoding_is_detected(site, article, session) -> None:
    data, _ = page_of("gov_website", article.body())
    data = data.replace(
        b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />', b""
    )
    assert b"charset" not in data.lower()
    site.routes["/plain.html"] = lambda request: Response(data, content_type="text/html")
    for index, image in enumerate(article.images):
        site.routes[f"/img/{index + 1}.jpg"] = lambda request, image=image: Response(
            image, content_type="image/jpeg"
        )
    outcome = run(site, site.url("/plain.html"), article, session)
    assert outcome.verdict is Verdict.CONSISTENT, outcome.reason


def test_bytes_that_are_no_text_are_undecodable(site, article, session) -> None:
    noise = bytes((i * 7919 + 13) % 97 + 159 for i in range(6000))
    site.routes["/noise.html"] = lambda request: Response(
        b"<html><body>" + noise + b"</body></html>", content_type="text/html"
    )
    outcome = run(site, site.url("/noise.html"), article, session)
    assert (outcome.verdict, outcome.code) == (Verdict.UNREACHABLE, "undecodable"), outcome.reason


def test_signed_text_is_the_normalised_body_text(article) -> None:
    text = signed_text(article.signed)
    assert text.startswith(normalise(PARAGRAPHS[0]))
    assert normalise("持续优化营商环境") + normalise(PARAGRAPHS[1]) in text
    assert text.endswith(normalise(PARAGRAPHS[3]))
    assert " " not in text and "，" not in text and "sanshen-image" not in text
