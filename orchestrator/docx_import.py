"""Word manuscripts (.docx, and .doc through LibreOffice) into a draft's title, body and images.

mammoth turns the document into semantic HTML: headings, lists, tables, bold and italic,
images where they stood. This module then shapes it for the article allow-list
(`channels.rendering.clean_html`), so that cleaning it later changes nothing:

- the title is the first heading (h1, else h2, ...), taken out of the body; a document without
  one takes its core-properties title, else the file name. A plain first paragraph set centred
  (how most 公文-style manuscripts set their title) counts as the title heading;
- the body's headings become h2..h4, the top level h2;
- each image is named by its content (`图片-<sha256[:12]>.png`), the same bytes once however
  often they appear; images the project cannot publish (EMF, WMF, TIFF, ...) are left out;
- tags and attributes outside the allow-list go, their text stays; empty paragraphs go.

Whatever could not be kept is said in `warnings`, in Chinese, for the person who uploaded it.
Refusals are `InvalidInput` with a stable code:

    docx_invalid        not a Word document (not a zip, or no document inside)
    docx_too_large      past MAX_BYTES, or past MAX_UNCOMPRESSED once unpacked (a zip bomb)
    docx_encrypted      the document has an open password
    docx_empty          no text and no image besides the title
    doc_not_supported   a legacy .doc and no LibreOffice to convert it
    doc_conversion_failed  LibreOffice could not convert it (or took too long)
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any
from xml.parsers.expat import ExpatError

import lxml.etree
import lxml.html
import mammoth
import mammoth.documents
import mammoth.raw_text
import mammoth.transforms
from lxml.html import HtmlElement

from channels.rendering import ARTICLE_ATTRIBUTES, ARTICLE_TAGS, sniff_image
from orchestrator.errors import InvalidInput
from orchestrator.images import image_problem
from orchestrator.services.submissions import ImageFile

MAX_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_ENTRIES = 10_000
CONVERT_TIMEOUT_SECONDS = 120

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .wps, and an encrypted .docx
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
EXTENSION = {"jpeg": "jpg", "png": "png", "gif": "gif"}
CAPTION_CLASS = "sanshen-caption"
CAPTION_TEXT = re.compile(r"^\s*图\s*[0-9０-９一二三四五六七八九十]+")
# Office's own alt text ("图片包含 文本\n\n描述已自动生成"): a guess, not the author's words.
GENERATED_ALT = ("描述已自动生成", "Description automatically generated")
SUPERSCRIPT = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
SUBSCRIPT = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")

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

# Tags the body keeps: the article allow-list but <span> and <section> (Word's styling noise),
# with headings apart (levelled, not dropped).
BODY_TAGS = frozenset(ARTICLE_TAGS - {"span", "section", "h1", "h2", "h3", "h4"})
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
INLINE = frozenset({"strong", "em", "a"})
NOTE_BACKLINK = re.compile(r"^#(?:footnote|endnote)-ref-")


@dataclass(frozen=True)
class Manuscript:
    title: str
    body_html: str
    images: list[ImageFile]
    warnings: list[str]


def read_manuscript(data: bytes, filename: str) -> Manuscript:
    """The manuscript in `data` (a .docx, or a .doc when LibreOffice is installed); `filename`
    names it in messages and is the title of last resort."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            f"文件 {filename} 大小 {_mb(len(data))}，超过 Word 稿件上限 {_mb(MAX_BYTES)}；"
            "请压缩其中的图片后重试",
            code="docx_too_large",
        )
    if data.startswith(OLE_MAGIC):
        data = _from_legacy(data, filename)
    _check_package(data, filename)
    images = _Images()
    converted = _convert(data, filename, images)
    root = lxml.html.fragment_fromstring(converted.value or "<p></p>", create_parent="div")
    title = _take_title(root) or _core_title(data) or _stem(filename)
    warnings = Counter(images.warnings)
    warnings.update(_shape(root, set(images.files)))
    warnings.update(filter(None, (_warning(m.message) for m in converted.messages)))
    body = _serialise(root)
    if not _has_content(root):
        raise InvalidInput(
            f"Word 文档 {filename} 除标题外没有正文内容（文字或图片）", code="docx_empty"
        )
    return Manuscript(
        title=title,
        body_html=body,
        images=list(images.files.values()),
        warnings=[w if n == 1 else f"{w}（共 {n} 处）" for w, n in warnings.items()],
    )


# --- the file -------------------------------------------------------------------------------


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def _not_word(filename: str) -> InvalidInput:
    return InvalidInput(
        f"文件 {filename} 不是有效的 Word 文档（.docx）；请在 Word 或 WPS 中打开它，"
        "另存为 .docx 后重试",
        code="docx_invalid",
    )


