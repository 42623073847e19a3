"""The pure rendering helpers adapters share: cleaning, image references, source lines, checks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from channels.errors import Problem
from channels.item import Image, Item, Source
from channels.rendering import (
    body_image_problems,
    body_problems,
    clean_html,
    image_problems,
    image_srcs,
    referenced_images,
    rewrite_images,
    sniff_image,
    source_problems,
    text_of,
    title_problems,
    with_source_line,
)
from tests.channels.conftest import COVER, FIGURE

SHA_A = "a" * 64
SHA_B = "b" * 64


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>正文<script>alert(1)</script></p>", "<p>正文</p>"),
        ('<p onclick="x()" style="color:red">正文</p>', "<p>正文</p>"),
        ("<style>p{}</style><p>正文</p>", "<p>正文</p>"),
        ('<a href="javascript:alert(1)">链接</a>', '<a rel="noopener noreferrer">链接</a>'),
        (
            '<a href="https://www.shqp.gov.cn/">链接</a>',
            '<a href="https://www.shqp.gov.cn/" rel="noopener noreferrer">链接</a>',
        ),
        (
            f'<img src="sanshen-image:{SHA_A}" alt="图">',
            f'<img src="sanshen-image:{SHA_A}" alt="图">',
        ),
        ('<img src="data:image/png;base64,AAAA">', "<img>"),
        ("<iframe src='https://x'></iframe><p>留</p>", "<p>留</p>"),
        (
            '<table><tr><td colspan="2">表</td></tr></table>',
            '<table><tbody><tr><td colspan="2">表</td></tr></tbody></table>',
        ),
        (
            '<p class="source">来源</p><p class="lead">导语</p>',
            '<p class="source">来源</p><p class="">导语</p>',
        ),
        (
            "<h2>标题</h2><blockquote><em>引</em></blockquote>",
            "<h2>标题</h2><blockquote><em>引</em></blockquote>",
        ),
    ],
)
def test_clean_html_keeps_only_the_article_allow_list(dirty: str, clean: str) -> None:
    assert clean_html(dirty) == clean


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>甲&amp;乙</p>", "甲&乙"),
        ("<p> &nbsp;\u3000</p><br>", ""),
        ("<script>只在脚本里</script>", ""),
        ("<p>一</p><p>二</p>", "一二"),
    ],
)
def test_text_of_is_the_visible_text(html: str, text: str) -> None:
    assert text_of(html) == text


def test_image_srcs_lists_surviving_images_in_order() -> None:
    html = (
        f'<p><img src="sanshen-image:{SHA_B}"><img src="javascript:x">'
        f'<img src="https://img.example.cn/1.png"><img src="sanshen-image:{SHA_A}">'
        f'<img src="sanshen-image:{SHA_B}"></p>'
    )

    assert image_srcs(html) == [
        f"sanshen-image:{SHA_B}",
        "https://img.example.cn/1.png",
        f"sanshen-image:{SHA_A}",
        f"sanshen-image:{SHA_B}",
    ]
    assert referenced_images(html) == [SHA_B, SHA_A]


def test_rewrite_images_points_references_at_platform_urls() -> None:
    html = f'<p><img src="sanshen-image:{SHA_A}" alt="甲"><img src="https://x.cn/y.png"></p>'

    rewritten = rewrite_images(html, {SHA_A: "https://cdn.gov.cn/a.png"})

    assert rewritten == (
        '<p><img src="https://cdn.gov.cn/a.png" alt="甲"><img src="https://x.cn/y.png"></p>'
    )


def test_rewrite_images_refuses_an_unmapped_reference() -> None:
    with pytest.raises(ValueError, match=SHA_B):
        rewrite_images(f'<img src="sanshen-image:{SHA_B}">', {SHA_A: "https://x/a.png"})


def test_rewrite_images_cleans_too() -> None:
    assert rewrite_images("<p>文<script>x</script></p>", {}) == "<p>文</p>"


SOURCE = Source(
    "学习强国", "https://www.xuexi.cn/a.html?x=1&y=2", datetime(2024, 5, 5, 17, tzinfo=UTC)
)


def test_a_repost_gets_a_source_line_with_url_and_local_date() -> None:
    body = with_source_line("<p>正文</p>", SOURCE)

    assert body.startswith("<p>正文</p>")
    assert "来源：学习强国" in body
    assert 'href="https://www.xuexi.cn/a.html?x=1&amp;y=2"' in body
    assert "发布日期：2024-05-06" in body  # 17:00 UTC is the next morning in Shanghai
    assert clean_html(body).count('class="source"') == 1


def test_the_source_line_can_lead_and_is_escaped() -> None:
    tricky = Source("<b>平台</b>", 'https://x.cn/"><script>', datetime(2024, 5, 6))

    body = with_source_line("<p>正文</p>", tricky, at_end=False)

    assert body.endswith("<p>正文</p>")
    assert "<script>" not in body and "<b>" not in body
    assert "&lt;b&gt;平台&lt;/b&gt;" in body


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (COVER.data, "jpeg"),
        (FIGURE.data, "png"),
        (b"GIF89a" + b"\x00" * 10, "gif"),
        (b"GIF87a" + b"\x00" * 10, "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"", None),
    ],
)
def test_sniff_image_reads_the_file_not_the_name(data: bytes, kind: str | None) -> None:
    assert sniff_image(data) == kind


def _image(data: bytes, mime: str, name: str = "图.png") -> Image:
    return Image(hashlib.sha256(data).hexdigest(), name, mime, data)


@pytest.mark.parametrize(
    ("image", "limit", "kinds", "codes"),
    [
        (FIGURE, 1024 * 1024, {"png"}, []),
        (FIGURE, 1000, {"png"}, ["image_too_large"]),
        (FIGURE, 1024 * 1024, {"jpeg"}, ["image_type"]),
        (_image(FIGURE.data, "image/jpeg"), 1024 * 1024, {"png", "jpeg"}, ["image_type"]),
        (_image(b"<svg/>", "image/svg+xml"), 10, {"png"}, ["image_type"]),
        (
            _image(b"not an image at all", "image/png"),
            5,
            {"png"},
            ["image_type", "image_too_large"],
        ),
    ],
)
def test_image_problems_check_type_and_size(
    image: Image, limit: int, kinds: set[str], codes: list[str]
) -> None:
    problems = image_problems(image, field="cover", max_bytes=limit, kinds=kinds)

    assert [p.code for p in problems] == codes
    assert all(p.field == "cover" and image.filename in p.message for p in problems)


def test_body_image_problems_find_missing_and_bad_images() -> None:
    bad = _image(b"plain text", "image/png", "坏.png")
    item = Item(
        reference="r",
        title="标题",
        body_html=f'<img src="{FIGURE.src}"><img src="sanshen-image:{SHA_A}"><img src="{bad.src}">',
        images=(FIGURE, bad),
    )

    problems = body_image_problems(item, max_bytes=1024 * 1024)

    assert [(p.code, p.field) for p in problems] == [
        ("image_missing", "body_html"),
        ("image_type", "images[1]"),
    ]


@pytest.mark.parametrize(
    ("title", "codes"),
    [
        ("青浦区政务服务", []),
        ("长" * 40, []),
        ("长" * 41, ["title_too_long"]),
        ("", ["title_missing"]),
        ("  \u3000", ["title_missing"]),
    ],
)
def test_title_problems(title: str, codes: list[str]) -> None:
    assert [p.code for p in title_problems(title, max_chars=40)] == codes


@pytest.mark.parametrize(
    ("body", "empty"),
    [
        ("<p>正文</p>", False),
        (f'<p><img src="{FIGURE.src}"></p>', False),
        ("<p> &nbsp; </p>", True),
        ("<script>alert(1)</script>", True),
        ("", True),
    ],
)
def test_body_problems_after_cleaning(body: str, empty: bool) -> None:
    assert body_problems(body) == (
        [Problem("body_empty", "正文清理后为空", "body_html")] if empty else []
    )


@pytest.mark.parametrize(
    ("source", "codes"),
    [
        (None, []),
        (SOURCE, []),
        (Source("", "https://x.cn", datetime(2024, 5, 6, tzinfo=UTC)), ["source_missing"]),
        (
            Source("学习强国", "ftp://x.cn", datetime(2024, 5, 6, tzinfo=UTC)),
            ["source_url_invalid"],
        ),
    ],
)
def test_source_problems(source: Source | None, codes: list[str]) -> None:
    assert [p.code for p in source_problems(source)] == codes
