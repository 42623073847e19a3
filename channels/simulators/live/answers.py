"""What a faulty live page answers: gone, endlessly huge, or another picture than its own."""

from __future__ import annotations

import io
from collections.abc import Iterator

from flask import Response
from PIL import Image, ImageDraw, UnidentifiedImageError

from channels.simulators.pages import PageArticle, codec, render

GONE_TEXT = {404: "您访问的页面不存在或已被删除", 410: "该内容已被发布者删除"}
NOT_AN_IMAGE = "<html><body><h1>502 Bad Gateway</h1><p>图片服务暂时不可用</p></body></html>"


def gone_page(status: int) -> Response:
    text = GONE_TEXT.get(status, GONE_TEXT[404])
    page = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{text}</title></head><body><h1>{text}</h1></body></html>"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def huge_page(
    platform: str, article: PageArticle, megabytes: float, *, declare_charset: bool
) -> Response:
    data, content_type = render(platform, article, declare_charset=declare_charset)
    head, _, tail = data.rpartition(b"</body>")
    tail = b"</body>" + tail
    paragraph = ("<p>" + "青浦区政务服务信息持续更新中。" * 60 + "</p>\n").encode(codec(platform))
    chunk = paragraph * max(1, 64 * 1024 // len(paragraph))
    target = int(megabytes * 1024 * 1024)

    def stream() -> Iterator[bytes]:
        sent = len(head)
        yield head
        while sent + len(tail) < target:
            piece = chunk[: target - sent - len(tail)] if sent + len(chunk) > target else chunk
            yield piece
            sent += len(piece)
        yield tail

    return Response(stream(), status=200, content_type=content_type, direct_passthrough=True)


def other_picture(original: bytes) -> tuple[str, bytes]:
    """A picture the same size and format as `original`, but plainly not it: bold stripes and
    a cross. Anything Pillow cannot read gets a 64×64 PNG."""
    try:
        with Image.open(io.BytesIO(original)) as source:
            size, kind = source.size, (source.format or "PNG").upper()
    except (UnidentifiedImageError, OSError):
        size, kind = (64, 64), "PNG"
    kind = kind if kind in ("JPEG", "PNG", "GIF") else "PNG"
    picture = Image.new("RGB", size, (255, 0, 255))
    draw = ImageDraw.Draw(picture)
    width, height = size
    stripe = max(2, min(width, height) // 8)
    for x in range(-height, width, stripe * 2):
        draw.polygon(
            [(x, 0), (x + stripe, 0), (x + stripe + height, height), (x + height, height)],
            fill=(0, 200, 0),
        )
    draw.line([(0, 0), (width, height)], fill=(0, 0, 0), width=stripe)
    draw.line([(0, height), (width, 0)], fill=(0, 0, 0), width=stripe)
    out = io.BytesIO()
    picture.save(out, format=kind)
    return f"image/{kind.lower()}", out.getvalue()
