"""Live-page verification (发布核验) against a corpus of platform pages served on loopback.

500 signed articles of generated government-service news (several paragraphs with dates and
numbers, 0-3 generated pictures) are each rendered through every platform's page template
(channels/simulators/pages.py: 5 platforms, 2,500 pages). Each page is either benign but
different from the signed version — extra whitespace, punctuation width, changed template
chrome, recompressed and resized images, an added 来源/编辑/浏览次数 line — or altered: one
character changed, one sentence added (at the start, in the middle, at the end or inside a
paragraph), a paragraph dropped, an image swapped, a number changed. Kinds are assigned in
turn, half of each page set benign, half altered.

A child process serves the pages and images (werkzeug, threaded, keep-alive); this process
runs `orchestrator.verify.check` on every page, one after another, with one session, as the
orchestrator's worker would. Reported: recall per altered kind and false alarms per benign
kind (a benign page that is not judged consistent is a false alarm), pages per second, CPU ms
per page on the checking side (and on the serving side), and the perceptual-hash distances of
the same pictures recompressed against swapped ones, beside the threshold.

Run: python bench/verify.py [--articles 500] [--quick]
The last line of stdout is the JSON result.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing
import random
import re
import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw  # noqa: E402

from bench._stack import emit, percentile, rounded, say  # noqa: E402
from channels.simulators.pages import PLATFORMS, PageArticle, render_page  # noqa: E402
from orchestrator.verify import Limits, Signed, Verdict, check, new_session  # noqa: E402

ARTICLES = 500
QUICK_ARTICLES = 60
BENIGN = ("whitespace", "punctuation_width", "chrome_changed", "images_recompressed", "meta_line")
ALTERED = ("char_changed", "sentence_added", "paragraph_dropped", "image_swapped", "number_changed")
NEEDS_IMAGES = {"images_recompressed": "whitespace", "image_swapped": "char_changed"}
EXPECTED_CODE = {"image_swapped": "image_changed"}  # every other alteration: text_changed

# -- the text ---------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


TOWNS = _words(
    "朱家角镇 练塘镇 金泽镇 赵巷镇 徐泾镇 华新镇 重固镇 白鹤镇 夏阳街道 盈浦街道 香花桥街道"
)
DEPARTMENTS = _words(
    "区政务服务办公室 区市场监管局 区人力资源和社会保障局 区大数据中心 区医保局 区税务局 "
    "区民政局 区住房保障和房屋管理局 区司法局 区卫生健康委"
)
TOPICS = _words(
    "“一网通办” “高效办成一件事” 跨省通办 帮办代办 “免申即享” 12345热线 营商环境 "
    "“一件事”集成服务 政务服务“好差评” 企业开办 “随申办”移动端 社区事务受理"
)
SERVICES = _words("“政策管家” “帮办驿站” “午间不打烊” “周末延时办” “企业服务包” “一窗通办”")
NAMES = _words("张伟 王芳 李娜 刘洋 陈静 杨帆 赵磊 黄敏 周杰 吴婷 徐涛 孙丽")
SENTENCES = (
    "{date}，{dept}召开{topic}工作推进会，总结前期工作，部署下阶段重点任务。",
    "截至{month}月底，全区{topic}累计办件量达到{n1}万件，同比增长{pct}%。",
    "{town}政务服务中心新增{k}个综合窗口，企业群众平均等候时间缩短至{m}分钟。",
    "会议强调，要坚持问题导向，聚焦企业群众办事的难点堵点，持续优化服务流程。",
    "今年以来，{dept}共受理各类事项{n2}件，按时办结率达{pct2}%。",
    "下一步，{dept}将进一步深化{topic}改革，推动政务服务从“能办”向“好办”转变。",
    "据统计，{month}月份{topic}线上办理占比达{pct}%，较去年同期提高{p3}个百分点。",
    "{town}结合实际推出{service}服务，累计服务企业群众{n3}人次。",
    "活动现场，工作人员为群众提供政策咨询、业务办理等服务{k}项，发放宣传资料{n4}份。",
    "自{date}起，{topic}相关的{k}个事项实现“零材料”提交、“零跑动”办理。",
    "{dept}相关负责人表示，将以企业和群众满意度为标准，不断提升服务效能。",
    "窗口工作人员主动靠前服务，为老年人等群体提供帮办代办、上门办理等便利。",
    "{town}依托党群服务阵地，设立{k}个政务服务延伸点，打通服务群众“最后一公里”。",
    "此次调整涉及{k}个部门的{n2}项事项，预计每年可为企业节省办事时间约{n3}小时。",
    "{dept}还将开展{topic}专项评估，对发现的问题建立清单、限期整改。",
    "会上，{k}个镇街围绕{topic}作了交流发言，分享了典型经验做法。",
)
HEADINGS = (
    "一、持续优化营商环境",
    "二、深化“一网通办”改革",
    "三、提升窗口服务效能",
    "聚焦重点领域",
    "强化统筹协调",
    "下一步工作安排",
)
TITLES = (
    "{dept}召开{topic}工作推进会",
    "{town}{topic}工作取得新进展",
    "青浦区{topic}再提速 {month}月办件量同比增长{pct}%",
    "{dept}推出{service}服务 助力企业群众办事更便捷",
    "{town}政务服务中心启用{k}个综合窗口",
)
RELATED = (
    "区领导调研政务服务中心窗口建设",
    "青浦区召开优化营商环境大会",
    "“一网通办”青浦频道上线新功能",
    "青浦新城建设按下“快进键”",
    "区政务服务中心开展“政务服务体验官”活动",
    "长三角示范区政务服务跨域通办再扩容",
)


def fill(template: str, rng: random.Random, base: dict[str, str]) -> str:
    values = {
        "date": f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
        "month": str(rng.randint(1, 12)),
        "n1": f"{rng.randint(1, 60)}.{rng.randint(0, 9)}",
        "n2": str(rng.randint(120, 98000)),
        "n3": str(rng.randint(300, 50000)),
        "n4": str(rng.randint(100, 3000)),
        "pct": f"{rng.randint(5, 99)}.{rng.randint(0, 9)}",
        "pct2": f"{rng.randint(95, 99)}.{rng.randint(0, 9)}",
        "p3": str(rng.randint(2, 30)),
        "k": str(rng.randint(2, 40)),
        "m": str(rng.randint(3, 25)),
        "service": rng.choice(SERVICES),
        **base,
    }
    return template.format(**values)


def paragraph(rng: random.Random, base: dict[str, str]) -> str:
    return "".join(fill(rng.choice(SENTENCES), rng, base) for _ in range(rng.randint(2, 4)))


# -- the pictures -----------------------------------------------------------------------------


def picture(rng: random.Random) -> Image.Image:
    """A gradient with a few shapes: a picture of its own for each seed."""
    width, height = rng.choice(((640, 420), (800, 533), (560, 420), (720, 480)))
    image = Image.linear_gradient("L").resize((width, height)).rotate(rng.choice((0, 90, 180)))
    tint = tuple(rng.randrange(256) for _ in range(3))
    image = Image.merge("RGB", [image.point(lambda v, t=t: (v + t) % 256) for t in tint])
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(4, 9)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        box = [x0, y0, x0 + rng.randrange(40, width // 2), y0 + rng.randrange(40, height // 2)]
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = rng.choice((draw.ellipse, draw.rectangle))
        shape(box, fill=colour)
    return image


def jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# -- the corpus -------------------------------------------------------------------------------


@dataclass
class Source:
    """One signed article: its title, blocks (paragraphs, headings, images) and pictures."""

    title: str
    blocks: list[tuple[str, str]]  # ("p" | "h2" | "img", text or image key)
    pictures: dict[str, Image.Image]  # key -> picture
    signed_bytes: dict[str, bytes]  # key -> the signed JPEG
    base: dict[str, str]

    def sha(self, key: str) -> str:
        return hashlib.sha256(self.signed_bytes[key]).hexdigest()

    def signed(self) -> Signed:
        body = render_blocks(self.blocks, lambda key: f"sanshen-image:{self.sha(key)}")
        images = {self.sha(key): data for key, data in self.signed_bytes.items()}
        return Signed(self.title, body, images)


def render_blocks(blocks: list[tuple[str, str]], src: Callable[[str], str]) -> str:
    parts = []
    for kind, value in blocks:
        if kind == "img":
            parts.append(f'<p style="text-align:center"><img src="{src(value)}"></p>')
        else:
            parts.append(f"<{kind}>{value}</{kind}>")
    return "\n".join(parts)


def make_source(number: int, rng: random.Random) -> Source:
    base = {"dept": rng.choice(DEPARTMENTS), "town": rng.choice(TOWNS), "topic": rng.choice(TOPICS)}
    blocks: list[tuple[str, str]] = [("p", paragraph(rng, base)) for _ in range(rng.randint(4, 8))]
    for _ in range(rng.choice((0, 0, 1, 2))):
        blocks.insert(rng.randint(1, len(blocks) - 1), ("h2", rng.choice(HEADINGS)))
    pictures: dict[str, Image.Image] = {}
    signed_bytes: dict[str, bytes] = {}
    for index in range(rng.choice((0, 1, 1, 2, 2, 3))):
        key = f"{number}-{index}"
        pictures[key] = picture(rng)
        signed_bytes[key] = jpeg(pictures[key], rng.randint(86, 95))
        blocks.insert(rng.randint(0, len(blocks)), ("img", key))
    title = fill(rng.choice(TITLES), rng, base)
    return Source(title, blocks, pictures, signed_bytes, base)


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


# -- serving ----------------------------------------------------------------------------------


def _serve(routes: dict[str, tuple[bytes, str]], conn: Connection) -> None:
    from werkzeug.serving import WSGIRequestHandler, make_server
    from werkzeug.wrappers import Request, Response

    class Quiet(WSGIRequestHandler):
        def log(self, type: str, message: str, *args: object) -> None:
            pass

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        found = routes.get(Request(environ).path)
        response = Response(found[0], content_type=found[1]) if found else Response(status=404)
        return response(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    conn.send(server.server_port)
    server.serve_forever()


# -- measuring --------------------------------------------------------------------------------


def measure(corpus: Corpus, host: str) -> dict[str, Any]:
    session = new_session()
    limits = Limits()
    results: list[tuple[Page, Any]] = []
    times: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for index, page in enumerate(corpus.pages):
        started = time.perf_counter()
        outcome = check(
            f"http://{host}{page.path}", page.signed, allowed_hosts=[host], session=session
        )
        times.append((time.perf_counter() - started) * 1000)
        results.append((page, outcome))
        if (index + 1) % 500 == 0:
            say(f"{index + 1} pages checked")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    session.close()
    return {
        "results": results,
        "wall_s": wall,
        "cpu_s": cpu,
        "times": times,
        "threshold": limits.image_similarity,
    }


def summarise(corpus: Corpus, measured: dict[str, Any], server_cpu_s: float) -> dict[str, Any]:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    same: list[int] = []
    swapped: list[int] = []
    wrong: list[dict[str, Any]] = []
    for page, outcome in measured["results"]:
        tally = by_kind[page.kind]
        tally["pages"] += 1
        if page.altered:
            hit = outcome.verdict is Verdict.MISMATCH
            tally["detected"] += hit
            tally["right_code"] += hit and outcome.code == EXPECTED_CODE.get(
                page.kind, "text_changed"
            )
        else:
            hit = outcome.verdict is Verdict.CONSISTENT
            tally["false_alarms"] += not hit
        if not hit and len(wrong) < 10:
            wrong.append(
                {
                    "page": page.number,
                    "platform": page.platform,
                    "kind": page.kind,
                    "code": outcome.code,
                    "reason": outcome.reason,
                }
            )
        distances = outcome.images.distances
        if page.kind == "images_recompressed":
            same += [d for d in distances if d is not None]
        elif page.kind == "image_swapped" and page.swapped is not None:
            distance = dict(enumerate(distances)).get(page.swapped)
            if distance is not None:
                swapped.append(distance)
    pages = len(measured["results"])
    altered = sum(t["pages"] for k, t in by_kind.items() if k in ALTERED)
    detected = sum(t["detected"] for k, t in by_kind.items() if k in ALTERED)
    benign = pages - altered
    alarms = sum(t["false_alarms"] for k, t in by_kind.items() if k in BENIGN)
    kinds: dict[str, Any] = {}
    for kind, tally in sorted(by_kind.items()):
        if kind in ALTERED:
            kinds[kind] = {
                "pages": tally["pages"],
                "recall": rounded(tally["detected"] / tally["pages"], 4),
                "right_code": rounded(tally["right_code"] / tally["pages"], 4),
            }
        else:
            kinds[kind] = {
                "pages": tally["pages"],
                "false_alarm_rate": rounded(tally["false_alarms"] / tally["pages"], 4),
            }
    times = measured["times"]
    return {
        "bench": "verify",
        "articles": corpus.articles,
        "platforms": len(PLATFORMS),
        "pages": pages,
        "benign_pages": benign,
        "altered_pages": altered,
        "signed_images": corpus.images,
        "recall": rounded(detected / altered, 4) if altered else None,
        "false_alarm_rate": rounded(alarms / benign, 4) if benign else None,
        "by_kind": kinds,
        "pages_per_s": rounded(pages / measured["wall_s"], 1),
        "cpu_ms_per_page": rounded(measured["cpu_s"] * 1000 / pages, 2),
        "server_cpu_ms_per_page": rounded(server_cpu_s * 1000 / pages, 2),
        "check_ms_p50": rounded(percentile(times, 50), 1),
        "check_ms_p95": rounded(percentile(times, 95), 1),
        "image_distance": {
            "recompressed_max": max(same, default=None),
            "swapped_min": min(swapped, default=None),
            "threshold": measured["threshold"],
        },
        "misjudged": wrong,
    }


def main(articles: int) -> dict[str, Any]:
    started = time.perf_counter()
    corpus = make_corpus(articles)
    took = time.perf_counter() - started
    say(f"{len(corpus.pages)} pages, {corpus.images} signed images in {took:.1f} s")
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(corpus.routes, child), daemon=True)
    server.start()
    host = f"127.0.0.1:{parent.recv()}"
    try:
        measured = measure(corpus, host)
    finally:
        server.terminate()
        server.join(5)
    server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    return summarise(corpus, measured, server_cpu.ru_utime + server_cpu.ru_stime)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=ARTICLES)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ARTICLES} articles")
    args = parser.parse_args()
    emit(main(QUICK_ARTICLES if args.quick else args.articles))