def _check_package(data: bytes, filename: str) -> None:
    """A zip whose entries, unpacked, stay within MAX_UNCOMPRESSED (zipfile stops reading an
    entry at its declared size, so the declared sizes bound what mammoth can unpack)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _not_word(filename) from None
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ENTRIES or unpacked > MAX_UNCOMPRESSED:
        raise InvalidInput(
            f"文件 {filename} 解压后超过 {_mb(MAX_UNCOMPRESSED)}（或内含文件过多），"
            "不像是正常的 Word 文档，已拒绝处理",
            code="docx_too_large",
        )


def _from_legacy(data: bytes, filename: str) -> bytes:
    """A legacy binary document (.doc, .wps) as .docx, converted by LibreOffice in a temporary
    folder with a profile of its own (a running LibreOffice would otherwise take the job)."""
    if ENCRYPTED_STREAM in data:
        raise InvalidInput(
            f"Word 文档 {filename} 设有打开密码，无法读取；请在 Word 或 WPS 中取消密码后重试",
            code="docx_encrypted",
        )
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        raise InvalidInput(
            f"文件 {filename} 是旧版 Word 文档（.doc），本系统无法直接读取；"
            "请在 Word 或 WPS 中打开它，“另存为 .docx”后重新上传",
            code="doc_not_supported",
        )
    with tempfile.TemporaryDirectory(prefix="sanshen-doc-") as folder:
        work = Path(folder)
        source = work / "manuscript.doc"
        source.write_bytes(data)
        _run_office(
            [
                office,
                f"-env:UserInstallation={(work / 'profile').as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                "docx",
                "--outdir",
                str(work / "out"),
                str(source),
            ],
            filename,
        )
        converted = work / "out" / "manuscript.docx"
        if not converted.is_file():
            raise _conversion_failed(filename, "未生成 .docx")
        return converted.read_bytes()


def _conversion_failed(filename: str, reason: str) -> InvalidInput:
    return InvalidInput(
        f"旧版 Word 文档 {filename} 转换失败（{reason}）；"
        "请在 Word 或 WPS 中“另存为 .docx”后重新上传",
        code="doc_conversion_failed",
    )


def _run_office(argv: list[str], filename: str) -> None:
    """LibreOffice in a session of its own, so that on a timeout its helpers go with it."""
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        raise _conversion_failed(filename, "无法启动 LibreOffice") from None
    try:
        process.wait(timeout=CONVERT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise _conversion_failed(filename, f"超过 {CONVERT_TIMEOUT_SECONDS} 秒") from None


def _core_title(data: bytes) -> str:
    """dc:title of docProps/core.xml, or ""."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            core = archive.read("docProps/core.xml")
        parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True)
        found = lxml.etree.fromstring(core, parser).findtext(
            "{http://purl.org/dc/elements/1.1/}title"
        )
    except (KeyError, zipfile.BadZipFile, zlib.error, lxml.etree.XMLSyntaxError, ValueError):
        return ""
    return " ".join((found or "").split())


def _stem(filename: str) -> str:
    return PurePath(filename.replace("\\", "/")).stem.strip() or "未命名稿件"


# --- mammoth --------------------------------------------------------------------------------


@dataclass
class _Images:
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


def _convert(data: bytes, filename: str, images: _Images) -> Any:
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
        raise _not_word(filename) from None


