"""mammoth: the document as semantic HTML, its images kept by content, a centred first
paragraph as the title, and mammoth's messages in words for people."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any
from xml.parsers.expat import ExpatError

import mammoth
import mammoth.documents
import mammoth.raw_text
import mammoth.transforms

from channels.rendering import sniff_image
from orchestrator.docx_import.package import not_word
from orchestrator.images import image_problem
from orchestrator.services.submissions import ImageFile

EXTENSION = {"jpeg": "jpg", "png": "png", "gif": "gif"}
CAPTION_CLASS = "sanshen-caption"
# Office's own alt text ("图片包含 文本\n\n描述已自动生成"): a guess, not the author's words.
GENERATED_ALT = ("描述已自动生成", "Description automatically generated")

# Word stores its built-in style names in English whatever the language of its menus ("heading
# 1", "caption"); WPS and templates made in Chinese may use the Chinese ones. Names match
# without regard to case.
STYLE_MAP = "\n".join(
    [
        "p[style-name='Title'] => h1:fresh",
        "p[style-name='标题'] => h1:fresh",
        *(
            f"p[style-name='{name}'] => h{level}:fresh"
            for level in range(1, 7)
            for name in (f"标题 {level}", f"标题{level}")
        ),
        "p[style-name='Subtitle'] => p:fresh",
        "p[style-name='副标题'] => p:fresh",
        f"p[style-name='caption'] => p.{CAPTION_CLASS}:fresh",
        f"p[style-name='题注'] => p.{CAPTION_CLASS}:fresh",
        "r[style-name='要点'] => strong",
        "r[style-name='Emphasis'] => em",
        "r[style-name='强调'] => em",
    ]
)
TITLE_STYLES = {"title", "标题"}


@dataclass
class Images:
    """mammoth's image hook: each image named by its content, kept once; the ones that cannot
    be published left out with a warning."""

    files: dict[str, ImageFile] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seen: int = 0

    def attributes(self, image: Any) -> dict[str, str]:
        self.seen += 1
        with image.open() as stream:
            data = stream.read()
        alt = (image.alt_text or "").strip()
        if any(generated in alt for generated in GENERATED_ALT):
            alt = ""
        shown = f"第 {self.seen} 张图片" + (f"“{alt}”" if alt else "")
        kind = sniff_image(data)
        if kind is None:
            label = _format_label(image.content_type)
            self.warnings.append(
                f"{shown}是 {label} 格式，无法发布（仅支持 JPG/PNG/GIF），已略去；"
                "请将它另存为 PNG 或 JPG 后重新插入"
            )
            return {"src": ""}
        name = f"图片-{hashlib.sha256(data).hexdigest()[:12]}.{EXTENSION[kind]}"
        problem = image_problem(name, data)
        if problem is not None:
            self.warnings.append(f"{shown}已略去：{problem}")
            return {"src": ""}
        self.files.setdefault(name, ImageFile(name, data))
        return {"src": name, "alt": alt} if alt else {"src": name}


def _format_label(content_type: str | None) -> str:
    subtype = (content_type or "").rpartition("/")[2].removeprefix("x-").split("+")[0]
    return subtype.upper() or "未知"


def _title_by_layout(document: Any) -> Any:
    """A plain first paragraph set centred is the title, when no paragraph has the Title
    style: most manuscripts set their title by hand rather than with a heading style."""
    paragraphs = mammoth.transforms.get_descendants_of_type(document, mammoth.documents.Paragraph)
    if any((p.style_name or "").lower() in TITLE_STYLES for p in paragraphs):
        return document
    for index, child in enumerate(document.children):
        if not isinstance(child, mammoth.documents.Paragraph):
            return document
        text = mammoth.raw_text.extract_raw_text_from_element(child).strip()
        if not text:
            continue
        if (
            child.alignment == "center"
            and child.numbering is None
            and not (child.style_name or "").lower().startswith(("heading", "标题"))
            and len(text) <= 100
        ):
            children = list(document.children)
            children[index] = child.copy(style_id="Title", style_name="Title")
            return document.copy(children=children)
        return document
    return document


def convert(data: bytes, filename: str, images: Images) -> Any:
    try:
        return mammoth.convert_to_html(
            io.BytesIO(data),
            style_map=STYLE_MAP,
            convert_image=mammoth.images.img_element(images.attributes),
            transform_document=_title_by_layout,
            include_embedded_style_map=False,  # the document's own map: not ours to follow
            external_file_access=False,  # linked images would be read from this machine
        )
    except (
        OSError,
        KeyError,
        ValueError,
        IndexError,
        ExpatError,
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
    ):
        raise not_word(filename) from None


# mammoth's messages, for people: None where the message is about styling we drop on purpose.
MESSAGES: list[tuple[re.Pattern[str], str | None]] = [
    (re.compile(r"^Unrecognised (paragraph|run|table) style"), None),
    (re.compile(r"style with ID .* was referenced but not defined"), None),
    (re.compile(r"^Image of type .* is unlikely to display"), None),  # Images says it
    (re.compile(r"complex field"), None),
    (re.compile(r"^Unsupported break type"), None),
    (
        re.compile(r"^An unrecognised element was ignored: (m:oMath|m:oMathPara)"),
        "文档中的公式无法转换，已略去；请改为图片或文字",
    ),
    (
        re.compile(r"^An unrecognised element was ignored: (w:object|o:OLEObject)"),
        "文档中嵌入的对象（如 Excel 表格、图表）无法转换，已略去；请改为图片或表格",
    ),
    (
        re.compile(r"^An unrecognised element was ignored: (.*)"),
        "文档中有无法识别的内容（{0}），已略去",
    ),
    (
        re.compile(r"^Could not find image file|^A v:imagedata element without"),
        "有一张图片在文档中找不到图片文件，已略去",
    ),
    (
        re.compile(r"^could not (open|find) external image"),
        "有一张图片是链接到文档外的文件，没有随文档保存，已略去；请在 Word 中将图片嵌入后重试",
    ),
    (
        re.compile(r"^A w:sym element with an unsupported character"),
        "有特殊符号（符号字体中的字符）无法转换，已略去",
    ),
    (
        re.compile(r"^unexpected non-(row|cell) element in table"),
        "有表格结构不规则，合并单元格可能不正确，请核对",
    ),
]


def warning(message: str) -> str | None:
    for pattern, text in MESSAGES:
        found = pattern.search(message)
        if found:
            return None if text is None else text.format(*found.groups())
    return f"转换提示：{message}"
