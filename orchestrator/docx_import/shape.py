"""The converted HTML shaped for the article allow-list, in place: the title taken out, foreign
tags unwrapped, headings levelled, empty blocks dropped, tables tidied, captions as alt text."""

from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.html
from lxml.html import HtmlElement

from channels.rendering import ARTICLE_ATTRIBUTES, ARTICLE_TAGS
from orchestrator.docx_import.convert import CAPTION_CLASS

CAPTION_TEXT = re.compile(r"^\s*图\s*[0-9０-９一二三四五六七八九十]+")
SUPERSCRIPT = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
SUBSCRIPT = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")

# Tags the body keeps: the article allow-list but <span> and <section> (Word's styling noise),
# with headings apart (levelled, not dropped).
BODY_TAGS = frozenset(ARTICLE_TAGS - {"span", "section", "h1", "h2", "h3", "h4"})
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
INLINE = frozenset({"strong", "em", "a"})
NOTE_BACKLINK = re.compile(r"^#(?:footnote|endnote)-ref-")


def text_of(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def take_title(root: HtmlElement) -> str:
    """The text of the first heading of the highest level, taken out of the body."""
    for tag in HEADINGS:
        for heading in root.iter(tag):
            text = text_of(heading)
            if text:
                drop(heading)
                return text
    return ""


def shape(root: HtmlElement, images: set[str]) -> Iterator[str]:
    """The body within the allow-list, in place; yields a warning for each thing lost."""
    for img in list(root.iter("img")):
        if img.get("src") not in images:
            drop(img)
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
                drop(element)  # the "↑" back to a footnote's reference
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
            and not text_of(element)
            and element.find(".//img") is None
        ):
            drop(element)


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
        caption = following.get("class") == CAPTION_CLASS or CAPTION_TEXT.match(text_of(following))
        images = paragraph.findall(".//img")
        if caption and len(images) == 1 and not images[0].get("alt"):
            images[0].set("alt", text_of(following))


def drop(element: HtmlElement) -> None:
    element.drop_tree()  # keeps the tail text


def has_content(root: HtmlElement) -> bool:
    return bool(text_of(root)) or root.find(".//img") is not None
