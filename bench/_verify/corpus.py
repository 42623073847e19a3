"""The pages of the corpus: each signed article through every platform's template, benign
but different or altered in turn, and the routes that serve them and their images."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._verify.articles import (
    NAMES,
    RELATED,
    SENTENCES,
    Source,
    fill,
    jpeg,
    make_source,
    picture,
    png,
    render_blocks,
)
from channels.simulators.pages import PLATFORMS, PageArticle, render_page
from orchestrator.verify import Signed

BENIGN = ("whitespace", "punctuation_width", "chrome_changed", "images_recompressed", "meta_line")
ALTERED = ("char_changed", "sentence_added", "paragraph_dropped", "image_swapped", "number_changed")
NEEDS_IMAGES = {"images_recompressed": "whitespace", "image_swapped": "char_changed"}


@dataclass
class Page:
    number: int
    platform: str
    kind: str
    altered: bool
    path: str
    signed: Signed
    swapped: int | None = None  # which image (in body order) an image_swapped page swapped


@dataclass
class Corpus:
    pages: list[Page] = field(default_factory=list)
    routes: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    articles: int = 0
    images: int = 0

    def serve_image(self, path: str, data: bytes, kind: str = "image/jpeg") -> str:
        self.routes[path] = (data, kind)
        return path


def _text_only(body: str, change: Callable[[str], str]) -> str:
    """Apply `change` to the text between tags only, never to tags or attributes."""
    return re.sub(r">([^<]+)<", lambda m: ">" + change(m.group(1)) + "<", body)


def _spaced(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(min(6, len(chars))):
        chars.insert(rng.randrange(len(chars) + 1), rng.choice((" ", "\n", "&nbsp;", "\u3000")))
    return "\u3000\u3000" + "".join(chars)


WIDTHS = {"，": ",", "：": ":", "；": ";", "（": "(", "）": ")", "！": "!", "？": "?", "%": "％"}


def _widths(text: str, rng: random.Random) -> str:
    table = {k: v for k, v in WIDTHS.items() if rng.random() < 0.7}
    table |= {str(d): chr(0xFF10 + d) for d in range(10) if rng.random() < 0.3}
    if rng.random() < 0.5:
        table |= {"“": '"', "”": '"'}
    return text.translate(str.maketrans(table))


def _change_char(blocks: list[tuple[str, str]], rng: random.Random) -> None:
    index = rng.choice([i for i, (kind, _) in enumerate(blocks) if kind == "p"])
    text = blocks[index][1]
    spots = [i for i, ch in enumerate(text) if "\u4e00" <= ch <= "\u9fff"]
    at = rng.choice(spots)
    new = rng.choice([c for c in "区镇街局办会议工作服务群众企业窗口推进落实" if c != text[at]])
    blocks[index] = ("p", text[:at] + new + text[at + 1 :])


def _change_number(blocks: list[tuple[str, str]], rng: random.Random) -> None:
    spots = [
        (i, m.start())
        for i, (kind, text) in enumerate(blocks)
        if kind == "p"
        for m in re.finditer(r"\d", text)
    ]
    index, at = rng.choice(spots)
    text = blocks[index][1]
    new = rng.choice([d for d in "0123456789" if d != text[at]])
    blocks[index] = ("p", text[:at] + new + text[at + 1 :])


def _add_sentence(source: Source, blocks: list[tuple[str, str]], rng: random.Random) -> None:
    sentence = fill(rng.choice(SENTENCES), rng, source.base)
    where = rng.choice(("start", "middle", "end", "inside"))
    texts = [i for i, (kind, _) in enumerate(blocks) if kind == "p"]
    if where == "start":
        blocks.insert(0, ("p", sentence))
    elif where == "end":
        blocks.append(("p", sentence))
    elif where == "middle":
        blocks.insert(rng.randint(1, len(blocks) - 1), ("p", sentence))
    else:
        index = rng.choice(texts)
        blocks[index] = ("p", blocks[index][1] + sentence)


def _drop_paragraph(blocks: list[tuple[str, str]], rng: random.Random) -> None:
    blocks.pop(rng.choice([i for i, (kind, _) in enumerate(blocks) if kind == "p"]))


def _meta_line(source: Source, rng: random.Random, when: datetime) -> str:
    parts = [
        f"来源：{rng.choice((source.base['dept'], '青浦区融媒体中心', '青浦区政务服务中心'))}",
        f"编辑：{rng.choice(NAMES)}",
        f"发布时间：{when:%Y-%m-%d %H:%M}",
        f"浏览次数：{rng.randint(0, 50000)}",
    ]
    rng.shuffle(parts)
    return "<p>" + rng.choice(("\u3000", "  ", " | ", "&nbsp;&nbsp;")).join(parts) + "</p>"


def build_page(
    corpus: Corpus,
    source: Source,
    signed: Signed,
    number: int,
    platform: str,
    kind: str,
    rng: random.Random,
) -> Page:
    blocks = list(source.blocks)
    when = datetime(2024, 1, 1, 1, 0, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 500_000))
    chrome: dict[str, Any] = {
        "source": rng.choice(("", source.base["dept"], "青浦区政务服务中心")),
        "editor": rng.choice(("", *NAMES)),
        "views": rng.randint(0, 9999),
        "related": tuple(rng.sample(RELATED, rng.randint(0, 4))),
    }
    served = {key: f"/img/{source.sha(key)}.jpg" for key in source.signed_bytes}
    page = Page(number, platform, kind, kind in ALTERED, f"/p/{number}.html", signed)
    before = after = ""
    if kind == "char_changed":
        _change_char(blocks, rng)
    elif kind == "number_changed":
        _change_number(blocks, rng)
    elif kind == "sentence_added":
        _add_sentence(source, blocks, rng)
    elif kind == "paragraph_dropped":
        _drop_paragraph(blocks, rng)
    elif kind == "image_swapped":
        in_body = [value for kind, value in blocks if kind == "img"]
        page.swapped = rng.randrange(len(in_body))
        other = jpeg(picture(random.Random(rng.random())), 90)
        served[in_body[page.swapped]] = corpus.serve_image(f"/img/{number}-swapped.jpg", other)
    elif kind == "images_recompressed":
        for key, image in source.pictures.items():
            scale = rng.uniform(0.4, 0.9)
            smaller = image.resize((round(image.width * scale), round(image.height * scale)))
            if rng.random() < 0.25:
                served[key] = corpus.serve_image(
                    f"/img/{number}-{key}.png", png(smaller), "image/png"
                )
            else:
                data = jpeg(smaller, rng.randint(45, 80))
                served[key] = corpus.serve_image(f"/img/{number}-{key}.jpg", data)
    elif kind == "chrome_changed":
        chrome |= {"editor": rng.choice(NAMES), "related": tuple(rng.sample(RELATED, 5))}
        before = rng.choice(("", "<p>【字号 大 中 小】【打印本页】【关闭窗口】</p>"))
        after = rng.choice(("<p>分享到：微信 微博 QQ空间</p>", "")) + rng.choice(
            (f"<p>责任编辑：{rng.choice(NAMES)}</p>", f"<p>（编辑：{rng.choice(NAMES)}）</p>", "")
        )
    elif kind == "meta_line":
        before = _meta_line(source, rng, when)
    body = before + render_blocks(blocks, served.__getitem__) + after
    if kind == "whitespace":
        body = _text_only(body, lambda text: _spaced(text, rng)).replace(
            "<p>", '<p style="text-indent:2em">'
        )
    elif kind == "punctuation_width":
        body = _text_only(body, lambda text: _widths(text, rng))
    article = PageArticle(source.title, body, when, **chrome)
    corpus.routes[page.path] = render_page(platform, article)
    return page


def make_corpus(articles: int, seed: int = 7) -> Corpus:
    rng = random.Random(seed)
    corpus = Corpus()
    turn = 0
    for number in range(articles):
        source = make_source(number, rng)
        signed = source.signed()
        corpus.articles += 1
        corpus.images += len(source.signed_bytes)
        for key, data in source.signed_bytes.items():
            corpus.serve_image(f"/img/{source.sha(key)}.jpg", data)
        for platform in PLATFORMS:
            kinds = ALTERED if turn % 2 else BENIGN
            kind = kinds[(turn // 2) % len(kinds)]
            if kind in NEEDS_IMAGES and not source.signed_bytes:
                kind = NEEDS_IMAGES[kind]
            page_number = len(corpus.pages)
            page = build_page(corpus, source, signed, page_number, platform, kind, rng)
            corpus.pages.append(page)
            turn += 1
    return corpus
