"""Generated government-service news: the words, the paragraphs, the pictures, and one signed
article (`Source`) made of them."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw

from orchestrator.verify import Signed

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