# mammoth's messages, for people: None where the message is about styling we drop on purpose.
MESSAGES: list[tuple[re.Pattern[str], str | None]] = [
    (re.compile(r"^Unrecognised (paragraph|run|table) style"), None),
    (re.compile(r"style with ID .* was referenced but not defined"), None),
    (re.compile(r"^Image of type .* is unlikely to display"), None),  # _Images says it
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


def _warning(message: str) -> str | None:
    for pattern, text in MESSAGES:
        found = pattern.search(message)
        if found:
            return None if text is None else text.format(*found.groups())
    return f"转换提示：{message}"


# --- the HTML -------------------------------------------------------------------------------


def _text(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _take_title(root: HtmlElement) -> str:
    """The text of the first heading of the highest level, taken out of the body."""
    for tag in HEADINGS:
        for heading in root.iter(tag):
            text = _text(heading)
            if text:
                _drop(heading)
                return text
    return ""


def _shape(root: HtmlElement, images: set[str]) -> Iterator[str]:
    """The body within the allow-list, in place; yields a warning for each thing lost."""
    for img in list(root.iter("img")):
        if img.get("src") not in images:
            _drop(img)
    yield from _unwrap_foreign(root)
    _level_headings(root)
    _caption_alts(root)
    for element in root.iter():
        kept = ARTICLE_ATTRIBUTES.get(element.tag, set())
        for name in list(element.attrib):
            if name not in kept or (
                element.tag == "img" and name == "alt" and not element.get(name)
            ):
                del element.attrib[name]
    _drop_empty(root)
    _tidy_tables(root)


def _unwrap_foreign(root: HtmlElement) -> Iterator[str]:
    for element in list(root.iter()):
        if element is root:
            continue
        tag = element.tag
        if tag == "a":
            href = element.get("href", "")
            if NOTE_BACKLINK.match(href):
                _drop(element)  # the "↑" back to a footnote's reference
            elif not href.startswith(("http://", "https://")):
                element.drop_tag()  # bookmarks, links within the document
        elif tag in ("sup", "sub"):
            text = element.text_content()
            table = SUPERSCRIPT if tag == "sup" else SUBSCRIPT
            if re.fullmatch(r"\[\d+\]", text.strip()):
                element.drop_tag()  # a footnote's reference: [1] reads as it is
            elif all(c in "0123456789+-=()" or (tag == "sup" and c == "n") for c in text):
                _replace_with_text(element, text.translate(table))
            else:
                element.drop_tag()
                yield "上标或下标格式无法保留，已改为普通文字，请核对"
        elif tag in ("s", "del", "strike"):
            element.drop_tag()
            yield "删除线格式无法保留，相应文字已保留为普通文字，请核对是否应删去"
        elif tag not in BODY_TAGS and tag not in HEADINGS:
            element.drop_tag()


def _replace_with_text(element: HtmlElement, text: str) -> None:
    element.clear(keep_tail=True)
    element.text = text
    element.drop_tag()


def _level_headings(root: HtmlElement) -> None:
    """The body's top heading level becomes h2; deeper ones follow, down to h4."""
    headings = [e for e in root.iter() if e.tag in HEADINGS]
    if not headings:
        return
    shift = 2 - min(int(h.tag[1]) for h in headings)
    for heading in headings:
        heading.tag = f"h{min(max(int(heading.tag[1]) + shift, 2), 4)}"


def _drop_empty(root: HtmlElement) -> None:
    """Paragraphs, headings and inline wrappers with neither text nor image."""
    for element in reversed(list(root.iter())):
        if element is root or element.tag in ("img", "br", "td", "th", "tr", "li"):
            continue
        if (
            element.tag in {"p", *HEADINGS, *INLINE}
            and not _text(element)
            and element.find(".//img") is None
        ):
            _drop(element)


def _tidy_tables(root: HtmlElement) -> None:
    """A cell's only paragraph unwrapped; rows outside <thead> inside a <tbody> (the
    sanitiser's HTML parser would add it)."""
    for cell in root.iter("td", "th"):
        if len(cell) == 1 and cell[0].tag == "p" and not (cell.text or "").strip():
            cell[0].drop_tag()
    for table in root.iter("table"):
        loose = [row for row in table if row.tag == "tr"]
        if loose:
            body = lxml.html.Element("tbody")
            table.insert(table.index(loose[0]), body)
            for row in loose:
                body.append(row)


def _caption_alts(root: HtmlElement) -> None:
    """An image without alt text takes its caption's: a 题注 paragraph, or one starting with
    图 N, right after the image's paragraph."""
    for paragraph in root.iter("p"):
        following = paragraph.getnext()
        if following is None or following.tag != "p":
            continue
        caption = following.get("class") == CAPTION_CLASS or CAPTION_TEXT.match(_text(following))
        images = paragraph.findall(".//img")
        if caption and len(images) == 1 and not images[0].get("alt"):
            images[0].set("alt", _text(following))


def _drop(element: HtmlElement) -> None:
    element.drop_tree()  # keeps the tail text


def _has_content(root: HtmlElement) -> bool:
    return bool(_text(root)) or root.find(".//img") is not None


VOID = frozenset({"br", "img"})


def _serialise(root: HtmlElement) -> str:
    """HTML as the sanitiser writes it, one block a line. (lxml's own writer %-escapes
    non-ASCII image names, which would then no longer match the image files.)"""
    blocks = [_escape(root.text or "").strip()]
    blocks += [_element_html(child) + _escape(child.tail or "").strip() for child in root]
    return "\n".join(block for block in blocks if block)


def _element_html(element: HtmlElement) -> str:
    attributes = "".join(
        f' {name}="{_escape(value, quote=True)}"' for name, value in element.attrib.items()
    )
    if element.tag in VOID:
        return f"<{element.tag}{attributes}>"
    inner = _escape(element.text or "") + "".join(
        _element_html(child) + _escape(child.tail or "") for child in element
    )
    return f"<{element.tag}{attributes}>{inner}</{element.tag}>"


def _escape(text: str, *, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text
